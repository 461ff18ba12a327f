"""Adding one new version to a CSV ledger without rendering every row again.

A new version of a model is always that model's highest, so its row goes
right after the model's last row, and when it brings no new column every
other row keeps its bytes. :func:`plan` finds the place and the number; the
result equals :func:`minireg.domain.ledger.render_csv` of all the versions,
which the tests check. Anything unusual (a cell spanning lines, a new column)
answers None, and the caller renders the whole ledger as before.
"""

from __future__ import annotations

import bisect
import csv
import io
from dataclasses import dataclass

from minireg.domain.ledger import columns, row
from minireg.domain.records import VersionRecord


def _model_of(line: bytes) -> bytes:
    return line.split(b",", 1)[0]


@dataclass(frozen=True)
class Plan:
    """Where a new version of one model goes in a ledger, and its number."""

    lines: list[bytes]
    header: list[str]
    at: int
    next_version: int

    def insert(self, rec: VersionRecord) -> bytes | None:
        """The ledger bytes with ``rec``'s row in place, or None if the columns would change."""
        if not set(columns([rec])) <= set(self.header):
            return None
        cells = row(rec, self.header)
        if any("\n" in cell or "\r" in cell for cell in cells):
            return None
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(cells)
        new = buf.getvalue().encode("utf-8")
        return b"".join([b"\n".join(self.lines[: self.at]), b"\n", new, *self._rest()])

    def _rest(self) -> list[bytes]:
        if self.at >= len(self.lines):
            return []
        return [b"\n".join(self.lines[self.at :]), b"\n"]


def plan(ledger: bytes, model: str) -> Plan | None:
    """Plan the row of a new version of ``model`` in ``ledger`` (the exact view of the events).

    Returns None unless every row sits on one line (no cell holds a line break),
    so that lines and rows are the same thing.
    """
    if not ledger.endswith(b"\n") or b"\r" in ledger:
        return None
    lines = ledger[:-1].split(b"\n")
    if b'"' in ledger and any(line.count(b'"') % 2 for line in lines):
        return None
    header = next(csv.reader([lines[0].decode("utf-8")]))
    if header[:2] != ["model", "version"]:
        return None
    key = model.encode("utf-8")
    at = bisect.bisect_right(lines, key, lo=1, key=_model_of)
    next_version = 1
    if at > 1 and _model_of(lines[at - 1]) == key:
        last = lines[at - 1].split(b",", 2)[1]
        if not last.isdigit():
            return None
        next_version = int(last) + 1
    return Plan(lines, header, at, next_version)
