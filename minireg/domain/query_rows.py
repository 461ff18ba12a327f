"""The rows of ``list --where/--sort/--columns`` from version records, without pandas.

What ``minireg.adapters.query.list_with_pandas`` shows (the same columns, the same
rows in the same order, the same plain cells) for the queries
:mod:`minireg.domain.where` compiles, computed from the records themselves: the
columns a query filters on are read for every version, the others only for
the rows shown. Anything else raises :class:`~minireg.domain.where.Unsupported`,
and pandas decides.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Collection, Sequence
from itertools import compress
from operator import attrgetter, methodcaller
from typing import Any

from minireg.domain.ledger import FIXED_COLUMNS, cell, column_values
from minireg.domain.records import VersionRecord
from minireg.domain.state import State
from minireg.domain.where import (
    EXACT,
    Unsupported,
    column_list,
    compile_where,
    default_columns,
    kind,
    quote_columns,
)
from minireg.errors import InvalidInput


def list_rows(
    state: State,
    model: str | None = None,
    where: str | None = None,
    sort: str | None = None,
    columns: str | None = None,
    all_columns: bool = False,
) -> tuple[list[str], list[dict[str, Any]]]:
    """``list_with_pandas`` of the versions of ``state``, without pandas, for the
    queries :mod:`minireg.domain.where` evaluates exactly as pandas does.

    Only the columns the query names are read for every version; the rest only for
    the rows shown. Metric names are always gathered (the table shows every metric),
    param and tag names only when the query names one or every column is shown.

    Raises:
        Unsupported: anything else, errors included (no model, a bad expression, an
            unknown column): pandas decides.
    """
    table = Columns(_all_records(state))
    asked = " ".join(text for text in (where, sort, columns) if text)
    every = all_columns and not columns
    names = table.names({"metric", *(k for k in ("param", "tag") if every or f"{k}." in asked)})
    mask = _mask(table, names, model, where)
    picked = table.records if mask is None else list(compress(table.records, mask))
    picked.sort(key=attrgetter("model", "version"))  # the ledger's order
    if sort:
        keys = _known(sort, names, "--sort")
        order = sort_order(
            [(sort_values(picked, k.lstrip("-")), not k.startswith("-")) for k in keys]
        )
        picked = [picked[at] for at in order]
    if columns:
        shown = _known(columns, names, "--columns")
    else:
        shown = names if every else default_columns(names)
    cells = [shown_values(picked, col) for col in shown]
    return shown, [dict(zip(shown, row)) for row in zip(*cells)]


def _all_records(state: State) -> list[VersionRecord]:
    """Every version of ``state``, in no particular order (the fold's, the cache's)."""
    versions = state.versions
    loaded = versions.in_memory()
    if len(loaded) == len(versions):  # after a fold: no sort, no lookups
        return list(loaded.values())
    return versions.many(list(versions))


def _mask(
    table: Columns, names: list[str], model: str | None, where: str | None
) -> list[bool] | None:
    """Which versions belong to ``model`` and pass ``where`` (None: all of them)."""
    mask = None
    if model is not None:
        mask = list(map(model.__eq__, filter_values("model", table.values("model"))))
        if not any(mask):
            raise Unsupported("no such model")  # pandas raises NotFound
    if where is None or not where.strip():
        return mask
    try:
        expression = quote_columns(where, names)
    except InvalidInput as exc:
        raise Unsupported(str(exc)) from exc
    condition = compile_where(expression, names)
    passed = condition({col: filter_values(col, table.values(col)) for col in condition.columns})
    return passed if mask is None else list(map(operator.and_, mask, passed))


def _known(text: str, names: list[str], option: str) -> list[str]:
    try:
        return column_list(text, names, option)
    except InvalidInput as exc:
        raise Unsupported(str(exc)) from exc


class Columns:
    """The columns of every version, each read once: a query filters 100,000 versions
    on a column or two, and the table names every metric."""

    def __init__(self, records: list[VersionRecord]) -> None:
        self.records = records
        self._dicts: dict[str, list[dict[str, Any]]] = {}

    def names(self, kinds: Collection[str]) -> list[str]:
        """The ledger's columns, with the names of only ``kinds`` ("metric", "param",
        "tag"): :func:`~minireg.domain.ledger.columns` without those a query does not need."""
        cols = list(FIXED_COLUMNS)
        for name in ("metric", "param", "tag"):
            if name in kinds:
                found: set[str] = set().union(*self._of(name))
                cols.extend(f"{name}.{key}" for key in sorted(found))
        return cols

    def values(self, col: str) -> list[Any]:
        """:func:`~minireg.domain.ledger.column_values` of every version."""
        kind_, _, name = col.partition(".")
        if kind_ in ("metric", "param", "tag") and name:
            return list(map(methodcaller("get", name), self._of(kind_)))
        return column_values(self.records, col)

    def _of(self, kind_: str) -> list[dict[str, Any]]:
        # The dicts first, then their values: twice as fast as both in one pass.
        if kind_ not in self._dicts:
            self._dicts[kind_] = list(map(attrgetter(f"{kind_}s"), self.records))
        return self._dicts[kind_]


# -- the values ---------------------------------------------------------------------


def filter_values(col: str, values: list[Any]) -> list[Any]:
    """The ``values`` of column ``col`` (from :func:`~minireg.domain.ledger.column_values`)
    as a condition compares them, as pandas holds them: a missing metric is NaN, text
    is the ledger's cell text.

    Raises:
        Unsupported: a value pandas would read another way (a metric that is not a
            number, a version or size that is not an integer, a date, ``git_dirty``).
    """
    col_kind = kind(col)
    if col_kind == "text":
        return values if set(map(type, values)) <= {str} else list(map(cell, values))
    if col_kind == "float":
        return _floats(values)
    if col_kind == "int" and _integers(values):
        return values
    raise Unsupported(f"the values of {col} are not read here as pandas reads them")


def _floats(values: list[Any]) -> list[float]:
    """The float64 column pandas makes of metric values (None, a missing metric, is NaN)."""
    types = set(map(type, values))
    if types <= {float}:
        return values
    if not types <= {float, int, type(None)}:
        raise Unsupported("a metric that is not a number")  # pandas reads "true" as NaN
    if any(type(v) is int and not -EXACT <= v <= EXACT for v in values):
        raise Unsupported("a metric integer beyond 2**53")
    return [math.nan if v is None else float(v) for v in values]


def _integers(values: list[Any]) -> bool:
    """True when pandas holds ``values`` as int64 that compare with floats exactly."""
    if not set(map(type, values)) <= {int}:  # None makes a nullable Int64 column
        return False
    return not values or (min(values) >= -EXACT and max(values) <= EXACT)


def sort_order(keys: Sequence[tuple[Sequence[Any], bool]]) -> list[int]:
    """The order ``DataFrame.sort_values(..., na_position="last", kind="stable")`` gives.

    Each key is the values of one column (None for NaN/NaT) and whether it ascends;
    the first key counts most, equal rows keep their order, missing values go last
    whichever the direction.
    """
    order = list(range(len(keys[0][0]))) if keys else []
    for values, ascending in reversed(keys):
        present = [at for at in order if values[at] is not None]
        missing = [at for at in order if values[at] is None]
        present.sort(key=values.__getitem__, reverse=not ascending)  # stable either way
        order = present + missing
    return order


def sort_values(records: list[VersionRecord], col: str) -> list[Any]:
    """The values ``records`` are sorted on by column ``col`` (None for NaN/NaT)."""
    col_kind = kind(col)
    if col_kind == "date":
        return [_moment(text) for text in column_values(records, col)]
    values = filter_values(col, column_values(records, col))
    if col_kind == "float":
        return [None if math.isnan(v) else v for v in values]
    return values


# -- the cells shown -----------------------------------------------------------------

_MOMENT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|\+00:00)?)?"
)


def _moment(value: object) -> tuple[int, ...] | None:
    """The UTC moment pandas reads from a date cell (``to_datetime(utc=True,
    format="ISO8601")``) as (year, month, day, hour, minute, second, microsecond);
    None for an empty cell.

    Raises:
        Unsupported: a cell in another form (another offset, nanoseconds, a date out
            of the usual range, an invalid date): pandas decides.
    """
    text = cell(value)
    if text == "":
        return None
    found = _MOMENT.fullmatch(text)
    if found is None:
        raise Unsupported(f"date {text!r}")
    year, month, day, hour, minute, second, fraction, _ = found.groups()
    parts = (
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        int((fraction or "0").ljust(6, "0")),
    )
    if not 1900 <= parts[0] <= 2261 or not _valid(parts):
        raise Unsupported(f"date {text!r}")
    return parts


_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid(parts: tuple[int, ...]) -> bool:
    year, month, day, hour, minute, second, _ = parts
    if not (1 <= month <= 12 and 1 <= day <= _DAYS[month - 1]):
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if month == 2 and day == 29 and not leap:
        return False
    return hour < 24 and minute < 60 and second < 60


def _iso(parts: tuple[int, ...] | None) -> str | None:
    """``Timestamp.isoformat()`` with "Z" for UTC, as ``plain`` shows a date cell."""
    if parts is None:
        return None
    year, month, day, hour, minute, second, micro = parts
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    return f"{text}.{micro:06d}Z" if micro else f"{text}Z"


def shown_values(records: list[VersionRecord], col: str) -> list[Any]:
    """The cells of column ``col`` for ``records`` as plain values, as ``records_of``
    gives them from the pandas frame: None for NaN/NaT/NA, ISO text ending in "Z"
    for dates, ints, floats, bools, text.

    Raises:
        Unsupported: a value the pandas path would type another way.
    """
    values = column_values(records, col)
    col_kind = kind(col)
    if col_kind == "text":
        return list(map(cell, values))
    if col_kind == "float":
        return [None if math.isnan(v) else v for v in _floats(values)]
    if col_kind == "date":
        return [_iso(_moment(value)) for value in values]
    if col_kind == "bool":
        flags = {"true": True, "false": False}
        return [flags.get(cell(value)) for value in values]
    numbers = [v for v in values if type(v) is int]
    if len(numbers) == len(values) and all(-(2**63) <= v < 2**63 for v in numbers):
        return numbers  # what int64 holds
    raise Unsupported(f"the values of {col} are not all integers")
