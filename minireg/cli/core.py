"""init, register, list, show, path."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

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
    print_table,
    progress_bar,
    short,
)
from minireg.domain.records import VersionRecord
from minireg.domain.uris import is_uri
from minireg.inputs import metrics_from, params_from, tags_from
from minireg.registry import Registry, init_registry, open_registry


@app.command()
@handle_errors
def init(registry: RegistryOpt = None) -> None:
    """Create a registry folder (default: registry/ at the git root).

    On an existing registry it changes nothing and says so.

    Example: minireg init --registry registry
    """
    reg, created = init_registry(registry)
    if created:
        err(f"Created a minireg registry at {reg.root}.")
    else:
        err(f"A minireg registry already exists at {reg.root}; nothing changed.")


@app.command()
@handle_errors
def register(
    model: Annotated[str, typer.Argument(help="Model name, e.g. churn_predictor.")],
    artifact: Annotated[Path, typer.Argument(help="The model file or folder to register.")],
    metric: Annotated[
        Optional[list[str]],
        typer.Option("--metric", "-m", help="A metric as name=number (repeatable)."),
    ] = None,
    metrics: Annotated[
        Optional[Path], typer.Option("--metrics", help="A JSON file of metric name: number.")
    ] = None,
    param: Annotated[
        Optional[list[str]],
        typer.Option("--param", "-p", help="A param as name=value (repeatable)."),
    ] = None,
    params: Annotated[
        Optional[Path], typer.Option("--params", help="A JSON file of param name: value.")
    ] = None,
    tag: Annotated[
        Optional[list[str]], typer.Option("--tag", "-t", help="A tag as key=value (repeatable).")
    ] = None,
    data: Annotated[
        Optional[Path],
        typer.Option("--data", help="Training data file or folder; its sha256 is recorded."),
    ] = None,
    training_date: Annotated[
        Optional[str],
        typer.Option(
            "--training-date", help="ISO date or time of training (default: the artifact's mtime)."
        ),
    ] = None,
    description: Annotated[
        str, typer.Option("--description", "-d", help="One line about this version.")
    ] = "",
    requirements: Annotated[
        Optional[Path],
        typer.Option(
            "--requirements", help="A requirements file (default: this environment's packages)."
        ),
    ] = None,
    flavor: Annotated[
        Optional[str],
        typer.Option(
            "--flavor", help="joblib, pickle, skops, onnx, file or dir (default: detected)."
        ),
    ] = None,
    code_dir: Annotated[
        Optional[Path],
        typer.Option(
            "--code-dir", help="Folder whose git commit is recorded (default: the current one)."
        ),
    ] = None,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
    commit: CommitOpt = None,
) -> None:
    """Register a new version of MODEL from ARTIFACT and print its version number.

    Example: minireg register churn model.joblib --metrics metrics.json --data data/train.csv
    """
    metric_values = metrics_from(metric or [], metrics)
    param_values = params_from(param or [], params)
    tag_values = tags_from(tag or [])
    reg = open_registry(registry)
    update, finish = progress_bar(f"storing {artifact.name}")
    with committing(reg, commit):
        try:
            rec = reg.register(
                model,
                artifact,
                metrics=metric_values,
                params=param_values,
                tags=tag_values,
                data=data,
                training_date=training_date,
                description=description,
                requirements=requirements,
                flavor=flavor,
                code_dir=code_dir,
                progress=update,
            )
        finally:
            finish()
    if json_out:
        print_json(rec.to_dict())
    else:
        typer.echo(rec.version)
        err(f"Registered {rec.model} version {rec.version} ({rec.uri}).")


def _metric_names(records: list[VersionRecord]) -> list[str]:
    return sorted({name for rec in records for name in rec.metrics})


@app.command("list")
@handle_errors
def list_(
    model: Annotated[Optional[str], typer.Argument(help="Only this model's versions.")] = None,
    where: Annotated[
        Optional[str],
        typer.Option(
            "--where",
            help="Keep rows matching a pandas expression, e.g. "
            "\"metric.auc_roc > 0.9 and stage == 'Production'\".",
        ),
    ] = None,
    sort: Annotated[
        Optional[str],
        typer.Option("--sort", help="Sort by columns, comma-separated; a leading - sorts down."),
    ] = None,
    columns: Annotated[
        Optional[str],
        typer.Option("--columns", help="Show these columns, comma-separated (ledger names)."),
    ] = None,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List model versions: model, version, stage, created, git commit and metrics.

    --where, --sort and --columns query the ledger's columns with pandas.

    Example: minireg list --where "metric.auc_roc > 0.9 and stage == 'Production'"
    --sort -metric.auc_roc --columns model,version,metric.auc_roc
    """
    reg = open_registry(registry)
    if where is not None or sort is not None or columns is not None:
        from minireg.cli.sheet import show_query

        show_query(reg, model, where, sort, columns, json_out)
        return
    records = reg.versions(model)
    if json_out:
        print_json([rec.to_dict() for rec in records])
        return
    names = _metric_names(records)
    headers = ["model", "version", "stage", "aliases", "created", "git_commit", *names]
    rows = [
        [
            rec.model,
            rec.version,
            rec.stage,
            ",".join(f"@{a}" for a in rec.aliases),
            rec.created_at[:19].replace("T", " "),
            short(rec.git_commit, 8) + ("*" if rec.git_dirty else ""),
            *(f"{rec.metrics[n]:.6g}" if n in rec.metrics else "" for n in names),
        ]
        for rec in records
    ]
    print_table(headers, rows)


