"""The one helper that writes registry files: temp file, flush, fsync, os.replace.

Temporary names say who is writing, so that the sweep of orphans left by
writers that died never removes a file that is still being written:
``.tmp-<pid>-h<where>-t<thread>-<random>-<name>``, where ``<where>`` is a short
digest of the machine's boot and the process's PID namespace (a container),
since a PID only means something there.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import threading
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from minireg.storage.pread import read_at

TMP_PREFIX = ".tmp-"
FOREIGN_ORPHAN_AGE = 24 * 3600.0
"""Seconds before a temp file of another machine or container counts as an orphan."""


@lru_cache(maxsize=1)
def _where() -> str:
    """A tag for the PID namespace this process lives in (the machine's boot, the container)."""
    if hasattr(os, "uname"):
        parts = [os.uname().nodename]  # what socket.gethostname() answers, without its import
    else:  # Windows
        import socket

        parts = [socket.gethostname()]
    with contextlib.suppress(OSError):
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    with contextlib.suppress(OSError):
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]


def temp_name(target: Path) -> Path:
    """A temporary path beside ``target`` that names the writing process and thread."""
    who = f"{os.getpid()}-h{_where()}-t{threading.get_native_id()}-{os.urandom(4).hex()}"
    return target.with_name(f"{TMP_PREFIX}{who}-{target.name}")


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Stretch(NamedTuple):
    """``length`` bytes of the open file ``fd`` from ``offset``, to be copied as they are."""

    fd: int
    offset: int
    length: int


Data = bytes | Sequence[bytes | memoryview | Stretch]
"""A file's bytes, whole or in pieces written one after the other: bytes, or stretches of
another file (copied by the kernel where it can, never read into memory)."""

_CHUNK = 1 << 20
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EPERM}
_kernel_copy = [hasattr(os, "copy_file_range")]


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _copy_some(src: Stretch, fd: int, offset: int, left: int) -> int:
    """Copy up to ``left`` bytes of ``src`` from ``offset`` to the end of ``fd``; how many."""
    if _kernel_copy[0]:
        try:
            return os.copy_file_range(src.fd, fd, min(left, 1 << 30), offset)
        except OSError as exc:
            if exc.errno not in _NO_KERNEL_COPY:
                raise
            _kernel_copy[0] = False  # this file system or kernel cannot: copy through memory
    data = read_at(src.fd, min(left, _CHUNK), offset)
    _write_all(fd, data)
    return len(data)


def _copy(src: Stretch, fd: int) -> None:
    offset, left = src.offset, src.length
    while left:
        done = _copy_some(src, fd, offset, left)
        if not done:
            raise OSError(errno.EIO, "the file being copied got shorter while it was copied")
        offset, left = offset + done, left - done


def atomic_write(target: Path, data: Data) -> int:
    """Replace ``target`` with ``data`` so readers see the old file or the new one, never half.

    ``data`` may come in pieces (written one after the other, never joined: a
    large ledger changed in one row is its two unchanged stretches, copied from
    the old file, and the row).
    fsync before replace, or a crash can leave an empty file under the real name.
    Returns the inode of the new file.
    """
    tmp = temp_name(target)
    try:
        with open(tmp, "xb", buffering=0) as fh:
            fd = fh.fileno()
            for piece in [data] if isinstance(data, bytes) else data:
                if isinstance(piece, Stretch):
                    _copy(piece, fd)
                else:
                    _write_all(fd, piece)
            os.fsync(fd)
            inode = os.fstat(fd).st_ino
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    fsync_dir(target.parent)
    return inode


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    return True


def is_orphan(entry: Path, now: float | None = None) -> bool:
    """True when the temp file ``entry`` belongs to a writer that is gone.

    Never a file of this process (another thread may be writing it). A file of
    another process of this machine and container is an orphan once that
    process is dead. A reused PID makes a dead writer's file look alive, which
    only delays its removal; nothing can make a live writer look dead. A PID
    from another machine or container (a shared folder) says nothing here, so
    such a file is left alone until it is a day old.
    """
    fields = entry.name[len(TMP_PREFIX) :].split("-")
    if not fields[0].isdigit():
        return True  # not a name minireg writes
    pid = int(fields[0])
    where = fields[1][1:] if len(fields) > 1 and fields[1].startswith("h") else _where()
    if where != _where():
        try:
            age = (time.time() if now is None else now) - entry.lstat().st_mtime
        except OSError:
            return False
        return age > FOREIGN_ORPHAN_AGE
    return pid != os.getpid() and not _pid_alive(pid)


def remove_orphans(folder: Path) -> list[Path]:
    """Remove temp files in ``folder`` left by writers that died; return what was removed."""
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(TMP_PREFIX) or not is_orphan(entry):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir() and not entry.is_symlink():
                import shutil  # rarely needed: only for a temp folder left behind

                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed.append(entry)
    return removed
