"""The XLSX ledger (openpyxl): the CSV's columns with types, and never a formula.

The workbook has two sheets: ``ledger`` (one row per version, the same
columns as ``ledger.csv``) and ``audit`` (one row per event). Dates are real
date cells (UTC, to the millisecond: Excel keeps no finer), metrics are
numbers, versions and byte counts integers, ``git_dirty`` a boolean.

Every text cell is stored as a string cell (``data_type = "s"``), so a
description such as ``=HYPERLINK(...)`` can never become a formula. Control
characters other than tab, LF and CR cannot live in XML at all; they and CR
(which an XML reader turns into LF) are written with OOXML's ``_xHHHH_``
escape, which Excel decodes; :func:`read_text` decodes it too.

The bytes are deterministic for the same records and events: the workbook's
created/modified times are the last event's time, and every zip entry carries
a fixed date, so ``verify`` can compare bytes first and cells only on a miss.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minireg.domain.ledger import missing_and_extra, table
from minireg.domain.records import Event, VersionRecord
from minireg.errors import InvalidInput

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

LEDGER_SHEET = "ledger"
AUDIT_SHEET = "audit"
DATE_COLUMNS = frozenset({"created_at", "approved_at", "training_date"})
INT_COLUMNS = frozenset({"version", "artifact_bytes"})
BOOL_COLUMNS = frozenset({"git_dirty"})
AUDIT_COLUMNS = (
    "seq",
    "time",
    "actor",
    "action",
    "model",
    "version",
    "change",
    "approver",
    "reason",
    "tool",
    "hash",
)
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
# A zip entry date inside the range every zip reader accepts; fixed so bytes repeat.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_FIXED_CREATED = datetime(2000, 1, 1)
_WIDTH_MIN, _WIDTH_MAX = 8, 60
# Characters XML 1.0 cannot hold (and CR, which XML readers turn into LF).
_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x0d\x0e-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
# Text that cannot go into <t> as it is: XML specials, escapes, edge whitespace.
_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_|^\s|\s$")
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")


def escape_text(text: str) -> str:
    """Text as it goes into a string cell: OOXML ``_xHHHH_`` for what XML cannot hold.

    A literal ``_xHHHH_`` in the text gets its underscore escaped (``_x005F_``),
    as the OOXML spec says, so decoding gives the original back.
    """

    def sub(match: re.Match[str]) -> str:
        found = match.group(0)
        if len(found) == 1:
            return f"_x{ord(found):04X}_"
        return "_x005F_" + found[1:]

    return _NEEDS_ESCAPE.sub(sub, text)


def read_text(text: str) -> str:
    """The original text of a string cell read back from a workbook (undoes :func:`escape_text`)."""
    if "_x" not in text:
        return text
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def to_excel_time(text: str) -> datetime | str:
    """An ISO time from the ledger as a naive UTC datetime to the millisecond (else the text)."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def typed_value(column: str, text: str) -> Any:
    """The typed cell value for ledger ``column`` whose CSV text is ``text`` (None for empty)."""
    if text == "":
        return None
    if column in DATE_COLUMNS:
        return to_excel_time(text)
    if column in INT_COLUMNS:
        return int(text) if text.lstrip("-").isdigit() else text
    if column in BOOL_COLUMNS:
        return {"true": True, "false": False}.get(text, text)
    if column.startswith("metric."):
        try:
            return float(text)
        except ValueError:
            return text
    return text


def ledger_rows(records: list[VersionRecord]) -> tuple[list[str], list[list[Any]]]:
    """Header and typed rows of the ledger sheet (the CSV's cells, typed)."""
    cols, rows = table(records)
    return cols, [[typed_value(c, v) for c, v in zip(cols, row)] for row in rows]


