"""pandas views of a registry and the ``list --where/--sort/--columns`` query.

The only module that imports pandas, and only inside its functions, so
``minireg list`` without a query never loads it.

The versions come from ``ledger.csv`` when the ledger stamp vouches that it
is exactly the view of the current events (pandas' C parser reads 100,000
rows in a fraction of the time a fold of the events takes); otherwise from
the fold. Both paths give the same cells, typed the same way.

From the fold, ``list --where/--sort/--columns`` first tries
:mod:`minireg.domain.where`, which evaluates the common conditions on the records
themselves without importing pandas; anything outside its subset comes here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from minireg.domain.config import Config
from minireg.domain.decisions import no_model
from minireg.domain.ledger import column_cells, column_values, columns
from minireg.domain.query_rows import list_rows
from minireg.domain.records import Event, VersionRecord
from minireg.domain.where import (
    DATE_COLUMNS,
    DEFAULT_COLUMNS,
    INT_COLUMNS,
    Unsupported,
    column_list,
    default_columns,
    quote_columns,
)
from minireg.errors import InvalidInput
from minireg.storage import Storage
from minireg.storage.cache import Folded

if TYPE_CHECKING:
    import pandas as pd

EVENT_COLUMNS = (
    "seq",
    "time",
    "actor",
    "tool",
    "action",
    "model",
    "version",
    "data",
    "approver",
    "reason",
    "prev",
    "hash",
)


def typed_frame(
    cols: list[str],
    rows: list[list[str]] | None = None,
    csv: bytes = b"",
    usecols: list[str] | None = None,
    by_column: list[list[str]] | None = None,
) -> pd.DataFrame:
    """The ledger cells (text, as in ``ledger.csv``) as a typed DataFrame.

    Datetimes in UTC, metrics as floats, versions and byte counts as integers,
    ``git_dirty`` as a nullable boolean; other columns stay text ("" for empty).
    """
    import pandas as pd

    if by_column is not None:
        frame = pd.DataFrame(dict(zip(cols, by_column)), columns=cols, dtype=str)
    elif rows is None:
        frame = pd.read_csv(
            io.BytesIO(csv),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8",
            usecols=usecols,
        )
    else:
        frame = pd.DataFrame(rows, columns=cols, dtype=str)
    for col in INT_COLUMNS:
        if col in frame:
            frame[col] = pd.to_numeric(frame[col].replace("", None), errors="coerce").astype(
                "Int64" if (frame[col] == "").any() else "int64"
            )
    for col in DATE_COLUMNS:
        if col in frame:
            frame[col] = pd.to_datetime(
                frame[col].replace("", None), utc=True, format="ISO8601", errors="coerce"
            )
    if "git_dirty" in frame:
        frame["git_dirty"] = (
            frame["git_dirty"].map({"true": True, "false": False}).astype("boolean")
        )
    for col in frame.columns:
        if str(col).startswith("metric."):
            frame[col] = pd.to_numeric(frame[col].replace("", None), errors="coerce").astype(
                "float64"
            )
    return frame


def versions_frame(storage: Storage, config: Config) -> pd.DataFrame:
    """Every version as a typed DataFrame (see :func:`typed_frame`)."""
    return _load(storage, config)[0]


Widen = Callable[["pd.DataFrame"], "pd.DataFrame"]
"""Adds the columns a frame was built without, for the rows it kept."""


def _load(
    storage: Storage,
    config: Config,
    pick: Callable[[list[str]], list[str]] | None = None,
    first: Callable[[list[str]], list[str]] | None = None,
    read: tuple[Folded, bytes | None] | None = None,
) -> tuple[pd.DataFrame, list[str], Widen]:
    """The versions frame, the ledger's full header, and what widens a narrowed frame.

    ``pick`` chooses, from the header, the columns worth building: only those are
    read from a vouched-for ``ledger.csv`` (several times faster than all of them),
    or made from the folded records when the stamp does not vouch for the ledger
    (a fresh clone has no stamp: ``.cache/`` is not versioned; the next write
    stamps it). There, ``first`` names the columns to build for every version
    (what a query filters and sorts on); the returned function adds the other
    picked columns for the rows left, so 100,000 versions cost a few columns.
    ``read`` is the state and vouched-for ledger (see :func:`_read`) when already read.
    """
    folded, data = read if read is not None else _read(storage, config)
    if data is not None:
        line = data.split(b"\n", 1)[0].decode("utf-8")
        header = next(csv.reader([line]), [])
        usecols = pick(header) if pick is not None else None
        return typed_frame([], csv=data, usecols=usecols), header, _as_is
    records = folded.state.records()
    header = columns(records)
    keep = pick(header) if pick is not None else header
    wanted = set(first(header)) if first is not None else set(keep)
    now = [c for c in keep if c in wanted]

    def widen(frame: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        rest = [c for c in keep if c not in now]
        if not rest:
            return frame
        rows = [records[at] for at in frame.index]
        extra = records_frame(rows, rest).set_axis(frame.index)
        return pd.concat([frame, extra], axis=1)[keep]

    return records_frame(records, now), header, widen


def _read(storage: Storage, config: Config) -> tuple[Folded, bytes | None]:
    """The current state, and ``ledger.csv`` if the stamp vouches that it is its view."""
    folded = storage.state(config.initial_stage, checked=False)  # reads never report the chain
    vouched = storage.vouched_ledger(folded.end) if config.format == "csv" else None
    return folded, vouched


def _numbers(values: list[object], col: str) -> Any:
    """The numbers :func:`typed_frame` would read back from the cells of ``values``, taken
    as they are when that is exact (versions and sizes all ints, metrics floats or missing),
    else None."""
    import numpy as np

    types = set(map(type, values))
    try:
        if col in INT_COLUMNS and types == {int}:
            return np.array(values, dtype="int64")
        if col.startswith("metric.") and types <= {float, type(None)}:
            return np.array(values, dtype="float64")  # None is NaN, as an empty cell reads
    except OverflowError:
        return None
    return None


def records_frame(records: list[VersionRecord], cols: list[str]) -> pd.DataFrame:
    """:func:`typed_frame` of the ledger cells of ``records`` under ``cols``; numbers go
    straight into their columns rather than through text (100,000 versions, 0.3 s less)."""
    import pandas as pd

    direct: dict[str, Any] = {}
    for col in cols:
        if col in INT_COLUMNS or col.startswith("metric."):
            numbers = _numbers(column_values(records, col), col)
            if numbers is not None:
                direct[col] = numbers
    text = [c for c in cols if c not in direct]
    frame = typed_frame(text, by_column=column_cells(records, text))
    if not direct:
        return frame
    index = pd.RangeIndex(len(records))
    return pd.DataFrame(
        {c: direct[c] if c in direct else frame[c] for c in cols}, columns=cols, index=index
    )


def _as_is(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


def events_frame(events: list[Event]) -> pd.DataFrame:
    """The audit trail as a DataFrame: one row per event, ``time`` in UTC, ``data`` as dicts."""
    import pandas as pd

    return pd.DataFrame(
        {
            "seq": pd.Series([e.seq for e in events], dtype="int64"),
            "time": pd.to_datetime([e.time for e in events], utc=True, format="ISO8601"),
            "actor": [e.actor for e in events],
            "tool": [e.tool for e in events],
            "action": [e.action for e in events],
            "model": [e.model for e in events],
            "version": pd.Series([e.version for e in events], dtype="Int64"),
            "data": [e.data for e in events],
            "approver": [e.approver for e in events],
            "reason": [e.reason for e in events],
            "prev": [e.prev for e in events],
            "hash": [e.hash for e in events],
        },
        columns=list(EVENT_COLUMNS),
    )


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text.replace("BACKTICK_QUOTED_STRING_", "").rstrip(".")


def select(
    frame: pd.DataFrame,
    where: str | None = None,
    sort: str | None = None,
    columns: str | None = None,
    known: list[str] | None = None,
) -> pd.DataFrame:
    """Filter ``frame`` with a pandas expression, sort it, and pick columns.

    Args:
        where: a ``DataFrame.query`` expression; ``metric.x`` names work as written.
        sort: columns separated by commas; a leading ``-`` sorts that column descending.
        columns: the columns to keep, separated by commas (default: all).

    Raises:
        InvalidInput: a bad expression (with pandas' reason) or an unknown column.
    """
    names = known if known is not None else [str(c) for c in frame.columns]
    if where is not None and where.strip():
        expression = quote_columns(where, names)
        try:
            picked = frame.query(expression, engine="python")
        except InvalidInput:
            raise
        except Exception as exc:  # pandas raises many kinds for a bad expression
            raise InvalidInput(
                f"--where {where!r} is not a valid expression: {_reason(exc)}."
            ) from exc
        if not hasattr(picked, "columns"):
            raise InvalidInput(
                f"--where {where!r} must be a condition such as 'stage == \"Production\"'."
            )
        frame = picked
    if sort:
        keys = column_list(sort, names, "--sort")
        frame = frame.sort_values(
            [k.lstrip("-") for k in keys],
            ascending=[not k.startswith("-") for k in keys],
            na_position="last",
            kind="stable",
        )
    if columns:
        frame = frame[column_list(columns, names, "--columns")]
    return frame


def plain(value: Any) -> Any:
    """A cell as plain JSON-ready data: None for missing, ISO text for times."""
    import pandas as pd

    if value is None or (not isinstance(value, (str, dict, list)) and bool(pd.isna(value))):
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat().replace("+00:00", "Z")
    if hasattr(value, "item"):
        return value.item()
    return value


def records_of(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts of plain values, in order."""
    cols = [str(c) for c in frame.columns]
    return [
        {col: plain(value) for col, value in zip(cols, row)}
        for row in frame.itertuples(index=False, name=None)
    ]


def run_list(
    storage: Storage,
    config: Config,
    model: str | None = None,
    where: str | None = None,
    sort: str | None = None,
    columns: str | None = None,
    all_columns: bool = False,
) -> tuple[list[str], list[dict[str, Any]]]:
    """What ``minireg list --where/--sort/--columns`` shows: its columns and rows.

    From the folded versions (no vouched-for ledger: a fresh clone) the query is
    first tried without pandas (:func:`~minireg.domain.query_rows.list_rows`); pandas
    answers the rest, and decides every error.

    Raises:
        InvalidInput: a bad expression or column name. NotFound: ``model`` has no versions.
    """
    read = _read(storage, config)
    folded, data = read
    if data is None:
        try:
            return list_rows(folded.state, model, where, sort, columns, all_columns)
        except Unsupported:
            pass  # outside the subset, or an error: pandas decides
    return list_with_pandas(storage, config, model, where, sort, columns, all_columns, read)


def list_with_pandas(
    storage: Storage,
    config: Config,
    model: str | None = None,
    where: str | None = None,
    sort: str | None = None,
    columns: str | None = None,
    all_columns: bool = False,
    read: tuple[Folded, bytes | None] | None = None,
) -> tuple[list[str], list[dict[str, Any]]]:
    """:func:`run_list` through a pandas DataFrame (``read``: see :func:`_load`).

    Raises:
        InvalidInput: a bad expression or column name. NotFound: ``model`` has no versions.
    """

    def pick(header: list[str]) -> list[str]:
        if all_columns and not columns:
            return header
        asked = " ".join(text for text in (where, sort, columns) if text)
        # A superset is harmless: every column whose name occurs in the query is kept.
        keep = {"model", "version", *(c for c in header if c in asked)}
        if not columns:
            keep.update(DEFAULT_COLUMNS)
            keep.update(c for c in header if c.startswith("metric."))
        return [c for c in header if c in keep]

    def first(header: list[str]) -> list[str]:
        # What the rows are picked and sorted on; "version" keeps one column in any case.
        asked = " ".join(text for text in (where, sort) if text)
        wanted = {"version", *(c for c in header if c in asked)}
        if model is not None:
            wanted.add("model")
        return [c for c in header if c in wanted]

    frame, header, widen = _load(storage, config, pick, first, read)
    if model is not None:
        frame = frame[frame["model"] == model]
        if frame.empty:
            raise no_model(model)
    frame = widen(select(frame, where, sort, known=header))
    frame = select(frame, columns=columns, known=header)
    if not columns and not all_columns:
        frame = frame[default_columns([str(c) for c in frame.columns])]
    return [str(c) for c in frame.columns], records_of(frame)
