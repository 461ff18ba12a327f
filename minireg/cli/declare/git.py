"""Declarations of the git commands: install-merge-driver, merge-driver, gc."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from minireg.cli import git
from minireg.cli.declare import CommitOpt, JsonOpt, RegistryOpt, declares


@declares(git.install_merge_driver, "install-merge-driver")
def install_merge_driver(registry: RegistryOpt = None) -> None:
    """Install the minireg merge driver in this clone's git config (.git/config).

    git does not version that file: every clone and CI runner runs this once.
    Adds the driver's lines to the registry's .gitattributes if they are missing.

    Example: minireg install-merge-driver
    """


@declares(git.merge_driver, "merge-driver", hidden=True)
def merge_driver(
    base: Annotated[
        Path, typer.Argument(metavar="BASE", help="The common ancestor's version (git's %O).")
    ],
    ours: Annotated[
        Path, typer.Argument(metavar="OURS", help="Our version; receives the result (git's %A).")
    ],
    theirs: Annotated[
        Path, typer.Argument(metavar="THEIRS", help="The other branch's version (git's %B).")
    ],
    path: Annotated[
        str, typer.Argument(metavar="PATH", help="The file's path in the repository (git's %P).")
    ],
) -> None:
    """Merge a registry file for git; exits 1 (a conflict for git) when it cannot.

    Installed by `minireg install-merge-driver`; git runs it, people do not.

    Example: git config merge.minireg.driver "python -m minireg merge-driver %O %A %B %P"
    """


@declares(git.gc, "gc")
def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the unreferenced objects; remove nothing.")
    ] = False,
    grace: Annotated[
        Optional[float],
        typer.Option(
            "--grace",
            min=0,
            help="Keep unreferenced objects younger than this many seconds (a registration "
            "in flight stores its objects before it takes the lock). Default: 3600, and a "
            "week (604800) with --remote.",
            show_default=False,
        ),
    ] = None,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
    commit: CommitOpt = None,
    remote: Annotated[
        bool,
        typer.Option(
            "--remote",
            help="Collect the remote's objects instead of the local cache's: keeps every "
            "object any commit of any branch (local or remote-tracking) or working tree needs. "
            "Lists only, unless --yes.",
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", help="With --remote: delete what it lists.")
    ] = False,
) -> None:
    """Remove objects that no version references (artifacts, folder files, requirements).

    With --remote it lists the remote's unreferenced objects (and stale upload
    leftovers) older than the grace period, and deletes them only with --yes.

    Example: minireg gc --remote --yes
    """


COMMANDS = (
    install_merge_driver,
    merge_driver,
    gc,
)
"""This module's commands, in help order."""
