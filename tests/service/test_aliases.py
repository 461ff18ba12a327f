"""Aliases as in MLflow: naming rules, one version per alias, moves are events."""

from __future__ import annotations

import json

import pytest

import minireg
from tests.conftest import run_cli, run_proc, tree_digest
from tests.support.stages import add_version


@pytest.fixture
def three(reg: minireg.Registry) -> minireg.Registry:
    for auc in (0.8, 0.85, 0.9):
        add_version(reg, auc)
    return reg


def _aliases(reg: minireg.Registry) -> dict[int, tuple[str, ...]]:
    return {rec.version: rec.aliases for rec in reg.versions("churn")}


def test_set_move_and_delete(three: minireg.Registry) -> None:
    r = ["--registry", str(three.root)]
    res = run_cli("alias", "set", "churn", "champion", "1", *r)
    assert (res.exit_code, res.stderr) == (0, "@champion now points to churn version 1.\n")
    assert run_cli("alias", "set", "churn", "@challenger", "1", *r).exit_code == 0
    assert run_cli("alias", "set", "churn", "stable_2024-03", "1", *r).exit_code == 0
    # Several aliases per version.
    assert _aliases(three) == {1: ("challenger", "champion", "stable_2024-03"), 2: (), 3: ()}
    shown = json.loads(run_cli("show", "churn", "1", "--json", *r).stdout)
    assert shown["aliases"] == ["challenger", "champion", "stable_2024-03"]

    # One version per alias: moving it takes it from version 1; the move is an event.
    res = run_cli("alias", "set", "churn", "champion", "3", *r)
    assert res.exit_code == 0
    assert _aliases(three) == {1: ("challenger", "stable_2024-03"), 2: (), 3: ("champion",)}
    moved = three.history()[-1]
    assert (moved.action, moved.version, moved.data) == (
        "alias_set",
        3,
        {"alias": "champion", "previous": 1},
    )
    assert three.resolve("models:/churn@champion").version == 3
    history = run_cli("history", "churn", *r).stdout.splitlines()
    assert "@champion" in history[-1] and "alias_set" in history[-1]

    # Pointing it where it already points writes nothing.
    before = tree_digest(three.root)
    res = run_cli("alias", "set", "churn", "champion", "3", *r)
    assert (res.exit_code, res.stderr) == (
        0,
        "@champion already points to churn version 3; nothing to do.\n",
    )
    assert tree_digest(three.root) == before

    res = run_cli("alias", "delete", "churn", "challenger", *r)
    assert (res.exit_code, res.stderr) == (0, "@challenger of churn is deleted.\n")
    assert _aliases(three)[1] == ("stable_2024-03",)
    with pytest.raises(minireg.NotFound):
        three.resolve("models:/churn@challenger")
    assert [e.action for e in three.history()][-5:] == [
        "alias_set",
        "alias_set",
        "alias_set",
        "alias_set",
        "alias_delete",
    ]
    assert three.verify().ok


@pytest.mark.parametrize(
    "alias",
    ["latest", "LATEST", "Latest", "v1", "V12", "v007", "bad name", "a.b", "a/b", "é", "x" * 256],
)
def test_invalid_or_reserved_alias_exits_2(three: minireg.Registry, alias: str) -> None:
    before = tree_digest(three.root)
    res = run_cli("alias", "set", "churn", alias, "1", "--registry", str(three.root))
    assert res.exit_code == 2
    assert res.stderr.startswith(f"error: Alias {alias!r} is ")
    assert tree_digest(three.root) == before


def test_reserved_alias_message(three: minireg.Registry) -> None:
    res = run_cli("alias", "set", "churn", "v2", "2", "--registry", str(three.root))
    assert res.stderr == (
        "error: Alias 'v2' is reserved ('latest' and 'v<N>' mean versions); choose another name.\n"
    )


@pytest.mark.parametrize(
    "alias", ["v1a", "vv1", "version", "latest-good", "_x", "A-1_b", "x" * 255]
)
def test_valid_alias_names(three: minireg.Registry, alias: str) -> None:
    assert three.set_alias("churn", alias, 2).changed
    assert three.resolve(f"models:/churn@{alias}").version == 2


def test_not_found_cases_exit_3(three: minireg.Registry) -> None:
    r = ["--registry", str(three.root)]
    three.set_alias("churn", "champion", 1)
    before = tree_digest(three.root)
    res = run_cli("alias", "delete", "churn", "nosuch", *r)
    assert (res.exit_code, res.stderr) == (3, "error: Model churn has no alias @nosuch.\n")
    assert run_cli("alias", "delete", "other", "champion", *r).exit_code == 3
    assert run_cli("alias", "set", "churn", "champion", "9", *r).exit_code == 3
    assert run_cli("alias", "set", "other", "champion", "1", *r).exit_code == 3
    # Aliases are case-sensitive, as in MLflow.
    assert run_cli("alias", "delete", "churn", "Champion", *r).exit_code == 3
    assert tree_digest(three.root) == before


def test_alias_in_a_real_process(three: minireg.Registry) -> None:
    r = ["--registry", str(three.root)]
    out = run_proc("alias", "set", "churn", "champion", "2", *r)
    assert out.returncode == 0, out.stderr
    out = run_proc("path", "models:/churn@champion", *r)
    assert out.returncode == 0
    assert out.stdout.strip() == str(three.artifact_path(three.get("churn", 2)))
