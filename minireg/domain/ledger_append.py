"""Adding new versions to a CSV ledger without rendering every row again.

A new version of a model is always that model's highest, so its row goes
right after the model's last row, and when it brings no new column every
other row keeps its bytes. :func:`plan` finds the place and the number of one
new version; :func:`insert_rows` says where the rows of many (a batch of
registrations, several models at once) go, as edits of the old ledger. The result equals
:func:`minireg.domain.ledger.render_csv` of all the versions, which the tests
check (a property test for batches). Anything unusual (a cell spanning lines,
a new column, a number that is not the model's next) answers None, and the
caller renders the whole ledger as before.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from minireg.domain.ledger import columns, row
from minireg.domain.ledger_rows import Bytes, Edit, bisect_rows, rows_are_lines
from minireg.domain.records import VersionRecord


def _model_of(line: bytes) -> bytes:
    return line.split(b",", 1)[0]


def model_span(ledger: Bytes, model: str) -> tuple[int, int]:
    """Where the rows of ``model`` are in ``ledger`` (sorted by model): ``ledger[lo:hi]``."""
    key = model.encode("utf-8")
    lo = bisect_rows(ledger, lambda line: _model_of(line) < key)
    return lo, bisect_rows(ledger, lambda line: _model_of(line) <= key)


def header_of(ledger: Bytes, rows: int | None = None, known: bool = False) -> list[str] | None:
    """The ledger's header when every row sits on one line (see :func:`rows_are_lines`),
    else None (so are a ledger that is not minireg's and an empty one)."""
    if not rows_are_lines(ledger, rows, known):
        return None
    first = ledger[: ledger.find(b"\n")].decode("utf-8")
    header = next(csv.reader([first]), [])
    return header if header[:2] == ["model", "version"] else None


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
        return _rows([rec], self.header)

    def insert(self, rec: VersionRecord) -> bytes | None:
        """The ledger bytes with ``rec``'s row in place, or None if the columns would change."""
        new = self.row(rec)
        if new is None:
            return None
        return b"".join([self.ledger[: self.offset], new, self.ledger[self.offset :]])


def _place(ledger: Bytes, model: str) -> tuple[int, int] | None:
    """The offset a new row of ``model`` goes at and the number it gets (None: the
    model's last version is not a number)."""
    key = model.encode("utf-8")
    at = bisect_rows(ledger, lambda line: _model_of(line) <= key)
    next_version = 1
    previous = ledger[ledger.rfind(b"\n", 0, at - 1) + 1 : at - 1]
    if previous and ledger.find(b"\n") < at - 1 and _model_of(previous) == key:
        last = previous.split(b",", 2)[1]
        if not last.isdigit():
            return None
        next_version = int(last) + 1
    return at, next_version


def plan(ledger: bytes, model: str, rows: int | None = None) -> Plan | None:
    """Plan the row of a new version of ``model`` in ``ledger`` (the exact view of the events).

    Returns None unless every row sits on one line (no cell holds a line break),
    so that lines and rows are the same thing. ``rows``, the number of versions
    the ledger shows, makes that check one count (see :func:`rows_are_lines`).
    """
    header = header_of(ledger, rows)
    placed = None if header is None else _place(ledger, model)
    if header is None or placed is None:
        return None
    return Plan(ledger, header, *placed)


def _rows(records: list[VersionRecord], header: list[str]) -> bytes | None:
    """The CSV lines of ``records`` under ``header`` (each ends with a newline), or None
    when they bring a column the header lacks or a cell holds a line break."""
    if not set(columns(records)) <= set(header):
        return None
    rows = [row(rec, header) for rec in records]
    if any("\n" in cell or "\r" in cell for cells in rows for cell in cells):
        return None
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def insert_rows(
    ledger: Bytes, new: list[VersionRecord], rows: int | None = None, known: bool = False
) -> list[Edit] | None:
    """Where the rows of the new versions go in ``ledger`` (the exact view before ``new``):
    one edit per model, inserting its rows (start == end), in the ledger's order.

    ``new`` are registrations in any order and of any models; each model's must
    be numbered on from the ledger's highest version of it (1, 2, … for a new
    model). ``rows`` is the number of versions ``ledger`` shows, if known;
    ``known``: its rows are lines, as the ledger stamp says (see :func:`rows_are_lines`).
    Returns None, for a full render, when they bring a column the header lacks,
    a cell holds a line break, or the numbers do not follow on.
    """
    header = header_of(ledger, rows, known)
    if header is None:
        return None
    by_model: dict[str, list[VersionRecord]] = {}
    for rec in new:
        by_model.setdefault(rec.model, []).append(rec)
    edits: list[Edit] = []
    for model in sorted(by_model):  # str order is UTF-8 byte order: the ledger's order
        placed = _place(ledger, model)
        records = sorted(by_model[model], key=lambda rec: rec.version)
        if placed is None or [r.version for r in records] != list(
            range(placed[1], placed[1] + len(records))
        ):
            return None
        added = _rows(records, header)
        if added is None:
            return None
        edits.append((placed[0], placed[0], added))
    return edits
