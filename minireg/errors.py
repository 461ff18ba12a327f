"""The exception family. Each class knows its exit code; messages are one sentence."""

from __future__ import annotations


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
    """MLflow is unreachable or failing; re-running resumes (exit 7)."""

    exit_code = 7


class Unsafe(MiniregError):
    """Refused for safety: pickle loading forbidden, a symlink where a file belongs (exit 8)."""

    exit_code = 8
