"""`list --where` without pandas: the same columns and rows as the pandas path, on real registries.

Each path is forced here (``list_rows`` on the folded state, ``list_with_pandas`` from the
fold and from the vouched-for ledger), so a comparison never compares a path with itself.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minireg
from minireg.adapters.query import list_with_pandas, run_list
from minireg.domain.query_rows import list_rows
from minireg.domain.where import Unsupported
from minireg.errors import MiniregError
from tests.conftest import run_proc

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
MODELS = ("churn", "fraud", "a-b", "ltv.v2")
METRICS = ("auc", "log-loss", "a", "a.b", "val/auc", "f1 score")
PARAMS = ("C", "seed")
TAGS = ("team", "env")
STAGES = ("None", "Staging", "Production", "Archived")
# Forms `register --training-date` takes and the fast path shows as pandas does.
TRAINING = ("2024-02-28", "2024-02-28T10:00:00Z", "2024-02-29T10:00:00.5Z", "2024-03-01T09:30")
TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=6)
NUMBER = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(10**6), 10**6),
    st.sampled_from([0.0, -0.0, 0.5, 1.0, -2.5]),
)
VERSION = st.fixed_dictionaries(
    {
        "model": st.sampled_from(MODELS),
        "metrics": st.dictionaries(st.sampled_from(METRICS), NUMBER, max_size=3),
        "params": st.dictionaries(
            st.sampled_from(PARAMS), st.one_of(TEXT, st.integers(-5, 5), st.booleans()), max_size=2
        ),
        "tags": st.dictionaries(st.sampled_from(TAGS), TEXT, max_size=2),
        "description": TEXT,
        "training_date": st.sampled_from(TRAINING),
    }
)
CHANGES = st.lists(
    st.tuples(st.sampled_from(["promote", "alias"]), st.integers(0, 50), st.sampled_from(STAGES)),
    max_size=6,
)

Answer = tuple[list[str], list[dict[str, Any]]] | tuple[str, str]


def _build(root: Path, versions: list[dict[str, Any]], changes: list[Any]) -> minireg.Registry:
    reg = minireg.init_registry(root)
    artifact = root.parent / "model.bin"
    artifact.write_bytes(b"a model\n")
    for n, spec in enumerate(versions):
        # Some times have no fraction of a second: pandas shows them without one.
        now = T0 + timedelta(seconds=37 * n, microseconds=0 if n % 3 == 0 else 1000 * n + 7)
        reg.register(artifact=artifact, requirements=b"x==1\n", actor="ds@corp", now=now, **spec)
    keys = [(r.model, r.version) for r in reg.versions()]
    for n, (verb, pick, stage) in enumerate(changes):
        model, version = keys[pick % len(keys)]
        now = T0 + timedelta(hours=1, seconds=n)
        if verb == "promote":
            reg.promote(
                model, version, stage, archive_existing=True, approver="boss" * (pick % 2),
                actor="ci", now=now,
            )  # fmt: skip
        else:
            reg.set_alias(model, "champion" if pick % 2 else "challenger", version, actor="ci")
    return reg


def _exact(answer: Answer) -> Any:
    """The answer with each cell's type and repr (so -0.0 differs from 0.0, 1 from 1.0)."""
    if isinstance(answer[0], str):
        return answer
    cols, rows = answer
    return cols, [[(k, type(v).__name__, repr(v)) for k, v in row.items()] for row in rows]


def _pandas(reg: minireg.Registry, fold: bool, **query: Any) -> Answer:
    storage, config = reg.storage, reg.config
    read = (storage.state(config.initial_stage), None) if fold else None
    try:
        return list_with_pandas(storage, config, read=read, **query)
    except MiniregError as exc:
        return type(exc).__name__, str(exc)


def _fast(reg: minireg.Registry, **query: Any) -> Answer | None:
    try:
        return list_rows(reg.storage.state(reg.config.initial_stage).state, **query)
    except Unsupported:
        return None


