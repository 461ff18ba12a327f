"""What ``minireg list`` shows: a few columns of each version, from records or ledger rows.

Model, version, stage, aliases, creation time, short git commit (``*`` when the
tree was dirty) and each metric to 6 significant digits. The same cells come
from the folded records (:func:`of_records`) or, much faster on a large
registry, straight from the lines of a ``ledger.csv`` known to be the exact
view of the events (:func:`of_ledger`): only the rows shown are parsed, and a
metric's cell is the ``repr`` of its float, so both give the same text.

``newest`` keeps the newest rows only: of one model, its highest versions; of
every model, the versions registered last (by ``created_at``, then model and
version). The rows stay in ledger order, and ``total`` says how many matched.
"""

from __future__ import annotations

import csv
import heapq
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from minireg.domain.ledger_append import header_of, model_span
from minireg.domain.ledger_rows import body_start
from minireg.domain.records import VersionRecord

HEADERS = ("model", "version", "stage", "aliases", "created", "git_commit")
_LEDGER = ("model", "version", "stage", "aliases", "created_at", "git_commit", "git_dirty")


@dataclass(frozen=True)
class Listing:
    """The table of ``minireg list``: headers, the rows shown, and how many matched."""

    headers: list[str]
    rows: list[list[str]]
    total: int

    @property
    def omitted(self) -> int:
        """How many matching versions are not shown (``newest`` left them out)."""
        return self.total - len(self.rows)


def _cells(
    model: str, version: str, stage: str, aliases: Iterable[str], created: str, commit: str
) -> list[str]:
    return [
        model,
        version,
        stage,
        ",".join(f"@{alias}" for alias in aliases),
        created[:19].replace("T", " "),
        commit,
    ]


def _table(fixed: list[list[str]], metrics: list[dict[str, float]], total: int) -> Listing:
    names = sorted({name for found in metrics for name in found})
    rows = [
        [*cells, *(f"{found[n]:.6g}" if n in found else "" for n in names)]
        for cells, found in zip(fixed, metrics)
    ]
    return Listing([*HEADERS, *names], rows, total)


def _newest(
    count: int, key: Callable[[int], tuple[str, str, int]], newest: int | None, one_model: bool
) -> Sequence[int]:
    """The indexes (in order) of the ``count`` rows to show: all, or the ``newest`` by ``key``."""
    if newest is None or newest >= count:
        return range(count)
    if one_model:  # a model's rows are in version order: its newest are the last
        return range(count - newest, count)
    return sorted(heapq.nlargest(newest, range(count), key=key))


def of_records(
    records: Sequence[VersionRecord], newest: int | None = None, one_model: bool = False
) -> Listing:
    """The listing of ``records`` (in ledger order)."""

    def key(i: int) -> tuple[str, str, int]:
        return records[i].created_at, records[i].model, records[i].version

    chosen = [records[i] for i in _newest(len(records), key, newest, one_model)]
    fixed = [
        _cells(
            rec.model,
            str(rec.version),
            rec.stage,
            rec.aliases,
            rec.created_at,
            rec.git_commit[:8] + ("*" if rec.git_dirty else ""),
        )
        for rec in chosen
    ]
    return _table(fixed, [rec.metrics for rec in chosen], len(records))


def of_ledger(ledger: bytes, model: str | None = None, newest: int | None = None) -> Listing | None:
    """The listing from ``ledger.csv``'s bytes (the exact view of the events), or None when
    its rows are not one line each (then list from the records)."""
    header = header_of(ledger)
    if header is None or any(col not in header for col in _LEDGER):
        return None
    lo, hi = model_span(ledger, model) if model is not None else (body_start(ledger), len(ledger))
    lines = ledger[lo:hi].split(b"\n")[:-1]  # each row ends with a newline
    total = len(lines)
    if model is not None and newest is not None:
        lines = lines[max(0, total - newest) :]
    text = b"\n".join(lines).decode("utf-8")  # one decode, not one a line
    rows = list(csv.reader(text.split("\n"))) if text else []
    at = [header.index(col) for col in _LEDGER]

    def key(i: int) -> tuple[str, str, int]:
        return rows[i][at[4]], rows[i][at[0]], int(rows[i][at[1]])

    chosen = [rows[i] for i in _newest(len(rows), key, newest, model is not None)]
    metric_at = [(i, col[7:]) for i, col in enumerate(header) if col.startswith("metric.")]
    fixed, metrics = [], []
    for cells in chosen:
        name, version, stage, aliases, created, commit, dirty = (cells[i] for i in at)
        dirty_mark = "*" if dirty == "true" else ""
        alias_list = aliases.split(";") if aliases else []
        fixed.append(_cells(name, version, stage, alias_list, created, commit[:8] + dirty_mark))
        metrics.append({metric: float(cells[i]) for i, metric in metric_at if cells[i]})
    return _table(fixed, metrics, total)
