"""The ledger view: columns and cell text for each version, and a comparison for verify."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from operator import attrgetter, methodcaller

from minireg.domain.records import VersionRecord

FIXED_COLUMNS = (
    "model",
    "version",
    "stage",
    "aliases",
    "created_at",
    "registered_by",
    "git_commit",
    "git_branch",
    "git_dirty",
    "training_date",
    "data_sha256",
    "artifact",
    "artifact_sha256",
    "artifact_bytes",
    "flavor",
    "requirements_sha256",
    "description",
    "approved_by",
    "approved_at",
)


def columns(records: Iterable[VersionRecord]) -> list[str]:
    """Fixed columns, then ``metric.*``, ``param.*`` and ``tag.*`` sorted by name."""
    metrics: set[str] = set()
    params: set[str] = set()
    tags: set[str] = set()
    # One pass, each record read once (100,000 records lie far apart in memory).
    for rec in records:
        metrics.update(rec.metrics)
        params.update(rec.params)
        tags.update(rec.tags)
    return [
        *FIXED_COLUMNS,
        *(f"metric.{name}" for name in sorted(metrics)),
        *(f"param.{name}" for name in sorted(params)),
        *(f"tag.{name}" for name in sorted(tags)),
    ]


def cell(value: object) -> str:
    """The text of one ledger cell: booleans as true/false, floats that round-trip."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def row(rec: VersionRecord, cols: list[str]) -> list[str]:
    """The cells of ``rec`` under ``cols``."""
    out: list[str] = []
    for col in cols:
        kind, _, name = col.partition(".")
        if kind == "metric" and name:
            out.append(cell(rec.metrics.get(name)))
        elif kind == "param" and name:
            out.append(cell(rec.params.get(name)))
        elif kind == "tag" and name:
            out.append(cell(rec.tags.get(name)))
        elif col == "aliases":
            out.append(";".join(rec.aliases))
        else:
            out.append(cell(getattr(rec, col)))
    return out


def column_cells(records: list[VersionRecord], cols: list[str]) -> list[list[str]]:
    """The cells of ``records`` column by column: what :func:`row` gives, transposed, with
    the loops in C rather than once per cell (100,000 versions render in a fraction of
    a second)."""
    return [_texts(column_values(records, col)) for col in cols]


def column_values(records: list[VersionRecord], col: str) -> list[object]:
    """The values of ``records`` under column ``col``, before :func:`cell` makes them text
    (None where a version has no such metric, param or tag)."""
    kind, _, name = col.partition(".")
    if kind in ("metric", "param", "tag") and name:
        dicts = map(attrgetter(f"{kind}s"), records)
        return list(map(methodcaller("get", name), dicts))
    if col == "aliases":
        return list(map(";".join, map(attrgetter("aliases"), records)))
    return list(map(attrgetter(col), records))


def _texts(values: list[object]) -> list[str]:
    """:func:`cell` of each value, by the quickest route the values' types allow."""
    types = set(map(type, values))
    if types <= {str}:
        return values  # type: ignore[return-value]  # every value is text already
    if types <= {float}:
        return list(map(repr, values))
    if types <= {int}:  # bool is a type of its own here, and cell writes it as true/false
        return list(map(str, values))
    return list(map(cell, values))


def table(records: list[VersionRecord]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the ledger for ``records`` (already in ledger order)."""
    cols = columns(records)
    return cols, [row(rec, cols) for rec in records]


def _quoted(cells: list[str]) -> list[str] | None:
    """A column's cells as the csv module writes them (a cell holding a comma, a quote or a
    line break in quotes, its quotes doubled); None if one holds a carriage return."""
    text = "".join(cells)
    if "\r" in text:
        return None
    if "," not in text and '"' not in text and "\n" not in text:
        return cells
    return [
        '"' + v.replace('"', '""') + '"' if ("," in v or '"' in v or "\n" in v) else v
        for v in cells
    ]


def render_csv(records: list[VersionRecord]) -> bytes:
    """The exact bytes of ``ledger.csv``: UTF-8, no BOM, LF line ends, minimal quoting.

    A cell holding a carriage return is quoted like one holding a newline, so
    that no reader (a spreadsheet, ``csv``, pandas) takes it for the end of a row.
    """
    cols = columns(records)
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(cols)
    quoted = [_quoted(cells) for cells in column_cells(records, cols)]
    if all(q is not None for q in quoted):
        buf.writelines(f"{line}\n" for line in map(",".join, zip(*quoted)))
        return buf.getvalue().encode("utf-8")
    cols, rows = table(records)
    # The csv module quotes only the characters of its line terminator: write
    # each row with CRLF (so CR and LF are quoted) and end it with LF instead.
    one = io.StringIO()
    crlf = csv.writer(one, lineterminator="\r\n")
    for cells in rows:
        one.seek(0)
        one.truncate()
        crlf.writerow(cells)
        buf.write(one.getvalue()[:-2] + "\n")
    return buf.getvalue().encode("utf-8")


def _moved(have: list[str], want: list[str]) -> list[str]:
    """The fewest columns whose moving explains the order ``have`` (those off the LCS)."""
    lengths = [[0] * (len(want) + 1) for _ in range(len(have) + 1)]
    for i in range(len(have) - 1, -1, -1):
        for j in range(len(want) - 1, -1, -1):
            lengths[i][j] = (
                lengths[i + 1][j + 1] + 1
                if have[i] == want[j]
                else max(lengths[i + 1][j], lengths[i][j + 1])
            )
    kept: set[str] = set()
    i = j = 0
    while i < len(have) and j < len(want):
        if have[i] == want[j]:
            kept.add(have[i])
            i, j = i + 1, j + 1
        elif lengths[i + 1][j] >= lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    return [col for col in have if col not in kept]


def _encoding_problems(actual: bytes, name: str) -> tuple[bytes, list[str]]:
    """The bytes without a BOM, and what a spreadsheet's re-save did to the encoding."""
    problems: list[str] = []
    if actual.startswith(b"\xef\xbb\xbf"):
        problems.append(f"{name} starts with a UTF-8 byte order mark (re-saved by a spreadsheet?)")
        actual = actual[3:]
    if b"\r\n" in actual:
        problems.append(f"{name} has CRLF line ends; minireg writes LF")
    return actual, problems