def _run(reg: minireg.Registry, **query: Any) -> Answer:
    try:
        return run_list(reg.storage, reg.config, **query)
    except MiniregError as exc:
        return type(exc).__name__, str(exc)


def _same(reg: minireg.Registry, *, fast: bool, **query: Any) -> Answer:
    """The pandas answer, after checking the fast path agrees (``fast``) or steps aside."""
    want = _pandas(reg, True, **query)
    assert _exact(_pandas(reg, False, **query)) == _exact(want)  # from the vouched ledger
    got = _fast(reg, **query)
    if fast:
        assert got is not None, f"the fast path did not take {query}"
        assert _exact(got) == _exact(want), query
    else:
        assert got is None, f"the fast path took {query}"
    stamp = reg.root / ".cache" / "ledger.stamp"
    written = stamp.read_bytes()
    stamp.unlink()  # run_list chooses the fast path now, then falls back if it must
    assert _exact(_run(reg, **query)) == _exact(want)
    stamp.write_bytes(written)
    return want


# -- generated expressions -----------------------------------------------------------


def _name(col: str, draw: st.DrawFn) -> str:
    """``col`` as a user writes it: bare where pandas allows (quote_columns adds the
    backticks), or in backticks."""
    if " " in col or draw(st.booleans()):
        return f"`{col}`"
    return col


@st.composite
def _comparison(draw: st.DrawFn, columns: dict[str, list[Any]]) -> str:
    col = draw(st.sampled_from(sorted(columns)))
    seen = columns[col]
    numeric = col in ("version", "artifact_bytes") or col.startswith("metric.")
    if numeric:
        const = st.one_of(st.sampled_from(seen or [0]), NUMBER)
    else:
        const = st.one_of(st.sampled_from(seen or [""]), st.text("abcé'\" ", max_size=3))
    shape = draw(st.sampled_from(["cmp", "flipped", "chain", "in", "not in"]))
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    name = _name(col, draw)
    if shape == "cmp":
        return f"{name} {op} {draw(const)!r}"
    if shape == "flipped":
        return f"{draw(const)!r} {op} {name}"
    if shape == "chain":
        low, high = draw(const), draw(const)
        return f"{low!r} {op} {name} {draw(st.sampled_from(['<', '<=']))} {high!r}"
    items = draw(st.lists(const, max_size=3))
    listed = f"[{', '.join(map(repr, items))}]" if draw(st.booleans()) else repr(tuple(items))
    return f"{name} {shape} {listed}"


def _expression(columns: dict[str, list[Any]]) -> st.SearchStrategy[str]:
    return st.recursive(
        _comparison(columns),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(" ".join),
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda e: f"not ({e})"),
        ),
        max_leaves=4,
    )


def _columns(reg: minireg.Registry) -> tuple[list[str], dict[str, list[Any]]]:
    """The ledger's header, and the filterable columns with the values versions hold."""
    frame = reg.to_pandas()
    header = [str(c) for c in frame.columns]
    values: dict[str, list[Any]] = {}
    for col in header:
        if col in ("created_at", "approved_at", "training_date", "git_dirty"):
            continue
        seen = [v for v in frame[col].tolist() if v == v and v is not None]
        values[col] = sorted(set(seen), key=repr)[:5]
    return header, values


