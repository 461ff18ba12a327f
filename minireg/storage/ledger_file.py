"""A ledger file read where it is looked at: a write finds its rows without reading 44 MB.

A registration or a promotion changes a few rows of ``ledger.csv``; finding
them is a binary search that looks at a few dozen lines. :class:`LedgerFile`
gives those functions (:mod:`minireg.domain.ledger_rows`) the bytes they ask
for from the open file, and :meth:`LedgerFile.pieces` describes the new
ledger as stretches of the old file and the new rows, which
:func:`~minireg.storage.atomic.atomic_write` copies from file to file in the
kernel. At 100,000 versions a write then reads a few pages instead of the
whole file, and never holds it in memory.

The file stays open while the view lives: the registry's writers replace the
ledger (a new file under its name) rather than change it, so the view keeps
reading the file that was vouched for. One that shrinks meanwhile (edited by
hand in place) makes the copy fail, never a torn ledger.
"""

from __future__ import annotations

import os
from types import TracebackType

from minireg.domain.ledger_rows import Edit
from minireg.storage.atomic import Stretch
from minireg.storage.pread import read_full


class LedgerFile:
    """The bytes of an open file, read on demand; closes the file on :meth:`close`.

    It answers what :class:`~minireg.domain.ledger_rows.Bytes` asks, as ``bytes``
    would for the same content (slices with step 1, ``sub`` not empty).
    """

    first_read = 4096
    """Bytes a search reads first; each further read doubles, up to :attr:`most_read`."""
    most_read = 1 << 20

    def __init__(self, fd: int, size: int) -> None:
        """A view of the open file ``fd`` (which it now owns) of ``size`` bytes."""
        self.fd = fd
        self.size = size

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> LedgerFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _read(self, start: int, stop: int) -> bytes:
        """The bytes from ``start`` to ``stop`` (fewer if the file ends first)."""
        return read_full(self.fd, stop - start, start) if stop > start else b""

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, key: slice, /) -> bytes:
        start, stop, step = key.indices(self.size)
        if step != 1:
            raise ValueError("a ledger view reads slices with step 1 only")
        return self._read(start, stop)

    def __contains__(self, sub: bytes, /) -> bool:
        return self.find(sub) >= 0

    def find(self, sub: bytes, start: int = 0, end: int | None = None, /) -> int:
        """The lowest offset of ``sub`` in ``[start, end)``, or -1 (read a page, then more)."""
        at, end, _ = slice(start, end).indices(self.size)
        step = self.first_read
        while end - at >= len(sub):
            stop = min(end, at + step)
            found = self._read(at, min(end, stop + len(sub) - 1)).find(sub)
            if found >= 0:
                return at + found
            at, step = stop, min(step * 2, self.most_read)
        return -1

    def rfind(self, sub: bytes, start: int = 0, end: int | None = None, /) -> int:
        """The highest offset of ``sub`` in ``[start, end)``, or -1 (read backwards)."""
        start, hi, _ = slice(start, end).indices(self.size)
        step = self.first_read
        while hi - start >= len(sub):
            lo = max(start, hi - step)
            found = self._read(lo, hi).rfind(sub)
            if found >= 0:
                return lo + found
            if lo == start:
                break
            hi, step = min(hi, lo + len(sub) - 1), min(step * 2, self.most_read)
        return -1

    def count(self, sub: bytes, /) -> int:
        """How many times ``sub`` occurs, not overlapping (reads the whole file)."""
        if len(sub) != 1:
            return self[:].count(sub)
        return sum(
            self._read(at, min(self.size, at + self.most_read)).count(sub)
            for at in range(0, self.size, self.most_read)
        )

    def endswith(self, suffix: bytes, /) -> bool:
        return len(suffix) <= self.size and self._read(self.size - len(suffix), self.size) == suffix

    def pieces(self, edits: list[Edit]) -> list[bytes | Stretch]:
        """The file with ``edits`` (in order, not overlapping) made: the new bytes, and the
        stretches of this file between them (copied, not read)."""
        out: list[bytes | Stretch] = []
        at = 0
        for start, end, new in edits:
            if start > at:
                out.append(Stretch(self.fd, at, start - at))
            out.append(new)
            at = end
        if self.size > at:
            out.append(Stretch(self.fd, at, self.size - at))
        return out
