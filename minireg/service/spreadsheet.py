"""The ledger as files for people: a format switch's new settings, CSV and workbook exports.

``Registry.convert`` writes the new ledger, sets ``format`` in ``minireg.toml``
(the one line, comments kept, see :func:`new_settings`) and removes the old
ledger, all under the registry lock. The exports write a file outside the
registry.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from pathlib import Path

from minireg.domain.config import Config, parse_config
from minireg.domain.ledger import render_csv, table
from minireg.domain.records import Event, VersionRecord
from minireg.errors import InvalidInput
from minireg.storage.atomic import atomic_write
from minireg.storage.files import CONFIG_NAME

FORMATS = ("csv", "xlsx")
# OWASP CSV injection: a cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMERIC_COLUMNS = ("version", "artifact_bytes")
_FORMAT_LINE = re.compile(r"""^([ \t]*format[ \t]*=[ \t]*)("[^"\n]*"|'[^'\n]*')""", re.MULTILINE)


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


def new_settings(text: str, to: str, root: Path) -> tuple[str, str, str, Config]:
    """The ``minireg.toml`` text switched to format ``to``: (old format, new format, new text,
    its checked settings). Checked before anything is written.

    Raises:
        InvalidInput: an unknown format, or settings that cannot be updated.
    """
    fmt = to.strip().lower()
    if fmt not in FORMATS:
        raise InvalidInput(f"Format {to!r} is not known; use --to csv or --to xlsx.")
    config_path = root / CONFIG_NAME
    old_format = str(_parse_toml(text).get("format", "csv"))
    new_text = set_format_line(text, fmt)
    try:
        config = parse_config(_parse_toml(new_text))
    except Exception as exc:  # any settings error: the edit is refused as a whole
        raise InvalidInput(
            f"{config_path} could not be updated to format {fmt!r} ({exc}); edit it by hand."
        ) from exc
    if config.format != fmt:
        raise InvalidInput(f"{config_path} could not be updated; set format = {fmt!r} by hand.")
    return old_format, fmt, new_text, config


def check_out_path(registry_root: Path, out: Path) -> None:
    """Refuse (InvalidInput) an output file inside the registry, a folder, or in no folder."""
    target = out.resolve()
    root = registry_root.resolve()
    if target == root or root in target.parents:
        raise InvalidInput(
            f"{out} is inside the registry; export to a path outside {registry_root}."
        )
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


def csv_bytes(records: list[VersionRecord], excel: bool = False) -> bytes:
    """The ledger as CSV bytes: the ledger's own bytes, or with ``excel`` a copy safe for Excel.

    The Excel copy has formula-like cells quoted (see :func:`excel_safe`) and a
    UTF-8 byte order mark, so Excel reads accents and symbols right.
    """
    if not excel:
        return render_csv(records)
    cols, rows = table(records)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([excel_safe("", c) for c in cols])
    for row in rows:
        writer.writerow([excel_safe(c, v) for c, v in zip(cols, row)])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def write_csv(registry_root: Path, records: list[VersionRecord], out: Path, excel: bool) -> int:
    """Write the ledger as CSV to ``out`` (outside the registry); return the number of versions."""
    check_out_path(registry_root, out)
    atomic_write(out, csv_bytes(records, excel))
    return len(records)


def write_xlsx(
    registry_root: Path, records: list[VersionRecord], events: list[Event], out: Path
) -> int:
    """Write the ledger workbook (ledger and audit sheets) to ``out``; return the version count."""
    from minireg.adapters.xlsx import workbook_bytes

    check_out_path(registry_root, out)
    atomic_write(out, workbook_bytes(records, events))
    return len(records)