OUTSIDE = [
    "(stage == 'Staging') & (version > 1)",
    "(stage == 'Staging') | (version > 1)",
    "~(stage == 'Staging')",
    "stage == 1",
    "version == 'x'",
    "stage = 'Staging'",
    "created_at > '2024-01-01'",
    "version + 1 > 2",
    "version > version",
    "index > 0",
    "stage in 'Staging'",
    "version > 9007199254740993",
    "stage == 'a' == 'b'",
    "stage.str.len() > 3",
    "stage",
    "version > 1\n",
]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(versions=st.lists(VERSION, min_size=1, max_size=10), changes=CHANGES, data=st.data())
def test_the_fast_path_gives_what_pandas_gives(
    tmp_path_factory: pytest.TempPathFactory,
    versions: list[dict[str, Any]],
    changes: list[Any],
    data: st.DataObject,
) -> None:
    reg = _build(tmp_path_factory.mktemp("q") / "registry", versions, changes)
    header, columns = _columns(reg)
    models = sorted({v["model"] for v in versions})
    for _ in range(5):
        where = data.draw(st.one_of(st.none(), st.just("  "), _expression(columns)))
        sort = data.draw(
            st.one_of(
                st.none(),
                st.lists(
                    st.sampled_from(header).flatmap(lambda c: st.sampled_from([c, f"-{c}"])),
                    min_size=1,
                    max_size=3,
                ).map(",".join),
            )
        )
        shown = data.draw(
            st.one_of(st.none(), st.lists(st.sampled_from(header), min_size=1).map(",".join))
        )
        query = {
            "model": data.draw(st.one_of(st.none(), st.sampled_from(models))),
            "where": where,
            "sort": sort,
            "columns": shown,
            "all_columns": data.draw(st.booleans()),
        }
        # Text with a backslash (repr's escapes) or three quotes in a row is left to pandas.
        text = where or ""
        plain = not any(mark in text for mark in ("\\", "'''", '"""'))
        _same(reg, fast=plain and "git_dirty" not in (sort or ""), **query)
    _same(reg, fast=False, where=data.draw(st.sampled_from(OUTSIDE)))
    assert _same(reg, fast=False, model="no-such-model", where="version > 0")[0] == "NotFound"


# -- hand-written cases ----------------------------------------------------------------


@pytest.fixture
def mixed(tmp_path: Path) -> minireg.Registry:
    """Versions with and without each metric, params, tags, stages, aliases, dates."""
    versions = [
        {"model": "churn", "metrics": {"auc": 0.9, "loss": 0.1}, "params": {"C": 1}},
        {"model": "churn", "metrics": {"loss": 0.3}, "tags": {"team": "ünï"}},
        {"model": "churn", "metrics": {"auc": 0.85, "loss": -0.5}, "params": {"C": "x"}},
        {"model": "fraud", "metrics": {"auc": 0.95}},
        {"model": "fraud", "metrics": {}, "description": "no metrics at all"},
    ]
    for n, spec in enumerate(versions):
        spec.setdefault("training_date", TRAINING[n % len(TRAINING)])
    changes = [("promote", 0, "Staging"), ("promote", 3, "Production"), ("alias", 1, "None")]
    return _build(tmp_path / "registry", versions, changes)


def _keys(answer: Answer) -> list[tuple[Any, Any]]:
    assert not isinstance(answer[0], str), answer
    return [(row["model"], row["version"]) for row in answer[1]]


@pytest.mark.parametrize(
    ("where", "keys"),
    [
        ("metric.auc > 0.86", [("churn", 1), ("fraud", 1)]),  # NaN passes no comparison
        ("metric.auc <= 0.86", [("churn", 3)]),
        ("metric.auc != 0.9", [("churn", 2), ("churn", 3), ("fraud", 1), ("fraud", 2)]),
        ("not metric.auc > 0.86", [("churn", 2), ("churn", 3), ("fraud", 2)]),
        ("metric.auc in [0.9, 0.95]", [("churn", 1), ("fraud", 1)]),
        ("metric.auc not in (0.9,)", [("churn", 2), ("churn", 3), ("fraud", 1), ("fraud", 2)]),
        ("0.8 < metric.auc < 0.92", [("churn", 1), ("churn", 3)]),
        ("stage != 'None' or `metric.loss` < 0", [("churn", 1), ("churn", 3), ("fraud", 1)]),
        ("param.C == '1' and tag.team == ''", [("churn", 1)]),
        ("tag.team == 'ünï'", [("churn", 2)]),
        ("aliases == 'champion'", [("churn", 2)]),
    ],
)
def test_common_conditions_without_pandas(
    mixed: minireg.Registry, where: str, keys: list[tuple[str, int]]
) -> None:
    assert _keys(_same(mixed, fast=True, where=where)) == keys


