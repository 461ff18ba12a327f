"""Git: --commit for every write, install-merge-driver, merge-driver (run by git), gc."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from minireg.cli import render
from minireg.cli.errors import Exit
from minireg.errors import InvalidInput
from minireg.service.registry import open_registry

if TYPE_CHECKING:
    from minireg.service.registry import Registry


@contextmanager
def committing(reg: Registry, commit: bool | None) -> Iterator[None]:
    """Wrap one write: refuse before writing if git has staged changes, commit after it.

    ``commit`` None takes ``commit`` from minireg.toml. Without a commit, git is
    not touched (and :mod:`minireg.adapters.git.commit` not even imported).
    """
    if not (reg.config.commit if commit is None else commit):
        yield
        return
    with reg.committing(True) as outcome:
        yield
    if outcome.sha:
        render.message(f"Committed {outcome.sha[:12]}: {outcome.subject}")
    else:
        render.message("No registry file changed; no commit made.")


def install_merge_driver(registry: Path | None = None) -> None:
    """minireg install-merge-driver: the driver in .git/config, its lines in .gitattributes."""
    from minireg.adapters.git import merge_driver as gitmerge

    reg = open_registry(registry)
    done = gitmerge.install_merge_driver(reg.root)
    render.message(f"Installed the minireg merge driver in {done.config}: {done.command}")
    if done.attributes_added:
        render.message(
            f"Added {', '.join(done.attributes_added)} to {reg.root / '.gitattributes'}; "
            "commit that file."
        )


def merge_driver(base: Path, ours: Path, theirs: Path, path: str) -> None:
    """minireg merge-driver: merge one registry file for git; exit 1 is a conflict for git."""
    from minireg.adapters.git import merge_driver as gitmerge

    problems = gitmerge.merge_driver(base, ours, theirs, path)
    if problems:
        render.message(f"minireg could not merge {path}; it is left as this branch had it:")
        for problem in problems:
            render.message(f"  - {problem}")
        render.message(
            "Resolve it, run `minireg rebuild` and `minireg verify`, then `git add` the files."
        )
        raise Exit(1)
    render.message(f"minireg merged {path}.")


def gc(
    dry_run: bool = False,
    grace: float | None = None,
    registry: Path | None = None,
    json_out: bool = False,
    commit: bool | None = None,
    remote: bool = False,
    yes: bool = False,
) -> None:
    """minireg gc: remove (or list) the objects no version references; --remote: the remote's."""
    from minireg.cli.garbage import remote_garbage
    from minireg.service.gc import DEFAULT_GRACE

    if remote:
        if yes and dry_run:
            raise InvalidInput("--yes deletes and --dry-run only lists; give one of them.")
        reg = open_registry(registry, bars=render.transfer_bar)
        found = reg.gc_remote(delete=yes, grace=grace)
        remote_garbage(found, json_out)
        return
    reg = open_registry(registry)
    with committing(reg, False if dry_run else commit):
        result = reg.gc(dry_run=dry_run, grace=grace)
    render.garbage(result, DEFAULT_GRACE if grace is None else grace, json_out)
