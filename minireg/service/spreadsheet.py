"""Switching a registry's ledger format, and exporting the ledger as a workbook or CSV.

``convert`` writes the new ledger, sets ``format`` in ``minireg.toml`` (the
one line, comments kept) and removes the old ledger, all under the registry
lock. The exports write a file outside the registry for people.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from minireg.domain.config import parse_config
from minireg.domain.ledger import render_csv, table
from minireg.domain.state import fold
from minireg.errors import InvalidInput
from minireg.storage.atomic import atomic_write
from minireg.storage.files import CONFIG_NAME, CSV_NAME, XLSX_NAME

if TYPE_CHECKING:
    from minireg.service.registry import Registry

FORMATS = ("csv", "xlsx")
# OWASP CSV injection: a cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMERIC_COLUMNS = ("version", "artifact_bytes")
_FORMAT_LINE = re.compile(r"""^([ \t]*format[ \t]*=[ \t]*)("[^"\n]*"|'[^'\n]*')""", re.MULTILINE)


@dataclass(frozen=True)
class Conversion:
    """What ``convert`` did."""

    old: str
    new: str
    versions: int
    removed: str = ""

    @property
    def changed(self) -> bool:
        return self.old != self.new or bool(self.removed)


def set_format_line(text: str, fmt: str) -> str:
    """``minireg.toml`` text with ``format`` set to ``fmt``; every other byte (comments too) kept.

    Without a top-level ``format`` line one is added before the first table.
    """
    match = _FORMAT_LINE.search(text)
    first_table = re.search(r"^[ \t]*\[", text, re.MULTILINE)
    if match is not None and (first_table is None or match.start() < first_table.start()):
        return text[: match.start(2)] + f'"{fmt}"' + text[match.end(2) :]
    line = f'format = "{fmt}"\n'
    if first_table is None:
        return text + ("" if text.endswith("\n") or not text else "\n") + line
    return text[: first_table.start()] + line + "\n" + text[first_table.start() :]


def _parse_toml(text: str) -> dict[str, object]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(text)


def convert(reg: Registry, to: str) -> Conversion:
    """Switch ``reg`` to the ``to`` ledger format (csv or xlsx), under the registry lock.

    Order matters for a crash: the new ledger first, then the settings, then
    the old ledger goes; a crash in between leaves both ledgers, which
    ``verify`` names and a second ``convert`` finishes.

    Raises:
        InvalidInput: an unknown format, or a minireg.toml that cannot be updated.
        RegistryBusy: the lock was not acquired in time.
    """
    fmt = to.strip().lower()
    if fmt not in FORMATS:
        raise InvalidInput(f"Format {to!r} is not known; use --to csv or --to xlsx.")
    config_path = reg.root / CONFIG_NAME
    old_name = XLSX_NAME if fmt == "csv" else CSV_NAME
    with reg.storage.lock():
        text = config_path.read_text(encoding="utf-8")
        old_format = str(_parse_toml(text).get("format", "csv"))
        new_text = set_format_line(text, fmt)
        # Check the edited settings before anything is written.
        try:
            config = parse_config(_parse_toml(new_text))
        except Exception as exc:
            raise InvalidInput(
                f"{config_path} could not be updated to format {fmt!r} ({exc}); edit it by hand."
            ) from exc
        if config.format != fmt:
            raise InvalidInput(f"{config_path} could not be updated; set format = {fmt!r} by hand.")
        events = reg.events()
        state = fold(events, reg.config.initial_stage)
        reg.storage.ledger_format = fmt
        reg.config = replace(reg.config, format=fmt)
        reg.storage.write_ledger(state.records(), events)
        if new_text != text:
            atomic_write(config_path, new_text.encode("utf-8"))
        removed = ""
        if (reg.root / old_name).exists():
            (reg.root / old_name).unlink()
            removed = old_name
        if reg.after_write is not None:  # --commit: git commits under the same lock
            reg.after_write([], state.head, f"minireg: convert the ledger to {fmt}")
    return Conversion(old_format, fmt, len(state.versions), removed)


def _check_out(reg: Registry, out: Path) -> None:
    target = out.resolve()
    root = reg.root.resolve()
    if target == root or root in target.parents:
        raise InvalidInput(f"{out} is inside the registry; export to a path outside {reg.root}.")
    if target.is_dir():
        raise InvalidInput(f"{out} is a folder; name the file to write.")
    if not target.parent.is_dir():
        raise InvalidInput(f"The folder of {out} does not exist; create it first.")


def excel_safe(column: str, text: str) -> str:
    """A CSV cell that a spreadsheet will not run: text starting with ``= + - @`` tab or CR
    gets a leading single quote (OWASP). Numbers in numeric columns stay numbers."""
    if not text.startswith(FORMULA_STARTS):
        return text
    if column.startswith("metric.") or column in _NUMERIC_COLUMNS:
        try:
            float(text)
        except ValueError:
            pass
        else:
            return text
    return "'" + text


def csv_bytes(reg: Registry, excel: bool = False) -> bytes:
    """The ledger as CSV bytes: the ledger's own bytes, or with ``excel`` a copy safe for Excel.

    The Excel copy has formula-like cells quoted (see :func:`excel_safe`) and a
    UTF-8 byte order mark, so Excel reads accents and symbols right.
    """
    records = reg.versions()
    if not excel:
        return render_csv(records)
    cols, rows = table(records)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([excel_safe("", c) for c in cols])
    for row in rows:
        writer.writerow([excel_safe(c, v) for c, v in zip(cols, row)])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def export_csv(reg: Registry, out: Path, excel: bool = False) -> int:
    """Write the ledger as CSV to ``out`` (outside the registry); return the number of versions."""
    _check_out(reg, out)
    data = csv_bytes(reg, excel)
    atomic_write(out, data)
    return len(reg.versions())


def export_xlsx(reg: Registry, out: Path) -> int:
    """Write the ledger workbook (ledger and audit sheets) to ``out``; return the version count."""
    from minireg.adapters.xlsx import workbook_bytes

    _check_out(reg, out)
    events = reg.events()
    state = fold(events, reg.config.initial_stage)
    atomic_write(out, workbook_bytes(state.records(), events))
    return len(state.versions)
