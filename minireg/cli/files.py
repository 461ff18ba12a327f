"""Files out of the registry: convert the ledger, export xlsx / csv / mlflow, the report."""

from __future__ import annotations

from pathlib import Path

from minireg.cli import render
from minireg.cli.git import committing
from minireg.service.registry import open_registry


def convert(to: str, registry: Path | None = None, commit: bool | None = None) -> None:
    """minireg convert: switch the ledger between ledger.csv and ledger.xlsx."""
    reg = open_registry(registry)
    with committing(reg, commit):
        done = reg.convert(to)
    count = render.plural(done.versions, "version")
    if done.old == done.new and not done.removed:
        render.message(f"The ledger is already {done.new}; rewrote it ({count}).")
    else:
        gone = f"; removed {done.removed}" if done.removed else ""
        render.message(f"The ledger is now {done.new} ({count}){gone}.")


def export_xlsx(out: Path, registry: Path | None = None) -> None:
    """minireg export xlsx: the ledger and the audit trail as a workbook."""
    count = open_registry(registry).export_xlsx(out)
    render.message(f"Wrote {out} ({render.plural(count, 'version')}).")


def export_csv(out: Path, excel: bool = False, registry: Path | None = None) -> None:
    """minireg export csv: the ledger as CSV; with --excel, safe to open in Excel."""
    count = open_registry(registry).export_csv(out, excel=excel)
    safe = ", safe for Excel" if excel else ""
    render.message(f"Wrote {out} ({render.plural(count, 'version')}{safe}).")


def export_mlflow(
    tracking_uri: str,
    model: list[str] | None = None,
    experiment: str = "minireg-export",
    dry_run: bool = False,
    registry: Path | None = None,
    json_out: bool = False,
) -> None:
    """minireg export mlflow: recreate the registry in MLflow (imports mlflow)."""
    from minireg.exporters import mlflow as exporter

    reg = open_registry(registry)
    update, finish = render.progress_bar("Exporting to MLflow")
    try:
        result = exporter.export_mlflow(
            reg,
            tracking_uri,
            models=model or None,
            experiment=experiment,
            dry_run=dry_run,
            progress=update,
        )
    finally:
        finish()
    if json_out:
        render.as_json(result.to_dict())
    else:
        render.export_plan(result, dry_run)


def report(
    out: Path,
    model: str | None = None,
    since: str | None = None,
    now: bool = False,
    verify: bool = True,
    registry: Path | None = None,
    json_out: bool = False,
) -> None:
    """minireg report: the registry's story as one self-contained HTML page."""
    done = open_registry(registry).report(out, model=model, since=since, now=now, verify=verify)
    if json_out:
        render.as_json(done.to_dict())
        return
    verdict = {
        True: "verify passed",
        False: "verify FAILED (the page lists why)",
        None: "verify not run",
    }[done.verified]
    render.message(
        f"Wrote {out} ({done.bytes / 1e6:.2f} MB): {render.plural(done.models, 'model')}, "
        f"{render.plural(done.versions, 'version')}, {render.plural(done.events, 'event')}; "
        f"{verdict}."
    )