def test_missing_metrics_sort_last_and_show_as_none(mixed: minireg.Registry) -> None:
    up = _same(mixed, fast=True, sort="metric.auc", columns="model,version,metric.auc")
    down = _same(mixed, fast=True, sort="-metric.auc,-version", columns="version,metric.auc")
    assert not isinstance(up[0], str) and not isinstance(down[0], str)
    assert [row["metric.auc"] for row in up[1]] == [0.85, 0.9, 0.95, None, None]
    assert [(row["version"], row["metric.auc"]) for row in down[1]] == [
        (1, 0.95), (1, 0.9), (3, 0.85), (2, None), (2, None),
    ]  # fmt: skip


def test_dates_in_the_rows_read_as_pandas_shows_them(mixed: minireg.Registry) -> None:
    got = _same(mixed, fast=True, where="version > 0", all_columns=True)
    assert not isinstance(got[0], str)
    first = got[1][0]
    assert first["created_at"] == "2024-03-01T12:00:00Z"  # no fraction of a second: none shown
    assert got[1][1]["created_at"] == "2024-03-01T12:00:37.001007Z"
    assert first["training_date"] == "2024-02-28T00:00:00Z"
    assert first["approved_at"] is None and first["git_dirty"] in (True, False)
    assert got[1][3]["approved_at"] == "2024-03-01T13:00:01Z"  # fraud 1, approved
    assert isinstance(first["artifact_bytes"], int) and first["param.C"] == "1"
    _same(mixed, fast=True, sort="-created_at,training_date", columns="version,created_at")


@pytest.mark.parametrize(
    "where",
    [
        "metric.precision > 0.5",  # no version has it: quote_columns' message
        "auc > 0.5",  # not a column: pandas' message
        "metric.auc >",  # not an expression
        "stage == 1",  # text against a number: pandas decides
        "version > 1 & stage == 'None'",
        "created_at > '2024-03-01T12:01:00Z'",
        "metric.auc.isna()",
    ],
)
def test_the_rest_goes_to_pandas_with_the_same_answer(mixed: minireg.Registry, where: str) -> None:
    want = _same(mixed, fast=False, where=where)
    if where.startswith(("metric.precision", "auc", "metric.auc >")):
        assert want[0] == "InvalidInput"
    if where == "metric.precision > 0.5":
        assert want[1] == (
            "No version has metric 'precision' (--where names metric.precision); "
            "the metrics are: auc, loss."
        )


def test_unknown_columns_and_models_are_named_as_before(mixed: minireg.Registry) -> None:
    assert _same(mixed, fast=False, sort="nope")[1].startswith(  # type: ignore[union-attr]
        "--sort names unknown column 'nope'; the columns are: model, version,"
    )
    message = _same(mixed, fast=False, columns="tag.nope")[1]
    assert isinstance(message, str) and message.endswith("param.C, tag.team.")  # every column
    assert _same(mixed, fast=False, model="ltv", where="version > 0") == (
        "NotFound",
        _pandas(mixed, True, model="ltv")[1],
    )


def _chained(reg: minireg.Registry, *datas: dict[str, Any]) -> None:
    """Append register events written by another tool (hash-chained, as minireg would)."""
    from minireg.domain.records import Draft, Event, chain

    path = reg.root / "events.jsonl"
    head = Event.from_line(path.read_bytes().splitlines()[-1].decode())
    base = reg.versions()[0].to_dict()
    drafts = []
    for n, data in enumerate(datas, start=1):
        body = {k: v for k, v in base.items() if k not in ("model", "version", "stage", "aliases")}
        body.update(approved_by=None, approved_at=None)
        body = {k: v for k, v in body.items() if v is not None}
        drafts.append(Draft("register", "other", n, {**body, **data}))
    events = chain(drafts, head=head, time="2024-05-01T00:00:00Z", actor="x", tool="x")
    with path.open("a", encoding="utf-8") as out:
        out.writelines(e.to_line() + "\n" for e in events)


