"""The registry lock: an flock on a dedicated file, the registry folder, and the threads.

Three holds, taken in this order and let go in reverse, all within one timeout:

1. a ``threading.Lock`` per registry folder, shared by every ``Registry`` of
   this process: threads of one process queue here instead of polling the
   file, and stay apart even where ``flock`` is per process (NFS emulates it
   with POSIX locks);
2. an exclusive ``flock`` on ``.minireg.lock``: the lock filelock takes on
   POSIX, so every minireg version excludes every other. minireg takes it with
   ``fcntl`` itself (importing filelock costs a write 12 ms) and goes through
   filelock where ``fcntl`` is missing (Windows) or the file system refuses
   ``flock``. After acquiring, the path must still name the file that was
   locked (same device and inode): a lock file deleted and re-created while we
   waited locks nobody out, so we let go and try again;
3. an ``flock`` on the registry folder itself. ``git clean -fdX`` (or ``rm``)
   can delete the ignored lock file while a writer holds it; the next writer
   then creates and locks a new file. The folder holds committed files, so
   git never removes it, and its lock keeps that second writer out. Where a
   folder cannot be locked (NFS refuses flock on a read-only descriptor) the
   file lock alone guards.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from minireg.errors import InvalidInput, RegistryBusy, Unsafe

LOCK_NAME = ".minireg.lock"
_POLL = 0.01

_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()
_held_fds: set[int] = set()
"""Descriptors holding an flock now, so that a forked child can let go of its copies."""

try:
    import fcntl  # noqa: F401  (POSIX: minireg takes its flocks itself)

    _HAS_FLOCK = True
except ImportError:  # not POSIX: filelock picks the platform's lock
    _HAS_FLOCK = False


def _after_fork_in_child() -> None:
    # The child has one thread: locks held by the parent's other threads are not its own.
    global _thread_locks_guard
    _thread_locks_guard = threading.Lock()
    _thread_locks.clear()
    # A flock lasts while any descriptor of it is open: a long-lived child must not keep
    # the parent's folder lock after the parent lets go.
    for fd in list(_held_fds):
        with contextlib.suppress(OSError):
            os.close(fd)
    _held_fds.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _seconds(raw: str | float, where: str) -> float:
    """A finite, non-negative number of seconds, else InvalidInput naming ``where``."""
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"{where} is not a number of seconds.") from exc
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(f"{where} must be a finite number of seconds, 0 or more.")
    return value


def lock_timeout(configured: float) -> float:
    """The timeout to use: ``MINIREG_LOCK_TIMEOUT`` if set, else the configured one.

    Raises:
        InvalidInput: the value is not a finite number of seconds, 0 or more
            (``nan``, ``inf`` and negative numbers are refused).
    """
    raw = os.environ.get("MINIREG_LOCK_TIMEOUT")
    if raw is None or raw == "":
        return _seconds(configured, f"minireg.toml: lock_timeout = {configured!r}")
    return _seconds(raw, f"MINIREG_LOCK_TIMEOUT={raw!r}")


def _thread_lock(root: Path) -> threading.Lock:
    key = os.path.realpath(root)
    with _thread_locks_guard:
        return _thread_locks.setdefault(key, threading.Lock())


class _LockFileReplaced(Exception):
    """The lock file was deleted or replaced between opening it and locking it."""


def _same_file(path: Path) -> Callable[[int], None]:
    """A filelock ``on_acquired`` check: the path still names the locked file."""

    def check(fd: int) -> None:
        held = os.fstat(fd)
        try:
            now = os.lstat(path)
        except FileNotFoundError as exc:
            raise _LockFileReplaced from exc
        if (held.st_dev, held.st_ino) != (now.st_dev, now.st_ino):
            raise _LockFileReplaced

    return check


def _flock(fd: int, deadline: float) -> bool:
    """Take an exclusive ``flock`` on ``fd``, polling until ``deadline``.

    Returns False where this file system refuses ``flock`` (the caller falls back).

    Raises:
        TimeoutError: another process held it past ``deadline``.
    """
    import fcntl

    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                return False
        if time.monotonic() >= deadline:
            raise TimeoutError(fd)
        time.sleep(_POLL)


def _hold(fd: int, deadline: float) -> int | None:
    """``fd`` once it holds an ``flock``, else None (``fd`` closed): locking is not possible.

    Raises:
        TimeoutError: another process held it past ``deadline`` (``fd`` closed).
    """
    try:
        if _flock(fd, deadline):
            return fd
    except BaseException:
        os.close(fd)
        raise
    os.close(fd)
    return None


def _lock_folder(root: Path, deadline: float) -> int | None:
    """An fd holding an ``flock`` on ``root``; None where folders cannot be locked.

    Raises:
        TimeoutError: another process held it past ``deadline``.
    """
    if not _HAS_FLOCK:
        return None
    try:
        fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None
    return _hold(fd, deadline)


def _lock_file(path: Path, deadline: float) -> int | None:
    """An fd holding an ``flock`` on the lock file ``path``; None where flock is refused.

    This is the lock :class:`filelock.FileLock` takes on POSIX (an ``flock`` on
    the same file, which stays in place), so minireg versions that lock through
    filelock exclude this one and the other way round; taking it directly spares
    every write filelock's import. After locking, the path must still name the
    locked file (see :func:`_same_file`), else the file is opened again.

    Raises:
        TimeoutError: another process held it past ``deadline``.
        Unsafe: the lock file is a symlink.
    """
    if not _HAS_FLOCK:
        return None
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    check = _same_file(path)
    while True:
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _symlinked(path) from exc
            raise
        held = _hold(fd, deadline)
        if held is None:
            return None
        try:
            check(held)
            return held
        except _LockFileReplaced:
            os.close(held)  # closing the descriptor lets go of its flock
            if time.monotonic() >= deadline:
                raise TimeoutError(path) from None


def _symlinked(path: Path) -> Unsafe:
    return Unsafe(f"{path} is a symlink; remove it so minireg can lock the registry safely.")


@contextmanager
def _held(fd: int | None) -> Iterator[None]:
    """Keep ``fd``'s flock for the block (none when ``fd`` is None), then let go of it."""
    if fd is None:
        yield
        return
    _held_fds.add(fd)
    try:
        yield
    finally:
        _held_fds.discard(fd)
        os.close(fd)  # closing the descriptor lets go of its flock


