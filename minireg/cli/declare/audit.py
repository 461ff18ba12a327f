"""Declarations of the audit commands: history, verify, rebuild, diff."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from minireg.cli import audit
from minireg.cli.declare import CommitOpt, JsonOpt, ModelArg, RegistryOpt, declares


@declares(audit.history, "history")
def history(
    model: Annotated[
        Optional[str],
        typer.Argument(metavar="MODEL", help="Only this model's events.", show_default=False),
    ] = None,
    version: Annotated[
        Optional[str], typer.Option("--version", help="Only this version's events.")
    ] = None,
    since: Annotated[
        Optional[str], typer.Option("--since", help="Only events at or after this ISO date/time.")
    ] = None,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the audit trail: time, actor, action, version, from → to, approver, reason.

    Example: minireg history churn --since 2024-03-01
    """


@declares(audit.verify, "verify")
def verify(
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
    against_git: Annotated[
        bool,
        typer.Option(
            "--against-git",
            help="Also check that the audit head in the last minireg commit's trailer is in "
            "the events (catches events cut off the end).",
        ),
    ] = False,
    remote: Annotated[
        bool,
        typer.Option(
            "--remote",
            help="Also check that every object a version needs is on the remote with its "
            "recorded size (one listing; works in a fresh clone).",
        ),
    ] = False,
    deep: Annotated[
        bool,
        typer.Option(
            "--deep",
            help="With --remote: read every remote object back as a stream and re-hash it "
            "(catches corruption that kept the size).",
        ),
    ] = False,
) -> None:
    """Check the hash chain, the ledger against the events, every object and version numbers.

    Exits 0 when everything holds, 6 with every problem listed otherwise (with
    --remote, each missing or damaged remote object is named by version and key).

    Example: minireg verify
    """


@declares(audit.rebuild, "rebuild")
def rebuild(registry: RegistryOpt = None, commit: CommitOpt = None) -> None:
    """Regenerate the ledger from the events (after a hand edit or a merge).

    Example: minireg rebuild
    """


@declares(audit.diff, "diff")
def diff(
    model: ModelArg,
    old: Annotated[str, typer.Argument(metavar="OLD", help="The first version.")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="The second version.")],
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Compare two versions: params, metrics with deltas, data, git commit, requirements, artifact.

    Example: minireg diff churn 6 7
    """


COMMANDS = (
    history,
    verify,
    rebuild,
    diff,
)
"""This module's commands, in help order."""
