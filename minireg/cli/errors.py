"""The one error funnel: every command body runs through :func:`run`, on either path.

``error: <sentence>`` on stderr and the error class's exit code for a
:class:`~minireg.errors.MiniregError`; ``error: interrupted.`` and 130 for
Ctrl-C; anything else is a bug: one line pointing to ``--traceback``, exit 1.
The fast path returns :func:`run`'s code from ``main()``; the Typer app turns a
non-zero code into ``typer.Exit``. Typer's own usage errors exit 2 before any
command body runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from minireg.cli import render
from minireg.errors import IntegrityError, ItemProblems, MiniregError, Refused


class Exit(Exception):
    """Leave with ``code`` quietly: the command has already said what it had to say."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


_settings = {"traceback": False}


def show_tracebacks(enabled: bool) -> None:
    """Let unexpected errors propagate with their traceback (``--traceback``)."""
    _settings["traceback"] = enabled


def _report(exc: MiniregError) -> None:
    details: list[str] = []
    sentence = exc.message
    if isinstance(exc, Refused) and len(exc.reasons) > 1:
        # The message repeats the reasons after its colon; list them one a line instead.
        sentence = exc.message.split(":", 1)[0] + ":"
        details += exc.reasons
    if isinstance(exc, IntegrityError):
        details += exc.problems
    if isinstance(exc, ItemProblems):
        sentence = exc.summary + ":"
        details += exc.details
    render.error(sentence, details)


def run(command: Callable[..., None], kwargs: Mapping[str, Any]) -> int:
    """Run one command body with ``kwargs``; return its exit code (0 when it finished)."""
    render.show_notes()
    try:
        command(**kwargs)
    except Exit as exc:
        return exc.code
    except MiniregError as exc:
        _report(exc)
        return exc.exit_code
    except OSError as exc:
        # The environment, not a bug: exit 9, never 1 (minireg's own paths say more).
        where = f": {exc.filename}" if exc.filename else ""
        render.error(
            f"local I/O error ({exc.strerror or exc}{where}); "
            "run `minireg verify` to see whether the change was recorded."
        )
        return 9
    except KeyboardInterrupt:
        render.error("interrupted.")
        return 130
    except Exception as exc:
        if _settings["traceback"] or os.environ.get("MINIREG_TRACEBACK"):
            raise
        render.error(
            f"unexpected internal error ({type(exc).__name__}: {exc}); "
            "re-run with --traceback and report it."
        )
        return 1
    return 0