@contextmanager
def _portable_file_lock(path: Path, deadline: float, busy: RegistryBusy) -> Iterator[None]:
    """The lock file held through filelock: where ``flock`` is missing or refused."""
    from filelock import FileLock, Timeout

    while True:
        lock = FileLock(
            str(path),
            timeout=max(0.0, deadline - time.monotonic()),
            on_acquired=_same_file(path),
        )
        try:
            lock.acquire()
            break
        except _LockFileReplaced:
            if time.monotonic() >= deadline:
                raise busy from None
        except Timeout as exc:
            raise busy from exc
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _file_and_folder(root: Path, deadline: float, busy: RegistryBusy) -> Iterator[None]:
    """Holds 2 and 3: the lock file, then the registry folder."""
    path = root / LOCK_NAME
    try:
        fd = _lock_file(path, deadline)
    except TimeoutError as exc:
        raise busy from exc
    with _held(fd) if fd is not None else _portable_file_lock(path, deadline, busy):
        try:
            folder = _lock_folder(root, deadline)
        except TimeoutError as exc:
            raise busy from exc
        with _held(folder):
            yield


@contextmanager
def registry_lock(root: Path, timeout: float) -> Iterator[None]:
    """Hold the registry's lock, or raise RegistryBusy after ``timeout`` seconds.

    Safe from many threads (with one ``Registry`` or several on one folder).
    Never nest it in one thread: the second hold waits for the first and
    times out. The lock file stays on disk on purpose (deleting it on release
    lets two processes hold the lock at once); deleting it by hand is
    harmless, because the folder is locked too.

    Raises:
        RegistryBusy: not every hold was acquired within ``timeout`` seconds.
        Unsafe: the lock file is a symlink.
    """
    held = os.environ.get("MINIREG_LOCK_HELD", "")
    if held and Path(held) == root.resolve():
        # A git hook run by `minireg ... --commit` (which holds this lock while git
        # commits): the parent is waiting for us, so taking the lock would deadlock.
        yield
        return
    path = root / LOCK_NAME
    if path.is_symlink():
        raise _symlinked(path)
    busy = RegistryBusy(
        f"The registry at {root} is busy: its lock was not acquired within {timeout:g} s; "
        "try again, or raise MINIREG_LOCK_TIMEOUT."
    )
    deadline = time.monotonic() + timeout
    threads = _thread_lock(root)
    if not threads.acquire(timeout=timeout):
        raise busy
    try:
        with _file_and_folder(root, deadline, busy):
            yield
    finally:
        threads.release()
