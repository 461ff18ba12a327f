"""``minireg export mlflow``: recreate the registry in MLflow (the exporter imports mlflow)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from minireg.cli.common import (
    JsonOpt,
    RegistryOpt,
    err,
    handle_errors,
    print_json,
    print_table,
    progress_bar,
)
from minireg.cli.export import export_app
from minireg.registry import open_registry


@export_app.command("mlflow")
@handle_errors
def export_mlflow_command(
    tracking_uri: Annotated[
        str,
        typer.Option(
            "--tracking-uri",
            help="MLflow server (http://host:5000) or database (sqlite:///mlflow.db). "
            "A user:password@ in it is used as credentials and never printed.",
            show_default=False,
        ),
    ],
    model: Annotated[
        Optional[list[str]],
        typer.Option("--model", "-m", help="Export only this model (repeatable; default: all)."),
    ] = None,
    experiment: Annotated[
        str, typer.Option("--experiment", help="MLflow experiment that receives the runs.")
    ] = "minireg-export",
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the plan (create, update, unchanged); change nothing."
        ),
    ] = False,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Recreate every model, version, stage, alias, metric, param and audit entry in MLflow.

    Versions already exported are found by their minireg tags and not created
    again, so re-running after new registrations adds only those, and re-running
    after a failure resumes. Needs the extra: pip install 'minireg[mlflow]'.

    Example: minireg export mlflow --tracking-uri http://mlflow:5000 --model churn_predictor
    """
    from minireg.exporters.mlflow import export_mlflow

    reg = open_registry(registry)
    update, finish = progress_bar("Exporting to MLflow")
    try:
        result = export_mlflow(
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
        print_json(result.to_dict())
        return
    rows = []
    for v in result.versions:
        target = "?" if v.mlflow_version is None else str(v.mlflow_version)
        rows.append(
            [
                v.model,
                f"{v.version} → {target}",
                v.stage,
                " ".join(f"@{a}" for a in v.aliases),
                v.action,
                "; ".join(v.changes if v.action == "update" else []) or v.note,
            ]
        )
    print_table(["model", "minireg → mlflow", "stage", "aliases", "action", "details"], rows)
    verb = "would be" if dry_run else "were"
    err(
        f"{'Plan for' if dry_run else 'Exported to'} {result.tracking_uri} "
        f"(experiment {result.experiment}): {result.count('create')} {verb} created, "
        f"{result.count('update')} updated, {result.count('unchanged')} unchanged."
    )
