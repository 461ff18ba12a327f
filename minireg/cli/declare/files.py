"""Declarations of the file commands: convert, export mlflow, export xlsx, export csv, report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from minireg.cli import files
from minireg.cli.declare import CommitOpt, JsonOpt, RegistryOpt, declares


@declares(files.convert, "convert")
def convert(
    to: Annotated[str, typer.Option("--to", help="The ledger format to switch to: xlsx or csv.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Switch the registry's ledger between ledger.csv and ledger.xlsx.

    Writes the new ledger, sets format in minireg.toml (comments kept) and
    removes the old ledger, under the registry lock.

    Example: minireg convert --to xlsx
    """


@declares(files.export_mlflow, "export mlflow")
def export_mlflow(
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
    after a failure resumes. Two exports at once (two CI jobs) are safe: each
    version is created by one of them. Values longer than MLflow keeps are
    shortened and listed (--json: "shortened"); minireg/audit.json keeps them
    whole. Needs the extra: pip install 'minireg[mlflow]'.

    Example: minireg export mlflow --tracking-uri http://mlflow:5000 --model churn_predictor
    """


@declares(files.export_xlsx, "export xlsx")
def export_xlsx(
    out: Annotated[
        Path, typer.Argument(metavar="OUT", help="The workbook to write, e.g. ledger.xlsx.")
    ],
    registry: RegistryOpt = None,
) -> None:
    """Write the ledger as an Excel workbook (ledger and audit sheets), for a manager.

    Text is never stored as a formula.

    Example: minireg export xlsx ~/Desktop/models.xlsx
    """


@declares(files.export_csv, "export csv")
def export_csv(
    out: Annotated[Path, typer.Argument(metavar="OUT", help="The CSV file to write.")],
    excel: Annotated[
        bool,
        typer.Option(
            "--excel",
            help="Make a copy safe to open in Excel: quote cells that start with = + - @, "
            "a tab or CR (OWASP), and add a UTF-8 byte order mark.",
        ),
    ] = False,
    registry: RegistryOpt = None,
) -> None:
    """Write the ledger as CSV; with --excel a copy that Excel cannot run as formulas.

    Example: minireg export csv --excel models.csv
    """


@declares(files.report, "report")
def report(
    out: Annotated[
        Path, typer.Argument(metavar="OUT", help="The HTML file to write, e.g. report.html.")
    ],
    model: Annotated[
        Optional[str], typer.Option("--model", "-m", help="Only this model (default: all).")
    ] = None,
    since: Annotated[
        Optional[str],
        typer.Option("--since", help="Only what happened at or after this ISO date/time."),
    ] = None,
    now: Annotated[
        bool,
        typer.Option(
            "--now",
            help="Stamp 'generated at' with the current time (default: the time of the "
            "trail's last event, so the same trail gives the same bytes).",
        ),
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify/--no-verify",
            help="Run verify and show its result on the page (it re-hashes every artifact; "
            "--no-verify shows 'not run', e.g. when the same CI job just ran minireg verify).",
        ),
    ] = True,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Write one self-contained HTML page with the registry's story, to open or publish.

    Per model: a stage timeline (hover a promotion for actor, approver and reason),
    metrics across versions (Production versions highlighted, a metric chooser) and
    the current state; then the audit trail as a table to sort and filter, with the
    trail's head hash and whether verify passed. Every script is inline: it opens
    offline. Needs the extra: pip install 'minireg[report]'.

    Example: minireg report report.html --model churn_predictor --since 2024-03-01
    """


COMMANDS = (
    convert,
    export_mlflow,
    export_xlsx,
    export_csv,
    report,
)
"""This module's commands, in help order."""
