"""Finding rows in the bytes of a CSV ledger without splitting it into lines.

The ledger is sorted by model, then version, one row a line when no cell
holds a line break; a binary search over byte offsets then reads a few
dozen lines to find a row among 100,000, where splitting the file would
touch every one. Shared by :mod:`ledger_append` and :mod:`ledger_update`.
"""

from __future__ import annotations

from collections.abc import Callable


def rows_are_lines(ledger: bytes, rows: int | None, known: bool = False) -> bool:
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
    return not any(line.count(b'"') % 2 for line in ledger.split(b"\n"))


def body_start(ledger: bytes) -> int:
    """Where the first row begins (just after the header)."""
    return ledger.find(b"\n") + 1


def bisect_rows(ledger: bytes, below: Callable[[bytes], bool]) -> int:
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


def row_end(ledger: bytes, start: int) -> int:
    """The offset of the newline that ends the row starting at ``start``."""
    return ledger.find(b"\n", start)
