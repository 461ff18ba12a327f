"""Declarations of the stage commands: promote, and transition (MLflow's word)."""

from __future__ import annotations

from typing import Annotated

import typer

from minireg.cli import stages
from minireg.cli.declare import CommitOpt, JsonOpt, ModelArg, RegistryOpt, VersionArg, declares


def _promote(
    model: ModelArg,
    version: VersionArg,
    to: Annotated[
        str, typer.Option("--to", help="Target stage (case-insensitive), e.g. Production.")
    ],
    approver: Annotated[str, typer.Option("--approver", help="Who approved this transition.")] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why, in one line.")] = "",
    archive_existing: Annotated[
        bool,
        typer.Option(
            "--archive-existing", help="Archive the versions that hold the target stage now."
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what would change and every check; write nothing."),
    ] = False,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
    commit: CommitOpt = None,
) -> None:
    """Move a version to a stage, if the stage's policies allow it.

    A dry run that would be refused exits 4, so CI can check before it asks.

    Example: minireg promote churn 7 --to Production --approver alice@corp
    --reason "AUC 0.91 vs 0.88" --archive-existing
    """


promote = declares(stages.promote, "promote")(_promote)
transition = declares(stages.promote, "transition", help="Same as promote (MLflow's word).")(
    _promote
)


COMMANDS = (
    promote,
    transition,
)
"""This module's commands, in help order."""
