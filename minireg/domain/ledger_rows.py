"""Finding rows in the bytes of a CSV ledger without splitting it into lines.

The ledger is sorted by model, then version, one row a line when no cell
holds a line break; a binary search over byte offsets then reads a few
dozen lines to find a row among 100,000, where splitting the file would
touch every one. Shared by :mod:`ledger_append` and :mod:`ledger_update`.

The ledger comes as :class:`Bytes`: the file's bytes, or a view that reads
them from the file as they are asked for (a write at 100,000 versions then
reads a few pages of the 44 MB, not all of it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Bytes(Protocol):
    """What these functions read of a ledger: ``bytes`` has it, and so does a file view."""

    def __len__(self) -> int: ...

    def __getitem__(self, key: slice, /) -> bytes: ...

    def __contains__(self, sub: bytes, /) -> bool: ...

    def find(self, sub: bytes, start: int = 0, end: int = ..., /) -> int: ...

    def rfind(self, sub: bytes, start: int = 0, end: int = ..., /) -> int: ...

    def count(self, sub: bytes, /) -> int: ...

    def endswith(self, suffix: bytes, /) -> bool: ...


Edit = tuple[int, int, bytes]
"""A change to a ledger: the bytes from start to end make way for the new bytes."""


def rows_are_lines(ledger: Bytes, rows: int | None, known: bool = False) -> bool:
    """True when every row of ``ledger`` is one line (no cell holds a line break).

    ``known``: the caller knows it already (the ledger stamp says so: the file is
    what an earlier write made from rows checked one by one), and nothing is
    scanned. With ``rows`` (how many versions the ledger shows) one count of
    newlines answers; without it, every line's quotes are counted (a line with an
    odd number of them opens or closes a cell that goes on to the next line).
    """
    if known:
        return ledger.endswith(b"\n")
    if not ledger.endswith(b"\n") or b"\r" in ledger:
        return False
    if rows is not None:
        return ledger.count(b"\n") == rows + 1
    if b'"' not in ledger:
        return True
    whole = ledger if isinstance(ledger, bytes) else ledger[:]
    return not any(line.count(b'"') % 2 for line in whole.split(b"\n"))


def body_start(ledger: Bytes) -> int:
    """Where the first row begins (just after the header)."""
    return ledger.find(b"\n") + 1


def bisect_rows(ledger: Bytes, below: Callable[[bytes], bool]) -> int:
    """The offset of the first row for which ``below`` is False (rows where it is True
    come first), or the ledger's length when there is none."""
    lo, hi = body_start(ledger), len(ledger)
    while lo < hi:
        mid = (lo + hi) // 2
        start = ledger.rfind(b"\n", lo, mid) + 1 or lo
        end = ledger.find(b"\n", start)
        if below(ledger[start:end]):
            lo = end + 1
        else:
            hi = start
    return lo


def row_end(ledger: Bytes, start: int) -> int:
    """The offset of the newline that ends the row starting at ``start``."""
    return ledger.find(b"\n", start)


def edited(ledger: bytes, edits: list[Edit]) -> bytes:
    """``ledger`` with ``edits`` (in order, not overlapping) made."""
    pieces, at = [], 0
    for start, end, new in edits:
        pieces += [ledger[at:start], new]
        at = end
    pieces.append(ledger[at:])
    return b"".join(pieces)
