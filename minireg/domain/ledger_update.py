"""Changing a few rows of a CSV ledger without rendering every row again.

A promotion, an alias, a description or a tag changes the rows of the
versions it names and nothing else; when the columns stay the same, every
other row keeps its bytes. :func:`replace_rows` finds those rows (the ledger
is sorted by model, then version number) and puts the new ones in their
place. The result equals :func:`minireg.domain.ledger.render_csv` of all the
versions, which a property test checks. Anything unusual (a cell spanning
lines, a changed header, a row not found) answers None, and the caller
renders the whole ledger.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from minireg.domain.ledger import row
from minireg.domain.ledger_rows import Bytes, Edit, bisect_rows, edited, row_end, rows_are_lines
from minireg.domain.records import VersionRecord


def _key(line: bytes) -> tuple[bytes, int]:
    model, _, rest = line.partition(b",")
    number = rest.partition(b",")[0]
    return model, int(number) if number.isdigit() else -1


def _before(wanted: tuple[bytes, int]) -> Callable[[bytes], bool]:
    return lambda line: _key(line) < wanted


def _line(rec: VersionRecord, header: list[str]) -> bytes | None:
    cells = row(rec, header)
    if any("\n" in cell or "\r" in cell for cell in cells):
        return None
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    return buf.getvalue().encode("utf-8")


def replace_rows(
    ledger: bytes, changed: list[VersionRecord], columns: list[str], rows: int | None = None
) -> bytes | None:
    """``ledger`` (the exact view before the change) with the rows of ``changed`` replaced.

    ``columns`` are the columns of every version after the change; None when
    they differ from the ledger's header or a row cannot be placed safely.
    ``rows``, the number of versions, makes the check that rows are lines one
    count (see :func:`~minireg.domain.ledger_rows.rows_are_lines`).
    """
    spans = row_spans(ledger, changed, columns, rows)
    return None if spans is None else edited(ledger, spans)


def row_spans(
    ledger: Bytes,
    changed: list[VersionRecord],
    columns: list[str],
    rows: int | None = None,
    known: bool = False,
) -> list[Edit] | None:
    """What :func:`replace_rows` does, as (start, end, new row) in order: the bytes of
    ``ledger`` from start to end make way for the new row; None as there. ``known``:
    the rows are lines, as the ledger stamp says (see :func:`rows_are_lines`)."""
    if not rows_are_lines(ledger, rows, known):
        return None
    header = next(csv.reader([ledger[: ledger.find(b"\n")].decode("utf-8")]), [])
    if header != columns:
        return None
    spans: dict[int, tuple[int, bytes]] = {}
    for rec in changed:
        wanted = (rec.model.encode("utf-8"), rec.version)
        # Rows are sorted by model, then version: a binary search reads a few of them.
        start = bisect_rows(ledger, _before(wanted))
        end = row_end(ledger, start)
        new = _line(rec, header)
        if start >= len(ledger) or _key(ledger[start:end]) != wanted or new is None:
            return None
        spans[start] = (end, new)
    return [(start, *spans[start]) for start in sorted(spans)]