def audit_rows(events: list[Event]) -> list[list[Any]]:
    """Typed rows of the audit sheet, one per event."""
    out: list[list[Any]] = []
    for e in events:
        change = json.dumps(e.data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        out.append(
            [
                e.seq,
                to_excel_time(e.time),
                e.actor,
                e.action,
                e.model,
                e.version,
                change,
                e.approver or None,
                e.reason or None,
                e.tool,
                e.hash,
            ]
        )
    return out


def _width(header: str, values: Iterator[Any]) -> float:
    longest = len(header) + 2  # room for the autofilter button
    for value in values:
        if isinstance(value, datetime):
            size = 19
        elif isinstance(value, str):
            size = len(value)
        elif value is None:
            continue
        else:
            size = len(str(value))
        longest = max(longest, size)
    return float(min(max(longest + 1, _WIDTH_MIN), _WIDTH_MAX))


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def rows_xml(rows: list[list[Any]], date_style: int, first_row: int = 2) -> str:
    """The ``<row>`` elements of a sheet's data, written directly (openpyxl's writer is slow).

    Only four kinds of cell are ever written: inline strings (never ``<f>``),
    numbers, booleans and dates (numbers with the date style). Empty cells are left out.
    """
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.datetime import to_excel

    width = max((len(r) for r in rows), default=0)
    letters = [get_column_letter(i + 1) for i in range(width)]
    out: list[str] = []
    append = out.append
    for number, row in enumerate(rows, start=first_row):
        append(f'<row r="{number}">')
        for letter, value in zip(letters, row):
            kind = type(value)
            if value is None:
                continue
            if kind is str and not _SPECIAL.search(value):
                append(f'<c r="{letter}{number}" t="inlineStr"><is><t>{value}</t></is></c>')
            elif kind is float or kind is int:
                append(f'<c r="{letter}{number}" t="n"><v>{value!r}</v></c>')
            elif kind is bool:
                append(f'<c r="{letter}{number}" t="b"><v>{int(value)}</v></c>')
            elif kind is datetime:
                serial = to_excel(value)
                append(f'<c r="{letter}{number}" s="{date_style}" t="n"><v>{serial!r}</v></c>')
            else:
                # Text that needs escaping (or, never from ledger_rows/audit_rows, another type).
                text = _xml_text(escape_text(str(value)))
                space = ' xml:space="preserve"' if text != text.strip() else ""
                append(f'<c r="{letter}{number}" t="inlineStr"><is><t{space}>{text}</t></is></c>')
        append("</row>")
    return "".join(out)


def _prepare_sheet(ws: WriteOnlyWorksheet, header: Sequence[str], rows: list[list[Any]]) -> int:
    """Bold frozen header, autofilter and widths through openpyxl; return the date style id."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    last = get_column_letter(max(len(header), 1))
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
    # Widths from a sample keep a 100,000-row write from scanning every cell twice.
    sample = rows[:2000]
    for index, name in enumerate(header):
        letter = get_column_letter(index + 1)
        ws.column_dimensions[letter].width = _width(name, (r[index] for r in sample))
    bold = Font(bold=True)
    head = []
    for name in header:
        cell = WriteOnlyCell(ws, value=None)
        cell._value = escape_text(name)
        cell.data_type = "s"
        cell.font = bold
        head.append(cell)
    ws.append(head)
    probe = WriteOnlyCell(ws, value=None)
    probe.number_format = DATE_FORMAT
    return int(probe.style_id)


class _FixedDateZip(zipfile.ZipFile):
    """A zip whose entries all carry one fixed date, so the same content gives the same bytes.

    ``rows`` maps a worksheet's name in the zip to the row XML to put at the
    end of its ``sheetData`` (after the header openpyxl wrote).
    """

    rows: dict[str, str]

    def writestr(  # type: ignore[override]
        self, zinfo_or_arcname: str | zipfile.ZipInfo, data: bytes | str, *args: Any, **kw: Any
    ) -> None:
        name = (
            zinfo_or_arcname.filename
            if isinstance(zinfo_or_arcname, zipfile.ZipInfo)
            else zinfo_or_arcname
        )
        extra = getattr(self, "rows", {}).pop(name, None)
        if extra is not None:
            raw = data.encode("utf-8") if isinstance(data, str) else data
            head, tail = raw.rsplit(b"</sheetData>", 1)
            data = head + extra.encode("utf-8") + b"</sheetData>" + tail
        info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        super().writestr(info, data)

    def write(  # type: ignore[override]
        self, filename: str | Path, arcname: str | None = None, *args: Any, **kw: Any
    ) -> None:
        self.writestr(arcname or str(filename), Path(filename).read_bytes())


def workbook_bytes(records: list[VersionRecord], events: list[Event]) -> bytes:
    """The bytes of ``ledger.xlsx`` for ``records`` with the audit trail on a second sheet.

    The same records and events give the same bytes.
    """
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    wb = Workbook(write_only=True)
    stamp = to_excel_time(events[-1].time) if events else _FIXED_CREATED
    moment = stamp if isinstance(stamp, datetime) else _FIXED_CREATED
    wb.properties.created = moment
    wb.properties.modified = moment
    wb.properties.creator = "minireg"
    wb.properties.title = "minireg ledger"
    cols, rows = ledger_rows(records)
    audit = audit_rows(events)
    ledger_style = _prepare_sheet(wb.create_sheet(LEDGER_SHEET), cols, rows)
    audit_style = _prepare_sheet(wb.create_sheet(AUDIT_SHEET), AUDIT_COLUMNS, audit)
    buf = io.BytesIO()
    with _FixedDateZip(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        archive.rows = {
            "xl/worksheets/sheet1.xml": rows_xml(rows, ledger_style),
            "xl/worksheets/sheet2.xml": rows_xml(audit, audit_style),
        }
        ExcelWriter(wb, archive).save()
        if archive.rows:
            raise AssertionError(f"openpyxl wrote no sheet named {sorted(archive.rows)}")
    return buf.getvalue()


def _same(got: Any, want: Any) -> bool:
    if isinstance(got, str) and isinstance(want, str):
        return got == want
    if isinstance(want, bool) or isinstance(got, bool):
        return got is want
    if isinstance(want, (int, float)) and isinstance(got, (int, float)):
        # Excel keeps 15 significant digits: a re-saved metric may lose the 16th and 17th.
        return math.isclose(float(got), float(want), rel_tol=1e-14, abs_tol=0.0)
    return bool(got == want)


def _show(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return repr(value)


def read_sheet(data: bytes, sheet: str) -> tuple[list[str], list[list[Any]]]:
    """Header and rows of one sheet of workbook bytes (strings decoded); raises InvalidInput."""
    header, rows = _read_sheets(data, name="workbook")[sheet]
    return header, rows


def _read_sheets(data: bytes, name: str) -> dict[str, tuple[list[str], list[list[Any]]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises zip, XML and key errors alike
        raise InvalidInput(f"{name} is not a readable workbook ({type(exc).__name__}).") from exc
    try:
        out: dict[str, tuple[list[str], list[list[Any]]]] = {}
        for ws in wb.worksheets:
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            head = ["" if v is None else read_text(str(v)) for v in (rows[0] if rows else [])]
            body = [[read_text(v) if isinstance(v, str) else v for v in r] for r in rows[1:]]
            # A row can end early when its last cells are empty: pad it so they compare.
            for cells in body:
                cells.extend([None] * (len(head) - len(cells)))
            out[ws.title] = (head, body)
        return out
    finally:
        wb.close()


def _sheet_header_problems(
    name: str, sheet: str, cols: Sequence[str], header: list[str]
) -> list[str]:
    if header == list(cols):
        return []
    if sorted(header) == sorted(cols):
        return [f"{name} sheet {sheet}: columns are reordered; expected {', '.join(cols)}"]
    return missing_and_extra(header, cols, f"{name} sheet {sheet}")


def _text_key(values: Sequence[Any]) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in values)


def _compare_sheet(
    name: str,
    sheet: str,
    cols: Sequence[str],
    want: list[list[Any]],
    header: list[str],
    body: list[list[Any]],
    key_cols: Sequence[str],
) -> list[str]:
    while header and header[-1] == "":
        header.pop()
    problems = _sheet_header_problems(name, sheet, cols, header)
    index = [cols.index(k) for k in key_cols]
    wanted = {_text_key([r[i] for i in index]): dict(zip(cols, r)) for r in want}
    seen: set[tuple[str, ...]] = set()
    for number, cells in enumerate(body, start=2):
        if all(v is None for v in cells):
            continue
        got = dict(zip(header, cells))
        key = _text_key([got.get(k) for k in key_cols])
        where, label = f"{name} sheet {sheet} row {number}", " ".join(key)
        if key in seen:
            problems.append(f"{where}: {label} appears twice")
            continue
        seen.add(key)
        expected = wanted.get(key)
        if expected is None:
            problems.append(f"{where}: {label} is not in the events")
            continue
        problems.extend(
            f"{where} ({label}), column {col}: "
            f"{_show(got[col])} but the events say {_show(expected[col])}"
            for col in cols
            if col in got and not _same(got[col], expected[col])
        )
    problems.extend(
        f"{name} sheet {sheet}: {' '.join(key)} is missing" for key in wanted if key not in seen
    )
    return problems


def compare_workbook(
    records: list[VersionRecord], events: list[Event], data: bytes, name: str = "ledger.xlsx"
) -> list[str]:
    """How the workbook bytes ``data`` differ from the view of ``records`` and ``events``.

    Names each sheet, row and column that differs; a workbook whose cells all
    agree but whose bytes do not (re-saved by a spreadsheet) gets one line.
    """
    if data == workbook_bytes(records, events):
        return []
    try:
        sheets = _read_sheets(data, name)
    except InvalidInput as exc:
        return [exc.message.rstrip(".")]
    problems: list[str] = []
    cols, rows = ledger_rows(records)
    for sheet, want_cols, want_rows, keys in (
        (LEDGER_SHEET, cols, rows, ("model", "version")),
        (AUDIT_SHEET, list(AUDIT_COLUMNS), audit_rows(events), ("seq",)),
    ):
        if sheet not in sheets:
            problems.append(f"{name} has no sheet named {sheet}")
            continue
        header, body = sheets[sheet]
        problems.extend(_compare_sheet(name, sheet, want_cols, want_rows, header, body, keys))
    if not problems:
        problems.append(
            f"{name} holds the right cells but not the bytes minireg writes "
            "(re-saved by a spreadsheet, or its formatting changed)"
        )
    return problems
