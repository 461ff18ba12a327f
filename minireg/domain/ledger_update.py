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

import bisect
import csv
import io

from minireg.domain.ledger import row
from minireg.domain.records import VersionRecord


def _key(line: bytes) -> tuple[bytes, int]:
    model, _, rest = line.partition(b",")
    number = rest.partition(b",")[0]
    return model, int(number) if number.isdigit() else -1


def _line(rec: VersionRecord, header: list[str]) -> bytes | None:
    cells = row(rec, header)
    if any("\n" in cell or "\r" in cell for cell in cells):
        return None
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(cells)
    return buf.getvalue().encode("utf-8")


def replace_rows(ledger: bytes, changed: list[VersionRecord], columns: list[str]) -> bytes | None:
    """``ledger`` (the exact view before the change) with the rows of ``changed`` replaced.

    ``columns`` are the columns of every version after the change; None when
    they differ from the ledger's header or a row cannot be placed safely.
    """
    if not ledger.endswith(b"\n") or b"\r" in ledger:
        return None
    lines = ledger[:-1].split(b"\n")
    if b'"' in ledger and any(line.count(b'"') % 2 for line in lines):
        return None
    header = next(csv.reader([lines[0].decode("utf-8")]))
    if header != columns:
        return None
    keys = [_key(line) for line in lines[1:]]
    for rec in changed:
        wanted = (rec.model.encode("utf-8"), rec.version)
        at = bisect.bisect_left(keys, wanted)
        new = _line(rec, header)
        if at >= len(keys) or keys[at] != wanted or new is None:
            return None
        lines[at + 1] = new
    return b"\n".join(lines) + b"\n"
