"""One read pass over a file being stored: hashed once, then compared or copied.

Registering bytes the store already holds must cost one hash pass, and new
bytes one hash pass plus one copy. :class:`Reading` reads the source once,
hashing every chunk; :meth:`Reading.compare` checks it against stored objects
of its size as it goes (a read and a memcmp each, far cheaper than hashing
them again), and :meth:`Reading.copy_to` writes the source out, re-reading
only the part a failed comparison already consumed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minireg.errors import IntegrityError

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) while artifacts are copied."""

CHUNK = 1 << 20
_CHUNK = CHUNK
_SMALL = 64 << 10


def unchanged(src: Path, before: os.stat_result) -> None:
    after = os.stat(src)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise IntegrityError(f"{src} changed while it was copied; register it again.")


class Reading:
    """One pass over a source file: hashed once, compared or copied as it goes.

    A large file is hashed in a second thread, one chunk behind the reads (hashlib
    releases the GIL), so reading, comparing or writing the next chunk overlaps the
    hashing of this one. Two buffers alternate: a chunk is never overwritten while
    it is being hashed, and the chunks are hashed in order.
    """

    def __init__(
        self,
        src: Path,
        fin: Any,
        progress: Progress | None,
        done: int,
        total: int,
        *,
        threaded: bool = False,
        size_hint: int | None = None,
    ) -> None:
        self.src = src
        self.fin = fin
        self.hash = hashlib.sha256()
        self.size = 0
        # Buffers the size of a small file, not of a chunk: a batch of 10,000 small
        # artifacts would otherwise zero 20 GB of memory (a file that grows meanwhile is
        # still read to its end, in smaller reads, and refused by the caller).
        self.chunk = _CHUNK if size_hint is None else min(_CHUNK, max(size_hint + 1, _SMALL))
        self.bufs = (bytearray(self.chunk), bytearray(self.chunk))
        self.turn = 0
        self.progress = progress
        self.done = done
        self.total = total
        self.pool: ThreadPoolExecutor | None = None
        if threaded:  # imported here: most registrations never start a thread
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(1, "minireg-hash")
        self.pending: Future[None] | None = None

    def __enter__(self) -> Reading:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    def _settled(self) -> None:
        """Wait for the chunk being hashed (its buffer is free, the digest up to date)."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def _next(self) -> bytes | bytearray:
        """The next chunk, counted and handed to the hash (empty at the end)."""
        buf = self.bufs[self.turn]
        self.turn ^= 1
        n = self.fin.readinto(buf)  # overlaps the hashing of the other buffer
        self._settled()
        if not n:
            return b""
        chunk = buf if n == self.chunk else buf[:n]
        if self.pool is None:
            self.hash.update(chunk)
        else:
            self.pending = self.pool.submit(self.hash.update, chunk)
        self.size += n
        if self.progress is not None:
            self.progress(self.done + self.size, self.total)
        return chunk

    def hexdigest(self) -> str:
        self._settled()
        return self.hash.hexdigest()

    def compare(self, objects: dict[str, Path]) -> str | None:
        """Read the source beside ``objects`` (digest: path); the one it proves intact, if any.

        An object is intact when its bytes equal the source's, byte for byte, to the
        end of both, and the source hashes to its name. Comparing costs a read and a
        memcmp, far less than hashing the object again.
        """
        alive: dict[str, Any] = {}
        try:
            for digest, path in objects.items():
                with contextlib.suppress(OSError):
                    alive[digest] = open(path, "rb", buffering=0)  # noqa: SIM115
            other = bytearray(self.chunk)
            while alive:
                chunk = self._next()
                for digest, fh in list(alive.items()):
                    n = fh.readinto(other)
                    if n != len(chunk) or (other if n == self.chunk else other[:n]) != chunk:
                        fh.close()
                        del alive[digest]
                if not chunk:
                    break
            digest = self.hexdigest()
            return digest if digest in alive else None
        finally:
            for fh in alive.values():
                fh.close()

    def copy_to(self, fout: Any) -> None:
        """Write the whole source to ``fout``: what was read so far again, then the rest."""
        self._settled()
        read, buf = self.size, self.bufs[0]
        if read:
            self.fin.seek(0)
            left = read
            while left:
                n = self.fin.readinto(buf if left >= self.chunk else memoryview(buf)[:left])
                if not n:
                    raise IntegrityError(
                        f"{self.src} changed while it was copied; register it again."
                    )
                fout.write(memoryview(buf)[:n])
                left -= n
        while chunk := self._next():
            fout.write(chunk)
