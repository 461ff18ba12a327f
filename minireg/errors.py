"""The exception family. Each class knows its exit code; messages are one sentence."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class MiniregError(Exception):
    """Base class of every error minireg raises on purpose (exit 1 if unclassified)."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(MiniregError, ValueError):
    """Bad usage or a bad input value (exit 2)."""

    exit_code = 2


class NotFound(MiniregError, LookupError):
    """A registry, model, version, stage or alias does not exist (exit 3)."""

    exit_code = 3


class Refused(MiniregError):
    """A transition is not allowed or a policy failed (exit 4).

    ``reasons`` lists every failed check, so callers can show them all.
    """

    exit_code = 4

    def __init__(self, message: str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.reasons = list(reasons or [])


class RegistryBusy(MiniregError, TimeoutError):
    """The registry lock was not acquired within the timeout (exit 5)."""

    exit_code = 5


class IntegrityError(MiniregError):
    """A digest, the hash chain or the ledger does not check out (exit 6).

    ``problems`` lists every problem found, in file order.
    """

    exit_code = 6

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class RemoteError(MiniregError):
    """A remote is unreachable or refusing: MLflow, or the object store (exit 7).

    Re-running resumes. ``url`` is the remote as it may be shown (credentials
    stripped); ``recorded`` says on which side of the commit point it happened
    (False: nothing was recorded; None: not a write, or unknown).
    """

    exit_code = 7

    def __init__(self, message: str, *, url: str = "", recorded: bool | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.recorded = recorded


class Unsafe(MiniregError):
    """Refused for safety: pickle loading forbidden, a symlink where a file belongs (exit 8)."""

    exit_code = 8


class ItemProblems(MiniregError):
    """Some items of a batch are not valid; nothing was written (see the two classes below).

    ``problems`` pairs each bad item's index (from 0, as in the list given) with
    its sentence; ``details`` are the lines to show (``items[2]: …``, or as
    :meth:`labelled` names them), and the message is the summary and the first.
    """

    def __init__(
        self, summary: str, problems: list[tuple[int, str]], details: list[str] | None = None
    ) -> None:
        self.summary = summary
        self.problems = list(problems)
        self.details = details if details is not None else [f"items[{i}]: {s}" for i, s in problems]
        more = f" (and {len(self.details) - 1} more)" if len(self.details) > 1 else ""
        super().__init__(f"{summary}: {self.details[0]}{more}" if self.details else summary)

    def labelled(self, names: list[str]) -> ItemProblems:
        """The same error with item ``i`` called ``names[i]`` (a file's line numbers, say)."""
        details = [f"{names[i]}: {sentence}" for i, sentence in self.problems]
        return type(self)(self.summary, self.problems, details)


class InvalidItems(ItemProblems, InvalidInput):
    """Items of a batch hold bad values or paths (exit 2); nothing was written."""


class UnsafeItems(ItemProblems, Unsafe):
    """An item of a batch is unsafe, a symlink in a folder artifact, say (exit 8); nothing
    was written."""


class LocalIOError(MiniregError, OSError):
    """The local disk failed: full, read-only, permission denied, EIO (exit 9).

    ``recorded`` says on which side of the commit point (the durable append to
    ``events.jsonl``) it happened: False means nothing was recorded, True that
    the change stands and only a view (the ledger) lags, None that it is unknown.
    """

    exit_code = 9

    def __init__(
        self, message: str, *, path: str = "", errno_code: int | None = None, recorded: bool | None
    ) -> None:
        super().__init__(message)
        self.path = path
        self.errno = errno_code
        self.recorded = recorded


def local_io_error(exc: OSError, path: object, recorded: bool | None, doing: str) -> LocalIOError:
    """A :class:`LocalIOError` for ``exc`` met trying to ``doing`` (``"append to"``) ``path``.

    The sentence names the path, the errno and which side of the commit point it was.
    """
    import errno as errno_names
    import os

    code = exc.errno
    name = errno_names.errorcode.get(code, "") if code is not None else ""
    why = os.strerror(code) if code is not None else str(exc)
    outcome = {
        False: "nothing was recorded",
        True: "the change WAS recorded in the audit trail",
        None: "run `minireg verify` to see whether the change was recorded",
    }[recorded]
    return LocalIOError(
        f"Could not {doing} {path}: {why}" + (f" ({name})" if name else "") + f"; {outcome}.",
        path=str(path),
        errno_code=code,
        recorded=recorded,
    )


@contextmanager
def local_io(path: object, recorded: bool | None, doing: str) -> Iterator[None]:
    """Turn an ``OSError`` of the block into :func:`local_io_error` (minireg's own pass)."""
    try:
        yield
    except MiniregError:
        raise
    except OSError as exc:
        raise local_io_error(exc, path, recorded, doing) from exc