def target_record(reg: Registry, target: str, version: Optional[str]) -> VersionRecord:
    """The version named by ``MODEL VERSION`` or by one ``models:/`` URI."""
    if is_uri(target):
        if version is not None:
            from minireg.errors import InvalidInput

            raise InvalidInput("Give either a models:/ URI or MODEL VERSION, not both.")
        return reg.resolve(target)
    if version is None:
        from minireg.errors import InvalidInput

        raise InvalidInput(f"Name a version of {target} (MODEL VERSION) or give a models:/ URI.")
    return reg.get(target, version)


@app.command()
@handle_errors
def show(
    target: Annotated[str, typer.Argument(help="MODEL, or a models:/ URI.")],
    version: Annotated[
        Optional[str], typer.Argument(help="Version number (not with a URI).")
    ] = None,
    at: Annotated[
        Optional[str],
        typer.Option(
            "--at", help="Show which version held each stage and alias at this ISO date/time."
        ),
    ] = None,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show every field of one version, or with --at what held each stage at a moment.

    Example: minireg show churn 3; minireg show models:/churn/Production;
    minireg show churn --at 2024-03-01
    """
    reg = open_registry(registry)
    if at is not None:
        if version is not None or is_uri(target):
            from minireg.errors import InvalidInput

            raise InvalidInput("--at takes a MODEL alone, without a version or URI.")
        snap = reg.snapshot(target, at)
        if json_out:
            print_json(snap.to_dict())
            return
        typer.echo(f"{snap.model} at {snap.at}")
        rows: list[list[object]] = [
            [stage, ", ".join(str(v) for v in versions) or "-"]
            for stage, versions in snap.stages.items()
        ]
        rows += [[f"@{alias}", str(v)] for alias, v in snap.aliases.items()]
        print_table(["stage/alias", "versions"], rows)
        return
    rec = target_record(reg, target, version)
    data = rec.to_dict()
    data["uri"] = rec.uri
    data["path"] = str(reg.artifact_path(rec))
    if json_out:
        print_json(data)
        return
    width = max(len(k) for k in data)
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                typer.echo(
                    f"{(key[:-1] if key.endswith('s') else key) + '.' + sub:<{width}}  {subvalue}"
                )
        elif isinstance(value, list):
            typer.echo(f"{key:<{width}}  {', '.join(str(v) for v in value)}")
        else:
            typer.echo(f"{key:<{width}}  {'' if value is None else value}")


@app.command()
@handle_errors
def path(
    target: Annotated[str, typer.Argument(help="MODEL, or a models:/ URI.")],
    version: Annotated[
        Optional[str], typer.Argument(help="Version number (not with a URI).")
    ] = None,
    registry: RegistryOpt = None,
) -> None:
    """Print the local path of a version's artifact, for shell scripts.

    Example: python serve.py --model "$(minireg path models:/churn/Production)"
    """
    reg = open_registry(registry)
    rec = target_record(reg, target, version)
    typer.echo(str(reg.artifact_path(rec)))
