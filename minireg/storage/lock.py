"""The registry lock: one filelock on a dedicated file that is never deleted."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from minireg.errors import InvalidInput, RegistryBusy, Unsafe

LOCK_NAME = ".minireg.lock"


def lock_timeout(configured: float) -> float:
    """The timeout to use: ``MINIREG_LOCK_TIMEOUT`` if set, else the configured one."""
    raw = os.environ.get("MINIREG_LOCK_TIMEOUT")
    if raw is None or raw == "":
        return configured
    try:
        value = float(raw)
    except ValueError as exc:
        raise InvalidInput(f"MINIREG_LOCK_TIMEOUT={raw!r} is not a number of seconds.") from exc
    if value < 0:
        raise InvalidInput(f"MINIREG_LOCK_TIMEOUT={raw!r} must not be negative.")
    return value


@contextmanager
def registry_lock(root: Path, timeout: float) -> Iterator[None]:
    """Hold the registry's lock, or raise RegistryBusy after ``timeout`` seconds.

    Never nest it: filelock treats a second lock object on one path in one
    thread as a deadlock. The lock file stays on disk on purpose (deleting it
    on release lets two processes hold the lock at once).
    """
    from filelock import FileLock, Timeout

    held = os.environ.get("MINIREG_LOCK_HELD", "")
    if held and Path(held) == root.resolve():
        # A git hook run by `minireg ... --commit` (which holds this lock while git
        # commits): the parent is waiting for us, so taking the lock would deadlock.
        yield
        return
    path = root / LOCK_NAME
    if path.is_symlink():
        raise Unsafe(f"{path} is a symlink; remove it so minireg can lock the registry safely.")
    lock = FileLock(str(path), timeout=timeout)
    try:
        lock.acquire()
    except Timeout as exc:
        raise RegistryBusy(
            f"The registry at {root} is busy: its lock was not acquired within {timeout:g} s; "
            "try again, or raise MINIREG_LOCK_TIMEOUT."
        ) from exc
    try:
        yield
    finally:
        lock.release()
