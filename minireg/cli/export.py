"""The ``minireg export`` group: each exporter adds its subcommand to ``export_app``."""

from __future__ import annotations

import typer

from minireg.cli import app

export_app = typer.Typer(
    help="Export the registry: to MLflow, or as a spreadsheet.", no_args_is_help=True
)
app.add_typer(export_app, name="export")
