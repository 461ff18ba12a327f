"""Reading bytes at an offset of an open file, on every platform."""

from __future__ import annotations

import os
import threading

_seek_lock = threading.Lock()


def read_at(fd: int, size: int, offset: int) -> bytes:
    """Up to ``size`` bytes of ``fd`` from ``offset`` (fewer at the end of the file).

    ``os.pread`` where there is one (POSIX): it leaves the file position alone, so
    threads may share the descriptor. Elsewhere a seek and a read, one thread at a time.
    """
    if hasattr(os, "pread"):
        return os.pread(fd, size, offset)
    with _seek_lock:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, size)


def read_full(fd: int, size: int, offset: int) -> bytes:
    """``size`` bytes of ``fd`` from ``offset``, reading on after a short read (fewer only
    where the file ends first)."""
    data = read_at(fd, size, offset)
    if len(data) < size:
        parts, done = [data], len(data)
        while done < size and (more := read_at(fd, size - done, offset + done)):
            parts.append(more)
            done += len(more)
        data = b"".join(parts)
    return data
