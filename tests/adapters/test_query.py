"""pandas views and `minireg list --where/--sort/--columns`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import minireg
from minireg.adapters.query import quote_columns
from tests.conftest import run_cli, run_proc, tree_digest
from tests.support.spreadsheet import add, at

WHERE = "metric.auc_roc > 0.9 and stage == 'Production'"


@pytest.fixture
def several(reg: minireg.Registry, artifact: Path) -> minireg.Registry:
    """Three models, some in Production, with metrics, params and tags."""
    # Two versions share Production on purpose (a stage resolves to its highest), so the
    # stage is not exclusive here as it is by default.
    toml = reg.root / "minireg.toml"
    toml.write_text(toml.read_text().replace('exclusive = ["Production"]', "exclusive = []"))
    reg = minireg.open_registry(reg.root)
    table = [
        ("churn", 0.88, "Production"),
        ("churn", 0.93, "Production"),
        ("churn", 0.95, "Staging"),
        ("fraud", 0.97, "Production"),
        ("fraud", 0.85, "Production"),
        ("ltv", 0.91, "None"),
        ("ltv", 0.92, "Production"),
    ]
    for minute, (model, auc, stage) in enumerate(table):
        number = add(
            reg,
            model,
            artifact,
            minute,
            metrics={"auc_roc": auc, "log-loss": 1 - auc},
            params={"C": minute % 2},
            tags={"team": "growth" if model == "churn" else "risk"},
        )
        if stage != "None":
            reg.promote(model, number, stage, actor="ci", now=at(minute))
    return reg


def _list(reg: minireg.Registry, *args: str) -> list[dict[str, object]]:
    res = run_cli("list", *args, "--json", "--registry", str(reg.root))
    assert res.exit_code == 0, res.stderr
    rows = json.loads(res.stdout)
    assert isinstance(rows, list)
    return rows


def test_where_sort_columns_give_the_right_rows(several: minireg.Registry) -> None:
    rows = _list(
        several,
        "--where",
        WHERE,
        "--sort",
        "metric.auc_roc",
        "--columns",
        "model,version,metric.auc_roc",
    )
    assert rows == [
        {"model": "ltv", "version": 2, "metric.auc_roc": 0.92},
        {"model": "churn", "version": 2, "metric.auc_roc": 0.93},
        {"model": "fraud", "version": 1, "metric.auc_roc": 0.97},
    ]
    down = _list(several, "--where", WHERE, "--sort", "-metric.auc_roc", "--columns", "model")
    assert [r["model"] for r in down] == ["fraud", "churn", "ltv"]
    both = _list(several, "--sort", "model,-version", "--columns", "model,version")
    assert [(r["model"], r["version"]) for r in both][:3] == [
        ("churn", 3),
        ("churn", 2),
        ("churn", 1),
    ]


def test_where_on_params_tags_dates_and_dashed_metrics(several: minireg.Registry) -> None:
    rows = _list(
        several, "--where", "param.C == '1' and tag.team == 'risk'", "--columns", "model,version"
    )
    assert rows == [{"model": "fraud", "version": 1}, {"model": "ltv", "version": 1}]
    rows = _list(several, "--where", "`metric.log-loss` < 0.04", "--columns", "model,version")
    assert rows == [{"model": "fraud", "version": 1}]
    rows = _list(several, "--where", "metric.log-loss < 0.04", "--columns", "model,version")
    assert rows == [{"model": "fraud", "version": 1}]
    rows = _list(
        several, "--where", "created_at >= '2024-03-01T12:05:00Z'", "--columns", "model,version"
    )
    assert rows == [{"model": "ltv", "version": 1}, {"model": "ltv", "version": 2}]


def test_where_with_a_model_and_the_table(several: minireg.Registry) -> None:
    rows = _list(several, "churn", "--where", "metric.auc_roc > 0.9")
    assert [r["version"] for r in rows] == [2, 3]
    assert rows[0]["created_at"] == "2024-03-01T12:01:00.123456Z"
    res = run_cli(
        "list", "--where", WHERE, "--sort", "metric.auc_roc", "--registry", str(several.root)
    )
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].split() == [
        "model", "version", "stage", "aliases", "created_at", "git_commit",
        "metric.auc_roc", "metric.log-loss",
    ]  # fmt: skip
    assert [line.split()[:2] for line in lines[2:]] == [
        ["ltv", "2"],
        ["churn", "2"],
        ["fraud", "1"],
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--where", "metric.auc_roc >"],
            "error: --where 'metric.auc_roc >' is not a valid expression: invalid syntax",
        ),
        (
            ["--where", "metric.precision > 0.5"],
            "error: No version has metric 'precision' (--where names metric.precision); "
            "the metrics are: auc_roc, log-loss.\n",
        ),
        (
            ["--where", "auc_roc > 0.5"],
            "error: --where 'auc_roc > 0.5' is not a valid expression: name 'auc_roc' is not "
            "defined.\n",
        ),
        (["--sort", "auc"], "error: --sort names unknown column 'auc'; the columns are: model,"),
        (["--columns", " , "], "error: --columns is empty; name columns separated by commas.\n"),
        # Only --sort reads a leading "-" (descending); a column list takes names as they are.
        (["--columns", "-model"], "error: --columns names unknown column '-model'; the columns"),
    ],
)
def test_bad_query_exits_2_with_one_sentence(
    several: minireg.Registry, args: list[str], message: str
) -> None:
    before = tree_digest(several.root)
    res = run_cli("list", *args, "--registry", str(several.root))
    assert res.exit_code == 2
    assert res.stderr.startswith(message)
    assert res.stderr.count("\n") == 1
    assert tree_digest(several.root) == before


def test_quote_columns_leaves_strings_alone() -> None:
    cols = ["model", "description", "metric.a", "metric.a.b", "param.x"]
    assert quote_columns("metric.a > 1 and description == 'metric.zz'", cols) == (
        "`metric.a` > 1 and description == 'metric.zz'"
    )
    assert quote_columns("metric.a.b < `metric.a`", cols) == "`metric.a.b` < `metric.a`"
    assert quote_columns("param.x.str.len() > 2", cols) == "`param.x`.str.len() > 2"


def test_to_pandas_is_typed_and_agrees_with_the_events(several: minireg.Registry) -> None:
    frame = several.to_pandas()
    assert len(frame) == 7
    assert frame["version"].dtype == "int64"
    assert frame["artifact_bytes"].dtype == "int64"
    for col in ("created_at", "approved_at", "training_date"):
        assert isinstance(frame[col].dtype, pd.DatetimeTZDtype)
        assert str(frame[col].dt.tz) == "UTC"
    assert frame["metric.auc_roc"].dtype == "float64"
    assert frame["git_dirty"].dtype == "boolean"
    assert frame.loc[0, "created_at"] == pd.Timestamp("2024-03-01T12:00:00.123456Z")
    assert pd.isna(frame.loc[5, "approved_at"])
    assert list(frame["model"]) == ["churn"] * 3 + ["fraud"] * 2 + ["ltv"] * 2
    # The fast path (ledger vouched for by the stamp) and the fold give the same frame.
    (several.root / ".cache" / "ledger.stamp").unlink()
    pd.testing.assert_frame_equal(frame, several.to_pandas())


def test_to_pandas_ignores_a_hand_edited_ledger(several: minireg.Registry) -> None:
    path = several.root / "ledger.csv"
    clean = several.to_pandas()  # read from the vouched-for ledger
    original = path.read_bytes()
    path.write_bytes(original.replace(b"\n", b"\r\n"))
    # Built from the folded records instead: the same frame, the same types.
    pd.testing.assert_frame_equal(several.to_pandas(), clean)
    path.write_bytes(path.read_bytes().replace(b",0.97,", b",0.11,"))
    frame = several.to_pandas()
    assert frame.loc[3, "metric.auc_roc"] == 0.97
    # The edited ledger is not vouched for, so the next read folds again.
    assert several.to_pandas().loc[3, "metric.auc_roc"] == 0.97
    rows = _list(several, "--where", "metric.auc_roc > 0.96", "--columns", "model,metric.auc_roc")
    assert rows == [{"model": "fraud", "metric.auc_roc": 0.97}]


def test_events_to_pandas(several: minireg.Registry) -> None:
    frame = several.events_to_pandas()
    events = several.events()
    assert len(frame) == len(events) == 13
    assert list(frame.columns[:6]) == ["seq", "time", "actor", "tool", "action", "model"]
    assert frame["seq"].tolist() == list(range(1, 14))
    assert isinstance(frame["time"].dtype, pd.DatetimeTZDtype)
    assert frame.loc[0, "data"]["metrics"]["auc_roc"] == 0.88
    assert frame["version"].dtype == "Int64"


def _loaded_pandas(root: Path, *args: str) -> bool:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from minireg.cli import app\n"
        f"res = CliRunner().invoke(app, {[*args, '--registry', str(root)]!r})\n"
        "assert res.exit_code == 0, res.output\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1] == "True"


def test_plain_list_does_not_import_pandas(several: minireg.Registry) -> None:
    assert not _loaded_pandas(several.root, "list")
    assert not _loaded_pandas(several.root, "list", "--json")
    assert _loaded_pandas(several.root, "list", "--where", "version > 1")


def test_list_where_reads_the_same_rows_with_or_without_the_stamp(
    several: minireg.Registry,
) -> None:
    args = ("--where", WHERE, "--sort", "-metric.auc_roc")
    fast = _list(several, *args)
    plain = _list(several, *args, "--columns", "model,version,param.C,tag.team")
    stamp = several.root / ".cache" / "ledger.stamp"
    written = stamp.read_bytes()
    stamp.unlink()
    before = tree_digest(several.root)
    assert run_cli("list", "--where", "nope ==", "--registry", str(several.root)).exit_code == 2
    assert tree_digest(several.root) == before  # bad input changes nothing
    assert _list(several, *args) == fast  # made from the folded records
    assert not stamp.exists()  # only a write (which holds the new state) stamps the ledger
    assert _list(several, *args, "--columns", "model,version,param.C,tag.team") == plain
    several.set_description("churn", 1, "stamped again", actor="ci")
    assert stamp.read_bytes() != written and _list(several, *args) == fast
    assert [r["version"] for r in fast] == [1, 2, 2]


def test_list_where_through_the_real_entry_point(several: minireg.Registry) -> None:
    out = run_proc(
        "list", "--where", WHERE, "--sort", "-metric.auc_roc", "--columns", "model,version",
        "--json", "--registry", str(several.root),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [
        {"model": "fraud", "version": 1},
        {"model": "churn", "version": 2},
        {"model": "ltv", "version": 2},
    ]
    bad = run_proc("list", "--where", "stage ==", "--registry", str(several.root))
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: --where 'stage ==' is not a valid expression: ")


def test_list_where_works_when_the_stamp_cannot_be_written(several: minireg.Registry) -> None:
    import shutil

    cache = several.root / ".cache"
    shutil.rmtree(cache)
    cache.write_text("not a folder")  # writing the stamp fails, as in a read-only checkout
    rows = _list(several, "--where", WHERE, "--columns", "model,version")
    assert len(rows) == 3
    several.promote("ltv", 1, "Production", actor="ci", now=at(30))  # a write goes through too
    assert len(_list(several, "--where", WHERE, "--columns", "model,version")) == 4
    assert cache.read_text() == "not a folder"
    assert minireg.open_registry(several.root).verify().ok


@pytest.mark.parametrize(
    "args",
    [
        ("--where", WHERE),
        ("--where", "version > 1", "--sort", "-metric.log-loss,model"),
        ("--where", "tag.team == 'risk'", "--columns", "model,version,param.C,approved_at"),
        ("--sort", "created_at", "--columns", "version,git_dirty,artifact_bytes"),
        ("--where", "stage != 'Production' and description == ''"),
        ("fraud", "--where", "metric.auc_roc > 0.5"),
        ("--where", "aliases == ''", "--columns", "model,stage,aliases,training_date"),
    ],
)
def test_a_query_without_the_stamp_filters_first_and_gives_the_same_rows(
    several: minireg.Registry, args: tuple[str, ...]
) -> None:
    stamped = _list(several, *args)
    table = run_cli("list", *args, "--registry", str(several.root))
    (several.root / ".cache" / "ledger.stamp").unlink()  # the columns come from the records
    assert _list(several, *args) == stamped
    assert run_cli("list", *args, "--registry", str(several.root)).stdout == table.stdout
    assert stamped


def test_numbers_straight_from_the_records_read_as_their_ledger_text_would() -> None:
    from minireg.adapters.query import records_frame, typed_frame
    from minireg.domain.ledger import column_cells, columns
    from minireg.domain.records import VersionRecord

    recs = [
        VersionRecord("a", 1, artifact_bytes=5, metrics={"auc": 0.1 + 0.2, "n": 3.0}),
        VersionRecord("a", 2, artifact_bytes=2**40, metrics={"auc": float("nan")}),
        VersionRecord("b", 1, metrics={"auc": -0.0, "odd": 1, "flag": True}),  # not all floats
    ]
    cols = columns(recs)
    want = typed_frame(cols, by_column=column_cells(recs, cols))
    pd.testing.assert_frame_equal(records_frame(recs, cols), want)
    assert list(want.dtypes[["version", "artifact_bytes", "metric.auc", "metric.odd"]]) == [
        "int64",
        "int64",
        "float64",
        "float64",
    ]
    huge = [VersionRecord("a", 1, artifact_bytes=2**70)]  # beyond int64: the text path decides
    pd.testing.assert_frame_equal(
        records_frame(huge, ["artifact_bytes"]),
        typed_frame(["artifact_bytes"], by_column=column_cells(huge, ["artifact_bytes"])),
    )
    assert records_frame([], cols).empty