def test_values_another_tool_wrote_are_read_as_pandas_reads_them(
    mixed: minireg.Registry,
) -> None:
    _chained(
        mixed,
        {"metrics": {"auc": 3, "loss": 2**60}},  # ints: pandas makes them floats
        {"metrics": {"auc": True}, "training_date": "2024-03-01T12:00:00+02:00"},
        {"artifact_bytes": None, "git_dirty": "true"},
    )
    stamp = mixed.root / ".cache" / "ledger.stamp"
    assert not stamp.exists() or _pandas(mixed, True) == _pandas(mixed, False)
    for query in (
        {"where": "metric.auc > 0.5"},  # a bool metric is NaN in pandas: pandas decides
        {"where": "version > 0", "model": "churn"},
        {"where": "`metric.loss` > 0"},
        {"sort": "training_date", "columns": "model,version,training_date"},
        {"where": "artifact_bytes > 0"},
        {"columns": "model,git_dirty,artifact_bytes"},
    ):
        want = _pandas(mixed, True, **query)
        assert _exact(_run(mixed, **query)) == _exact(want)
    assert _fast(mixed, where="version > 0", model="churn") is not None  # these are plain
    assert _fast(mixed, where="metric.auc > 0.5") is None
    assert _fast(mixed, columns="model,training_date") is None
    assert _fast(mixed, where="artifact_bytes > 0") is None


# -- the command line --------------------------------------------------------------


def _pandas_loaded(root: Path, *args: str) -> tuple[bool, str]:
    code = (
        "import json, sys\n"
        "from minireg.cli import main\n"
        f"code = main({[*args, '--registry', str(root)]!r})\n"
        "print(json.dumps(['pandas' in sys.modules, code]), file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, code = json.loads(out.stderr.strip().splitlines()[-1])
    assert code == 0, out.stderr
    return loaded, out.stdout


def test_the_fast_path_never_imports_pandas(mixed: minireg.Registry) -> None:
    where = "metric.auc > 0.86 and stage != 'Archived'"
    shutil.rmtree(mixed.root / ".cache")
    loaded, table = _pandas_loaded(mixed.root, "list", "--where", where, "--sort", "-version")
    assert not loaded and "fraud" in table
    loaded, _ = _pandas_loaded(mixed.root, "list", "--where", "version > 0", "--json")
    assert not loaded
    loaded, _ = _pandas_loaded(mixed.root, "list", "--where", "version > 0 & version < 2")
    assert loaded  # outside the subset: pandas decides


def test_list_where_after_a_clone_answers_as_before(mixed: minireg.Registry) -> None:
    args = ["list", "--where", "`metric.auc` > 0.86 and stage == 'Staging'", "--json"]
    before = run_proc(*args, "--registry", str(mixed.root))  # the vouched ledger, pandas
    assert before.returncode == 0, before.stderr
    assert [row["version"] for row in json.loads(before.stdout)] == [1]
    shutil.rmtree(mixed.root / ".cache")  # as after a fresh clone
    after = run_proc(*args, "--registry", str(mixed.root))
    assert after.returncode == 0 and after.stderr == ""
    assert json.loads(after.stdout) == json.loads(before.stdout)
    assert after.stdout == before.stdout
    # Python parses `1and` with a SyntaxWarning on stderr; pandas reads it as `1 and`.
    odd = run_proc(
        "list", "--where", "version > 1and stage == 'None'", "--json", "--registry",
        str(mixed.root),
    )  # fmt: skip
    assert odd.returncode == 0 and odd.stderr == ""
    assert [row["version"] for row in json.loads(odd.stdout)] == [2, 3, 2]
    bad = run_proc("list", "--where", "metric.nope > 1", "--registry", str(mixed.root))
    assert bad.returncode == 2
    assert bad.stderr == (
        "error: No version has metric 'nope' (--where names metric.nope); "
        "the metrics are: auc, loss.\n"
    )
