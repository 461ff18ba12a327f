"""The ``minireg`` command line.

:func:`main` parses the command lines scripts run in loops (``path``,
``promote``, ``register``, ...) with the explicit table of
:mod:`minireg.cli.table` and runs them without importing Typer; every other
command line, ``--help`` included, goes to the Typer app
(:mod:`minireg.cli.typer_app`). Either way the command's body is the same plain
function of a noun module (``versions``, ``stages``, ``metadata``, ``audit``,
``git``, ``files``), run through the one error funnel (:mod:`minireg.cli.errors`)
and rendered by :mod:`minireg.cli.render`.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

    app: typer.Typer

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run one ``minireg`` command line (default: ``sys.argv[1:]``); return its exit code.

    Example:
        >>> from minireg.cli import main
        >>> main(["path", "models:/churn/Production"])
        0
    """
    if argv is not None:
        return _main(list(argv))
    # The process is this one command (the `minireg` script, `python -m minireg`). A
    # command on a large registry holds millions of objects without cycles (a folded
    # state); the collector's full passes, which would walk them all during the command
    # and again at exit, are left out: young objects are still collected.
    import gc

    gc.set_threshold(*gc.get_threshold()[:2], 1_000_000_000)
    try:
        return _main(sys.argv[1:])
    finally:
        gc.freeze()


def _main(args: list[str]) -> int:
    from minireg.cli.table import parse

    parsed = parse(args)
    if parsed is None:
        from minireg.cli.typer_app import run as run_typer

        return run_typer(args)
    from minireg.cli.errors import run

    body, kwargs = parsed
    return run(body, kwargs)


def __getattr__(name: str) -> Any:
    # The Typer app, imported on first use: `minireg path` never pays for Typer.
    if name == "app":
        from minireg.cli.typer_app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
