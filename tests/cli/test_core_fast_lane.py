"""The fast lane for plain `path` and `list` gives exactly what the Typer commands give."""

from __future__ import annotations

from pathlib import Path

import pytest

import minireg
from minireg.cli.fast import parse
from tests.conftest import run_cli, run_proc


def test_parse_takes_only_the_plain_forms() -> None:
    assert parse(["path", "churn", "3"]) == ("path", {"target": "churn", "version": "3"})
    assert parse(["path", "models:/churn/Production", "-r", "reg"]) == (
        "path",
        {"target": "models:/churn/Production", "registry": Path("reg")},
    )
    assert parse(["list", "--json", "--registry=reg"]) == (
        "list",
        {"json_out": True, "registry": Path("reg")},
    )
    assert parse(["list"]) == ("list", {})
    for argv in (
        [],
        ["register", "churn", "m.pkl"],
        ["path"],
        ["path", "--help"],
        ["path", "a", "b", "c"],
        ["path", "a", "--json"],
        ["list", "a", "b"],
        ["list", "--where", "stage == 'Production'"],
        ["list", "--json", "--json"],
        ["list", "-r", "a", "-r", "b"],
        ["list", "-r"],
        ["list", "-r", "--json"],
        ["list", "--registry="],
        ["list", "--"],
        ["--traceback", "list"],
        ["path", "-1"],
    ):
        assert parse(argv) is None, argv


@pytest.fixture
def populated(reg: minireg.Registry, artifact: Path, repo: Path) -> minireg.Registry:
    reg.register("churn", artifact, metrics={"auc_roc": 0.9}, requirements=b"x==1\n", actor="me")
    reg.register("churn", artifact, metrics={"auc_roc": 0.95}, requirements=b"x==1\n", actor="me")
    reg.promote("churn", 2, "Staging", actor="me")
    return reg


@pytest.mark.parametrize(
    "args",
    [
        ["path", "churn", "2"],
        ["path", "models:/churn/Staging"],
        ["path", "churn", "9"],
        ["path", "fraud", "1"],
        ["path", "churn"],
        ["path", "models:/churn"],
        ["list"],
        ["list", "churn", "--json"],
        ["list", "fraud"],
    ],
    ids=lambda a: " ".join(a),
)
def test_fast_lane_output_equals_typer_output(
    populated: minireg.Registry, repo: Path, args: list[str]
) -> None:
    fast = run_proc(*args, "--registry", str(populated.root), cwd=repo)
    typer_run = run_cli(*args, "--registry", str(populated.root))
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        typer_run.exit_code,
        typer_run.stdout,
        typer_run.stderr,
    )


def test_missing_registry_through_the_fast_lane(repo: Path) -> None:
    out = run_proc("path", "churn", "1", "-r", "nowhere", cwd=repo)
    assert (out.returncode, out.stdout, out.stderr) == (
        3,
        "",
        "error: No minireg registry at nowhere; create one with `minireg init`.\n",
    )
