"""Stages: promote (also spelled transition, MLflow's word)."""

from __future__ import annotations

from pathlib import Path

from minireg.cli import render
from minireg.cli.git import committing
from minireg.cli.hooks import hook_deliveries, with_deliveries
from minireg.errors import Refused
from minireg.service.registry import open_registry


def promote(
    model: str,
    version: str,
    to: str,
    approver: str = "",
    reason: str = "",
    archive_existing: bool = False,
    dry_run: bool = False,
    registry: Path | None = None,
    json_out: bool = False,
    commit: bool | None = None,
) -> None:
    """minireg promote: move a version to a stage if its policies allow it.

    A dry run that would be refused exits 4 (``Refused``), so CI can ask before it acts.
    """
    reg = open_registry(registry)
    with committing(reg, False if dry_run else commit), hook_deliveries(reg) as sent:
        result = reg.promote(
            model,
            version,
            to,
            approver=approver,
            reason=reason,
            archive_existing=archive_existing,
            dry_run=dry_run,
        )
    if json_out:
        render.as_json(with_deliveries(result.to_dict(), sent))
    else:
        render.promotion(result, reg.config.archive_stage, reg.config.initial_stage)
    if dry_run and not result.allowed:
        failed = [f"{c.name}: {c.detail}" for c in result.checks if not c.passed]
        raise Refused(
            f"Promotion of {model} version {result.version} to {result.to_stage} would be "
            "refused: " + "; ".join(failed) + ".",
            failed,
        )