def _header_problems(header: list[str], cols: list[str], name: str) -> list[str]:
    if header == cols:
        return []
    if sorted(header) == sorted(cols):
        moved = [
            f"{col} is column {header.index(col) + 1}, not {cols.index(col) + 1}"
            for col in _moved(header, cols)
        ]
        more = f" and {len(moved) - 5} more" if len(moved) > 5 else ""
        return [f"{name} columns are reordered: {'; '.join(moved[:5])}{more}"]
    return missing_and_extra(header, cols, name)


def missing_and_extra(header: Sequence[str], cols: Sequence[str], where: str) -> list[str]:
    """The columns of ``cols`` that ``header`` lacks and those it has beyond them, as problems."""
    missing = [c for c in cols if c not in header]
    extra = [c for c in header if c not in cols]
    problems = []
    if missing:
        problems.append(f"{where} lacks columns: {', '.join(missing)}")
    if extra:
        problems.append(f"{where} has unexpected columns: {', '.join(extra)}")
    return problems


def _row_problems(
    header: list[str], body: list[list[str]], cols: list[str], rows: list[list[str]], name: str
) -> list[str]:
    """Each row and cell that differs, rows missing or doubled, and the row order."""
    problems: list[str] = []
    want_rows = {(r[0], r[1]): dict(zip(cols, r)) for r in rows}
    have_rows: dict[tuple[str, str], dict[str, str]] = {}
    seen: list[tuple[str, str]] = []
    for number, cells in enumerate(body, start=2):
        if not any(c.strip() for c in cells):
            # Spreadsheets often leave rows of empty cells at the end.
            problems.append(f"{name} row {number} is empty")
            continue
        got = dict(zip(header, cells))
        key = (got.get("model", ""), got.get("version", ""))
        seen.append(key)
        if key in have_rows:
            problems.append(f"{name} row {number}: {key[0]} version {key[1]} appears twice")
        have_rows[key] = got
        problems.extend(_cell_problems(got, want_rows.get(key), cols, f"{name} row {number}", key))
    problems.extend(
        f"{name}: {key[0]} version {key[1]} is missing" for key in want_rows if key not in have_rows
    )
    order = [(r[0], r[1]) for r in rows]
    if sorted(seen) == sorted(order) and seen != order:
        problems.append(f"{name} rows are not sorted by model then version")
    return problems


def _cell_problems(
    got: dict[str, str],
    want: dict[str, str] | None,
    cols: list[str],
    where: str,
    key: tuple[str, str],
) -> list[str]:
    if want is None:
        return [f"{where}: {key[0]} version {key[1]} is not in the events"]
    return [
        f"{where} ({key[0]} v{key[1]}), column {col}: {got[col]!r} but the events say {want[col]!r}"
        for col in cols
        if col in got and got[col] != want[col]
    ]


def compare(expected: list[VersionRecord], actual: bytes, name: str = "ledger.csv") -> list[str]:
    """List how the ledger bytes ``actual`` differ from the view of ``expected``.

    Names the encoding problems (BOM, CRLF), header changes, and each row and
    column that differs, so a person can see what a spreadsheet did to the file.
    """
    if actual == render_csv(expected):
        return []
    text_bytes, problems = _encoding_problems(actual, name)
    try:
        text = text_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return [*problems, f"{name} is not valid UTF-8"]
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    if not parsed:
        return [*problems, f"{name} is empty but the events hold {len(expected)} versions"]
    header, body = parsed[0], parsed[1:]
    cols, rows = table(expected)
    problems += _header_problems(header, cols, name)
    problems += _row_problems(header, body, cols, rows, name)
    if not problems:
        problems.append(f"{name} differs from the events in quoting or spacing")
    return problems
