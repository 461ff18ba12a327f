"""install-merge-driver, merge-driver (run by git), gc."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from minireg.cli import app
from minireg.cli.common import (
    CommitOpt,
    JsonOpt,
    RegistryOpt,
    committing,
    err,
    handle_errors,
    print_json,
)
from minireg.registry import open_registry


@app.command("install-merge-driver")
@handle_errors
def install_merge_driver(registry: RegistryOpt = None) -> None:
    """Install the minireg merge driver in this clone's git config (.git/config).

    git does not version that file: every clone and CI runner runs this once.
    Adds the driver's lines to the registry's .gitattributes if they are missing.

    Example: minireg install-merge-driver
    """
    from minireg.gitmerge import install_merge_driver as install

    reg = open_registry(registry)
    done = install(reg.root)
    err(f"Installed the minireg merge driver in {done.config}: {done.command}")
    if done.attributes_added:
        err(
            f"Added {', '.join(done.attributes_added)} to {reg.root / '.gitattributes'}; "
            "commit that file."
        )


@app.command("merge-driver", hidden=True)
@handle_errors
def merge_driver(
    base: Annotated[Path, typer.Argument(help="The common ancestor's version (git's %O).")],
    ours: Annotated[Path, typer.Argument(help="Our version; receives the result (git's %A).")],
    theirs: Annotated[Path, typer.Argument(help="The other branch's version (git's %B).")],
    path: Annotated[str, typer.Argument(help="The file's path in the repository (git's %P).")],
) -> None:
    """Merge a registry file for git; exits 1 (a conflict for git) when it cannot.

    Installed by `minireg install-merge-driver`; git runs it, people do not.

    Example: git config merge.minireg.driver "python -m minireg merge-driver %O %A %B %P"
    """
    from minireg.gitmerge import merge_driver as run

    problems = run(base, ours, theirs, path)
    if problems:
        err(f"minireg could not merge {path}; it is left as this branch had it:")
        for problem in problems:
            err(f"  - {problem}")
        err("Resolve it, run `minireg rebuild` and `minireg verify`, then `git add` the files.")
        raise typer.Exit(1)
    err(f"minireg merged {path}.")


@app.command()
@handle_errors
def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the unreferenced objects; remove nothing.")
    ] = False,
    grace: Annotated[
        float,
        typer.Option(
            "--grace",
            min=0,
            help="Keep unreferenced objects younger than this many seconds (a registration "
            "in flight stores its objects before it takes the lock).",
        ),
    ] = 3600.0,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
    commit: CommitOpt = None,
) -> None:
    """Remove objects that no version references (artifacts, folder files, requirements).

    Example: minireg gc --dry-run
    """
    from minireg.gc import collect_garbage

    reg = open_registry(registry)
    with committing(reg, False if dry_run else commit):
        result = collect_garbage(reg, dry_run=dry_run, grace=grace)
    if json_out:
        print_json(result.to_dict())
    else:
        for digest in result.unreferenced:
            typer.echo(digest)
    verb = "Would remove" if dry_run else "Removed"
    err(f"{verb} {len(result.unreferenced)} unreferenced objects ({result.bytes} bytes).")
    if result.young:
        err(
            f"Kept {len(result.young)} unreferenced objects younger than {grace:g} s "
            "(--grace); a registration may still need them."
        )
