"""What every command shares: options, the error funnel, tables, JSON and progress."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, ParamSpec, TypeVar

import typer

from minireg.errors import MiniregError, Refused
from minireg.storage.objects import Progress

if TYPE_CHECKING:
    from minireg.registry import Registry

RegistryOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--registry",
        "-r",
        help="Registry folder (default: $MINIREG_REGISTRY, else registry/ at the git root "
        "or the nearest parent that has one).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON for scripts.")]
CommitOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--commit/--no-commit",
        help="Make one git commit of exactly the registry files this command changed "
        "(default: `commit` in minireg.toml). Refused if other changes are staged; never pushes.",
        show_default=False,
    ),
]

P = ParamSpec("P")
R = TypeVar("R")

_state = {"traceback": False}


def set_traceback(enabled: bool) -> None:
    """Show full tracebacks for unexpected errors (``--traceback``)."""
    _state["traceback"] = enabled


def err(message: str) -> None:
    """A message for people, on stderr."""
    typer.echo(message, err=True)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """The one error funnel: ``error: <sentence>`` on stderr and the error class's exit code.

    It sits inside each command (not around ``app()``) so that Typer's
    CliRunner, which calls commands directly, exercises it too.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        _setup_logging()
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except MiniregError as exc:
            if isinstance(exc, Refused) and len(exc.reasons) > 1:
                err(f"error: {exc.message.split(':', 1)[0]}:")
                for reason in exc.reasons:
                    err(f"  - {reason}")
            else:
                err(f"error: {exc.message}")
            problems = getattr(exc, "problems", [])
            for problem in problems:
                err(f"  - {problem}")
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:
            # The environment, not a bug: exit 9, never 1 (minireg's own paths say more).
            err(
                f"error: local I/O error ({exc.strerror or exc}"
                + (f": {exc.filename}" if exc.filename else "")
                + "); run `minireg verify` to see whether the change was recorded."
            )
            raise typer.Exit(9) from None
        except KeyboardInterrupt:
            err("error: interrupted.")
            raise typer.Exit(130) from None
        except Exception as exc:
            if _state["traceback"] or os.environ.get("MINIREG_TRACEBACK"):
                raise
            err(
                f"error: unexpected internal error ({type(exc).__name__}: {exc}); "
                "re-run with --traceback and report it."
            )
            raise typer.Exit(1) from None

    wrapper.__minireg_handled__ = True  # type: ignore[attr-defined]
    return wrapper


class _NoteHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        kind = "warning" if record.levelno >= logging.WARNING else "note"
        err(f"{kind}: {record.getMessage()}")


def _setup_logging() -> None:
    logger = logging.getLogger("minireg")
    if not any(isinstance(h, _NoteHandler) for h in logger.handlers):
        logger.addHandler(_NoteHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False


def print_json(data: Any) -> None:
    """JSON for scripts on stdout: stable keys, UTF-8.

    Indented on a terminal; one compact line in a pipe, because the indenting
    encoder is pure Python and costs more than the rest of ``list --json``.
    """
    indent = 2 if sys.stdout.isatty() else None
    typer.echo(json.dumps(data, indent=indent, ensure_ascii=False))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned table for people on stdout."""
    text_rows = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    line = "  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip()
    typer.echo(line)
    typer.echo("  ".join("-" * w for w in widths))
    for row in text_rows:
        typer.echo("  ".join(v.ljust(widths[i]) for i, v in enumerate(row)).rstrip())


def progress_bar(label: str) -> tuple[Progress | None, Callable[[], None]]:
    """A byte progress bar on stderr when it is a terminal; nothing in scripts."""
    if not sys.stderr.isatty():
        return None, lambda: None
    shown = {"last": -1}

    def update(done: int, total: int) -> None:
        if total <= 0:
            return
        pct = int(done * 100 / total)
        if pct == shown["last"]:
            return
        shown["last"] = pct
        filled = pct * 30 // 100
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {pct:3d}%")
        sys.stderr.flush()

    def finish() -> None:
        if shown["last"] >= 0:
            sys.stderr.write("\n")
            sys.stderr.flush()

    return update, finish


def plural(count: int, word: str) -> str:
    """``1 version``, ``2 versions``: counts in messages read as English."""
    return f"{count} {word}" + ("" if count == 1 else "s")


def short(sha: str, n: int = 12) -> str:
    """A digest or commit shortened for tables."""
    return sha[:n]


@contextmanager
def committing(reg: Registry, commit: bool | None) -> Iterator[None]:
    """Wrap one write: refuse before writing if git has staged changes, commit after it."""
    from minireg.gitcommit import committing as git_committing

    with git_committing(reg, commit) as outcome:
        yield
    if outcome.sha:
        err(f"Committed {outcome.sha[:12]}: {outcome.subject}")
    elif reg.config.commit if commit is None else commit:
        err("No registry file changed; no commit made.")
