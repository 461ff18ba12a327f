"""The `--where` subset compiled without pandas, the sort order and the cells shown (pure)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from minireg.domain.query_rows import list_rows, shown_values, sort_order, sort_values
from minireg.domain.records import VersionRecord
from minireg.domain.state import State
from minireg.domain.where import Unsupported, compile_where

NAN = math.nan
COLUMNS = ["model", "version", "stage", "metric.auc", "metric.log-loss", "param.C", "created_at"]
VALUES: dict[str, list[Any]] = {
    "model": ["a", "a", "b", "c"],
    "version": [1, 2, 1, 1],
    "stage": ["None", "Staging", "Staging", "Production"],
    "metric.auc": [0.9, NAN, 0.8, 0.95],
    "metric.log-loss": [0.1, 0.2, NAN, NAN],
    "param.C": ["1", "", "0.5", "1"],
}


def _rows(expression: str) -> list[int]:
    condition = compile_where(expression, COLUMNS)
    passed = condition({col: VALUES[col] for col in condition.columns})
    return [at for at, ok in enumerate(passed) if ok]


@pytest.mark.parametrize(
    ("expression", "rows"),
    [
        ("`metric.auc` > 0.85", [0, 3]),
        ("`metric.auc` <= 0.85", [2]),  # NaN passes no comparison...
        ("`metric.auc` != 0.9", [1, 2, 3]),  # ...but !=
        ("not `metric.auc` > 0.85", [1, 2]),
        ("not (`metric.auc` == 0.9)", [1, 2, 3]),
        ("0.85 < `metric.auc`", [0, 3]),  # a constant on the left
        ("0.85 < `metric.auc` < 0.92", [0]),  # chained: both must hold
        ("0.85 < `metric.auc` < 0.92 < `metric.auc`", []),
        ("stage in ['Staging', 'Production']", [1, 2, 3]),
        ("stage not in ('Staging',)", [0, 3]),
        ("`metric.auc` in [0.9, 1]", [0]),
        ("`metric.auc` not in [0.9]", [1, 2, 3]),  # NaN is in no list
        ("stage in []", []),
        ("stage == 'Staging' and version > 1 or model == 'c'", [1, 3]),  # and before or
        ("stage == 'Staging' and (version > 1 or model == 'c')", [1]),
        ("version >= 1.5", [1]),
        ("version == -1", []),
        ("`metric.log-loss` > -0.5", [0, 1]),
        ("`param.C` == ''", [1]),  # a missing param is empty text
        ("`param.C` > '0'", [0, 2, 3]),  # text compares as text
        ("model < 'b' and not model == 'b'", [0, 1]),
        ('`stage` == "Staging"', [1, 2]),
    ],
)
def test_the_subset_picks_the_rows_pandas_picks(expression: str, rows: list[int]) -> None:
    assert _rows(expression) == rows


@pytest.mark.parametrize(
    "expression",
    [
        "(stage == 'Staging') & (version > 1)",  # pandas reads & as `and`, with its precedence
        "(stage == 'Staging') | (version > 1)",
        "~(stage == 'Staging')",
        "stage = 'Staging'",  # pandas reads = as ==
        "stage == 1",  # text against a number: pandas decides
        "version == '1'",
        "`metric.auc` == 'high'",
        "version > True",
        "version > 9007199254740993",  # beyond 2**53: numpy compares as floats
        "created_at > '2024-01-01'",  # dates: pandas decides
        "git_dirty == False",
        "version + 1 > 2",
        "`metric.auc` > `metric.log-loss`",
        "version / 2 > 1",
        "stage in 'Staging'",
        "'Staging' in stage",
        "stage is 'Staging'",
        "stage == 'a' == 'b'",
        "index > 0",  # not a column
        "nope > 1",
        "`metric.nope` > 1",
        "stage.str.len() > 3",
        "stage",
        "stage == @x",
        "stage == f'x'",
        "stage == b'x'",
        "version > 1  # a comment",
        "version > 1\n",
        "version > 1and stage == 'x'",  # Python parses it with a SyntaxWarning; pandas does not
        "stage == 'a\\'b'",
        "version >",
        "`metric.auc > 1",
        "__minireg_column_0 > 1",
    ],
)
def test_anything_else_is_left_to_pandas(expression: str) -> None:
    with pytest.raises(Unsupported):
        compile_where(expression, COLUMNS)


def test_a_deeply_nested_expression_is_left_to_pandas() -> None:
    assert compile_where("not " * 51 + "version > 1", COLUMNS)({"version": [1, 2]}) == [
        True,
        False,
    ]
    for depth in (5_000, 100_000):  # Python's recursion limit, or its parser's
        with pytest.raises(Unsupported):
            compile_where("not " * depth + "version > 1", COLUMNS)({"version": [1, 2]})


def test_names_pandas_could_mix_up_are_left_to_pandas() -> None:
    # pandas turns `metric.a b` and `metric.a_b` into the same Python name.
    with pytest.raises(Unsupported):
        compile_where("`metric.a b` > 1", ["version", "metric.a b", "metric.a_b"])
    with pytest.raises(Unsupported):  # a character whose Python name is not known here
        compile_where("`metric.a` > 1", ["version", "metric.a", "metric.b+c"])
    assert compile_where("`metric.a b` > 1", ["metric.a b", "metric.a-b"]).columns == {"metric.a b"}


def test_the_sort_is_stable_with_missing_values_last_either_way() -> None:
    values = [2.0, None, 1.0, 2.0, None, 3.0]
    assert sort_order([(values, True)]) == [2, 0, 3, 5, 1, 4]
    assert sort_order([(values, False)]) == [5, 0, 3, 2, 1, 4]  # ties keep their order
    stage = ["b", "a", "b", "a", "b", "a"]
    assert sort_order([(stage, True), (values, False)]) == [5, 3, 1, 0, 2, 4]
    assert sort_order([(stage, False), (values, True)]) == [2, 0, 4, 3, 5, 1]
    assert sort_order([]) == []


def _rec(version: int, **fields: Any) -> VersionRecord:
    return VersionRecord("m", version, **fields)


def test_dates_show_as_pandas_shows_them() -> None:
    recs = [
        _rec(1, created_at="2024-03-01T12:00:00.000000Z"),
        _rec(2, created_at="2024-03-01T12:00:00.120000Z"),
        _rec(3, created_at="2024-02-29"),
        _rec(4, created_at="2024-03-01T09:30"),
        _rec(5, created_at="2024-03-01T09:30:05.5+00:00"),
        _rec(6, created_at=""),
    ]
    assert shown_values(recs, "created_at") == [
        "2024-03-01T12:00:00Z",
        "2024-03-01T12:00:00.120000Z",
        "2024-02-29T00:00:00Z",
        "2024-03-01T09:30:00Z",
        "2024-03-01T09:30:05.500000Z",
        None,
    ]
    assert sort_values(recs, "created_at")[-1] is None
    for odd in ("2024-03-01T12:00:00+02:00", "2023-02-29", "2024-03-01T12:00:00.1234567Z"):
        with pytest.raises(Unsupported):
            shown_values([_rec(1, created_at=odd)], "created_at")


def test_cells_are_plain_values() -> None:
    recs = [
        _rec(1, git_dirty=True, metrics={"a": 1.5}, params={"C": "1"}, aliases=("x", "y")),
        _rec(2, git_dirty=None, metrics={}, tags={"t": "ü"}),
    ]
    assert shown_values(recs, "git_dirty") == [True, None]
    assert shown_values(recs, "metric.a") == [1.5, None]
    assert shown_values(recs, "param.C") == ["1", ""]
    assert shown_values(recs, "tag.t") == ["", "ü"]
    assert shown_values(recs, "aliases") == ["x;y", ""]
    assert shown_values(recs, "version") == [1, 2]
    with pytest.raises(Unsupported):  # pandas would read "true" as NaN
        shown_values([_rec(1, metrics={"a": True})], "metric.a")  # type: ignore[dict-item]
    with pytest.raises(Unsupported):  # a nullable Int64 column
        shown_values([_rec(1, artifact_bytes=None)], "artifact_bytes")  # type: ignore[arg-type]


def _state(*recs: VersionRecord) -> State:
    state = State()
    for rec in recs:
        state.versions[(rec.model, rec.version)] = rec
    return state


def test_rows_come_in_ledger_order_with_the_default_columns() -> None:
    state = _state(
        VersionRecord("b", 1, stage="Staging", metrics={"auc": 0.9}),
        VersionRecord("a", 2, stage="Staging", metrics={"f1": 0.5}),
        VersionRecord("a", 1, stage="None", metrics={"auc": 0.7}),
    )
    cols, rows = list_rows(state, where="stage == 'Staging' or metric.auc < 0.8")
    assert cols == [
        "model", "version", "stage", "aliases", "created_at", "git_commit",
        "metric.auc", "metric.f1",
    ]  # fmt: skip
    assert [(r["model"], r["version"], r["metric.auc"]) for r in rows] == [
        ("a", 1, 0.7),
        ("a", 2, None),
        ("b", 1, 0.9),
    ]
    assert list_rows(state, "a", sort="-metric.auc", columns="version")[1] == [
        {"version": 1},
        {"version": 2},
    ]
    with pytest.raises(Unsupported):  # NotFound is pandas' to raise
        list_rows(state, "zz")
    with pytest.raises(Unsupported):  # so is an unknown column, with every column named
        list_rows(state, sort="nope")
