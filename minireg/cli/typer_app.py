"""The Typer app: every command's parameters and help, for ``--help`` and every unusual form.

The commands are declared by noun in :mod:`minireg.cli.declare` (``versions``,
``stages``, ``metadata``, ``audit``, ``git``, ``files``, ``remote``, mirroring the modules
of bodies): a signature (parameters, help text) and a docstring (the command's
help, ending with an example). This module adds each declaration to the app or
its group; the command's body is the plain function of the noun module it
names, run through the one error funnel (:func:`minireg.cli.errors.run`), the
same function the hot-path table calls. ``tests/cli/test_table.py`` checks
that the table and these declarations agree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any

import typer

from minireg._version import __version__
from minireg.cli import errors
from minireg.cli.declare import (
    Body,
    audit,
    files,
    git,
    hooks,
    metadata,
    remote,
    stages,
    versions,
)

app = typer.Typer(
    name="minireg",
    help="A model registry that lives in your git repository.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: flags show as flags (Rich's help gives each one a `<bool>` value column).
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
alias_app = typer.Typer(
    help="Set or delete aliases (@champion), as in MLflow.", no_args_is_help=True
)
app.add_typer(alias_app, name="alias")
export_app = typer.Typer(
    help="Export the registry: to MLflow, or as a spreadsheet.", no_args_is_help=True
)
app.add_typer(export_app, name="export")
remote_app = typer.Typer(
    help="Set or show the remote for objects (S3, GCS, Azure, a shared folder).",
    no_args_is_help=True,
)
app.add_typer(remote_app, name="remote")
hooks_app = typer.Typer(
    help="Hooks: deliver events that came by git, test the hooks, check a webhook's signature.",
    no_args_is_help=True,
)
app.add_typer(hooks_app, name="hooks")
_GROUPS = {
    "": app,
    "alias": alias_app,
    "export": export_app,
    "remote": remote_app,
    "hooks": hooks_app,
}


def command(
    group: typer.Typer, body: Body, name: str, **settings: Any
) -> Callable[[Callable[..., None]], Body]:
    """Add the decorated declaration to ``group`` as command ``name``, running ``body``.

    The declaration's own body is never run: Typer parses its parameters and
    hands them, as keywords, to ``body`` through the error funnel; a non-zero
    exit code becomes ``typer.Exit``.
    """

    def declare(declaration: Callable[..., None]) -> Body:
        @functools.wraps(declaration)
        def funnelled(**kwargs: Any) -> None:
            code = errors.run(body, kwargs)
            if code:
                raise typer.Exit(code)

        funnelled.__minireg_body__ = body  # type: ignore[attr-defined]
        group.command(name, **settings)(funnelled)
        return funnelled

    return declare


def run(argv: list[str] | None) -> int:
    """Let Typer parse ``argv`` (None: ``sys.argv``) and run the command; its exit code."""
    try:
        app(args=argv, prog_name="minireg")
    except SystemExit as exc:  # click ends every run, success included, with sys.exit(code)
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        raise
    return 0


def _version(value: bool) -> None:
    if value:
        print(f"minireg {__version__}")
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
    errors.show_tracebacks(traceback)


def _add_commands() -> None:
    """Add every declared command to its group, in help order."""
    declared = (
        *versions.COMMANDS,
        *stages.COMMANDS,
        *metadata.COMMANDS,
        *audit.COMMANDS,
        *git.COMMANDS,
        *files.COMMANDS,
        *remote.COMMANDS,
        *hooks.COMMANDS,
    )
    for one in declared:
        group, _, name = one.name.rpartition(" ")
        command(_GROUPS[group], one.body, name, **one.settings)(one.declaration)


_add_commands()
