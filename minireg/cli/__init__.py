"""The ``minireg`` command: a thin Typer layer over the Python API."""

from __future__ import annotations

from typing import Annotated

import typer

from minireg._version import __version__
from minireg.cli.common import set_traceback

app = typer.Typer(
    name="minireg",
    help="A model registry that lives in your git repository.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"minireg {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Show the full traceback of an unexpected error.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """A model registry that lives in your git repository."""
    set_traceback(traceback)


# Each module adds its commands to ``app``; importing them registers them.
from minireg.cli import core, export, export_mlflow, gitflow, loading, sheet, stages  # noqa: E402

__all__ = ["app", "main"]
_COMMAND_MODULES = (core, stages, loading, export, export_mlflow, sheet, gitflow)


def main() -> None:
    """Entry point of the ``minireg`` script and ``python -m minireg``."""
    import sys

    # Plain path, list, show and register skip Typer's parser, which imports
    # pydantic (see fast.py). Should Typer move what fast.py reads, Typer parses.
    try:
        from minireg.cli import fast
    except ImportError:
        app()
        return
    if fast.run(sys.argv[1:]):
        return
    app()
