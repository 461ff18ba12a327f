"""Declarations of the version commands: init, register, list, show, path, checkout."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from minireg.cli import versions
from minireg.cli.declare import (
    CommitOpt,
    JsonOpt,
    RegistryOpt,
    TargetArg,
    TargetVersionArg,
    declares,
)


@declares(versions.init, "init")
def init(registry: RegistryOpt = None) -> None:
    """Create a registry folder (default: registry/ at the git root).

    On an existing registry it changes nothing and says so.

    Example: minireg init --registry registry
    """


@declares(versions.register, "register")
def register(
    model: Annotated[
        Optional[str],
        typer.Argument(
            metavar="MODEL", help="Model name, e.g. churn_predictor.", show_default=False
        ),
    ] = None,
    artifact: Annotated[
        Optional[Path],
        typer.Argument(
            metavar="ARTIFACT", help="The model file or folder to register.", show_default=False
        ),
    ] = None,
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
    batch: Annotated[
        Optional[Path],
        typer.Option(
            "--batch",
            help="Register every line of this JSON Lines file instead of MODEL ARTIFACT: one "
            'object a line with register\'s arguments, e.g. {"model": "churn", "artifact": '
            '"m.joblib", "metrics": {"auc_roc": 0.91}}; paths are relative to the current '
            "folder. All or nothing: every bad line is listed and nothing is written.",
        ),
    ] = None,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
    commit: CommitOpt = None,
    upload: Annotated[
        bool,
        typer.Option(
            "--upload/--no-upload",
            help="With a remote set, upload the objects before recording the version "
            "(--no-upload: register offline; `minireg push` uploads later).",
        ),
    ] = True,
) -> None:
    """Register a new version of MODEL from ARTIFACT and print its version number.

    With --batch FILE.jsonl, register every line of the file in one locked write and
    print MODEL VERSION per line (--json: the records).

    Example: minireg register churn model.joblib --metrics metrics.json --data data/train.csv
    """


@declares(versions.list_, "list")
def list_(
    model: Annotated[
        Optional[str],
        typer.Argument(metavar="MODEL", help="Only this model's versions.", show_default=False),
    ] = None,
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
    all_versions: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Show every version on a terminal too (by default the newest 50 and a note; "
            "a pipe and --json always get every version).",
        ),
    ] = False,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List model versions: model, version, stage, created, git commit and metrics.

    On a terminal a plain list shows the newest 50 versions (of MODEL: its highest)
    and says how many it left out; --all, a pipe or --json give every version.
    --where, --sort and --columns query the ledger's columns with pandas.

    Example: minireg list --where "metric.auc_roc > 0.9 and stage == 'Production'"
    --sort -metric.auc_roc --columns model,version,metric.auc_roc
    """


@declares(versions.show, "show")
def show(
    target: TargetArg,
    version: TargetVersionArg = None,
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


@declares(versions.path, "path")
def path(target: TargetArg, version: TargetVersionArg = None, registry: RegistryOpt = None) -> None:
    """Print the local path of a version's artifact, for shell scripts.

    Example: python serve.py --model "$(minireg path models:/churn/Production)"
    """


@declares(versions.checkout, "checkout")
def checkout(
    uri: Annotated[
        str,
        typer.Argument(
            metavar="URI",
            help="A models:/ URI: models:/NAME/STAGE, /VERSION, @ALIAS or /latest.",
        ),
    ],
    dest: Annotated[
        Path,
        typer.Argument(
            metavar="DEST",
            help="Where to copy it: a file path, or a folder (a file goes inside it under "
            "its registered name; a folder artifact becomes this folder).",
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Overwrite files that are already there.")
    ] = False,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Copy a version's artifact out as ordinary writable files, after checking its sha256.

    Example: minireg checkout models:/churn_predictor/Production build/
    """


COMMANDS = (
    init,
    register,
    list_,
    show,
    path,
    checkout,
)
"""This module's commands, in help order."""
