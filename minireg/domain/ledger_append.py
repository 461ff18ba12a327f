"""Adding one new version to a CSV ledger without rendering every row again.

A new version of a model is always that model's highest, so its row goes
right after the model's last row, and when it brings no new column every
other row keeps its bytes. :func:`plan` finds the place and the number; the
result equals :func:`minireg.domain.ledger.render_csv` of all the versions,
which the tests check. Anything unusual (a cell spanning lines, a new column)
answers None, and the caller renders the whole ledger as before.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from minireg.domain.ledger import columns, row
from minireg.domain.ledger_rows import bisect_rows, rows_are_lines
from minireg.domain.records import VersionRecord


def _model_of(line: bytes) -> bytes:
    return line.split(b",", 1)[0]


@dataclass(frozen=True)
class Plan:
    """Where a new version of one model goes in a ledger, and its number."""

    ledger: bytes
    header: list[str]
    offset: int
    """The byte offset the new row goes at (the row after the model's last one)."""
    next_version: int

    def row(self, rec: VersionRecord) -> bytes | None:
        """``rec``'s row (to go at :attr:`offset`), or None if the columns would change."""
        if not set(columns([rec])) <= set(self.header):
            return None
        cells = row(rec, self.header)
        if any("\n" in cell or "\r" in cell for cell in cells):
            return None
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(cells)
        return buf.getvalue().encode("utf-8")

    def insert(self, rec: VersionRecord) -> bytes | None:
        """The ledger bytes with ``rec``'s row in place, or None if the columns would change."""
        new = self.row(rec)
        if new is None:
            return None
        return b"".join([self.ledger[: self.offset], new, self.ledger[self.offset :]])


def plan(ledger: bytes, model: str, rows: int | None = None) -> Plan | None:
    """Plan the row of a new version of ``model`` in ``ledger`` (the exact view of the events).

    Returns None unless every row sits on one line (no cell holds a line break),
    so that lines and rows are the same thing. ``rows``, the number of versions
    the ledger shows, makes that check one count (see :func:`rows_are_lines`).
    """
    if not rows_are_lines(ledger, rows):
        return None
    first = ledger[: ledger.find(b"\n")].decode("utf-8")
    header = next(csv.reader([first]), [])
    if header[:2] != ["model", "version"]:
        return None
    key = model.encode("utf-8")
    at = bisect_rows(ledger, lambda line: _model_of(line) <= key)
    next_version = 1
    previous = ledger[ledger.rfind(b"\n", 0, at - 1) + 1 : at - 1]
    if previous and ledger.find(b"\n") < at - 1 and _model_of(previous) == key:
        last = previous.split(b",", 2)[1]
        if not last.isdigit():
            return None
        next_version = int(last) + 1
    return Plan(ledger, header, at, next_version)
