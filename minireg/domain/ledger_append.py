"""Adding new versions to a CSV ledger without rendering every row again.

A new version of a model is always that model's highest, so its row goes
right after the model's last row, and when it brings no new column every
other row keeps its bytes. :func:`plan` finds the place and the number of one
new version; :func:`insert_rows` puts the rows of many (a batch of
registrations, several models at once) in place in one pass over the lines.
The result equals :func:`minireg.domain.ledger.render_csv` of all the
versions, which the tests check (a property test for batches). Anything
unusual (a cell spanning lines, a new column, a number that is not the
model's next) answers None, and the caller renders the whole ledger as before.
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


def model_rows(lines: list[bytes], model: str) -> tuple[int, int]:
    """Where the rows of ``model`` are among ``lines`` (sorted by model): ``lines[lo:hi]``."""
    key = model.encode("utf-8")
    lo = bisect.bisect_left(lines, key, lo=1, key=_model_of)
    return lo, bisect.bisect_right(lines, key, lo=lo, key=_model_of)


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


def row_lines(ledger: bytes) -> tuple[list[bytes], list[str]] | None:
    """The ledger's lines (the header first, no final newline) and its header, when rows are
    lines.

    None unless every row sits on one line (no cell holds a line break), so that
    lines and rows are the same thing.
    """
    if not ledger.endswith(b"\n") or b"\r" in ledger:
        return None
    lines = ledger[:-1].split(b"\n")
    if b'"' in ledger and any(line.count(b'"') % 2 for line in lines):
        return None
    header = next(csv.reader([lines[0].decode("utf-8")]))
    if header[:2] != ["model", "version"]:
        return None
    return lines, header


def _place(lines: list[bytes], model: str) -> tuple[int, int] | None:
    """Where a new row of ``model`` goes among ``lines`` and the number it gets."""
    key = model.encode("utf-8")
    at = bisect.bisect_right(lines, key, lo=1, key=_model_of)
    next_version = 1
    if at > 1 and _model_of(lines[at - 1]) == key:
        last = lines[at - 1].split(b",", 2)[1]
        if not last.isdigit():
            return None
        next_version = int(last) + 1
    return at, next_version


def plan(ledger: bytes, model: str) -> Plan | None:
    """Plan the row of a new version of ``model`` in ``ledger`` (the exact view of the events).

    Returns None unless every row sits on one line (no cell holds a line break),
    so that lines and rows are the same thing.
    """
    found = row_lines(ledger)
    if found is None:
        return None
    lines, header = found
    placed = _place(lines, model)
    if placed is None:
        return None
    return Plan(lines, header, *placed)


def _rows(records: list[VersionRecord], header: list[str]) -> bytes | None:
    """The CSV lines of ``records`` under ``header`` (each ends with a newline), or None
    when a cell holds a line break."""
    rows = [row(rec, header) for rec in records]
    if any("\n" in cell or "\r" in cell for cells in rows for cell in cells):
        return None
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def insert_rows(ledger: bytes, new: list[VersionRecord]) -> bytes | None:
    """``ledger`` (the exact view before ``new``) with the rows of the new versions in place.

    ``new`` are registrations in any order and of any models; each model's must
    be numbered on from the ledger's highest version of it (1, 2, … for a new
    model). Returns None, for a full render, when they bring a column the
    header lacks, a cell holds a line break, or the numbers do not follow on.
    """
    found = row_lines(ledger)
    if found is None:
        return None
    lines, header = found
    if not set(columns(new)) <= set(header):
        return None
    by_model: dict[str, list[VersionRecord]] = {}
    for rec in new:
        by_model.setdefault(rec.model, []).append(rec)
    pieces: list[bytes] = []
    done = 0  # lines[:done] are in pieces already
    for model in sorted(by_model):  # str order is UTF-8 byte order: the ledger's order
        placed = _place(lines, model)
        records = sorted(by_model[model], key=lambda rec: rec.version)
        if placed is None or [r.version for r in records] != list(
            range(placed[1], placed[1] + len(records))
        ):
            return None
        rows = _rows(records, header)
        if rows is None:
            return None
        at = placed[0]
        if at > done:
            pieces += [b"\n".join(lines[done:at]), b"\n"]
        pieces.append(rows)
        done = at
    if done < len(lines):
        pieces += [b"\n".join(lines[done:]), b"\n"]
    return b"".join(pieces)
