"""The fast lane for plain `path` and `list` gives exactly what the Typer commands give."""

from __future__ import annotations

from pathlib import Path

import pytest

import minireg
from minireg.cli.fast import parse
from tests.conftest import run_cli, run_proc


def parsed(argv: list[str]) -> tuple[str, dict[str, object]] | None:
    found = parse(argv)
    return None if found is None else (found[0].__name__, found[1])


def test_parse_takes_only_the_plain_forms() -> None:
    assert parsed(["path", "churn", "3"]) == ("path", {"target": "churn", "version": "3"})
    assert parsed(["path", "models:/churn/Production", "-r", "reg"]) == (
        "path",
        {"target": "models:/churn/Production", "registry": Path("reg")},
    )
    assert parsed(["list", "--json", "--registry=reg"]) == (
        "list_",
        {"json_out": True, "registry": Path("reg")},
    )
    assert parsed(["list"]) == ("list_", {})
    assert parsed(
        ["register", "m", "a.pkl", "-m", "x=1", "--metric=y=2", "--json", "--no-commit", "-d", ""]
    ) == (
        "register",
        {
            "model": "m",
            "artifact": Path("a.pkl"),
            "metric": ["x=1", "y=2"],
            "json_out": True,
            "commit": False,
            "description": "",
        },
    )
    for argv in (
        [],
        ["init"],
        ["promote", "churn", "1", "--to", "Staging"],
        ["path"],
        ["path", "--help"],
        ["path", "a", "b", "c"],
        ["path", "a", "--json"],
        ["list", "a", "b"],
        ["list", "--json", "--json"],
        ["list", "-r", "a", "-r", "b"],
        ["list", "-r"],
        ["list", "-r", "--json"],
        ["list", "--registry="],
        ["list", "--json=yes"],
        ["list", "--"],
        ["--traceback", "list"],
        ["path", "-1"],
        ["register", "m"],
        ["register", "m", "a", "--metric", "-1"],
        ["register", "m", "a", "-mx=1"],
        ["register", "m", "a", "--commit", "--no-commit"],
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


@pytest.mark.parametrize(
    "args",
    [
        ["-m", "auc_roc=0.9", "--metric=f1=0.5", "-p", "C=1", "-t", "team=growth", "-d", "x"],
        ["--metric", "auc_roc=high"],
        ["--flavor", "onnx", "--description", "an onnx file"],
        ["--training-date", "yesterday"],
    ],
    ids=["options", "bad metric", "flavor", "bad date"],
)
def test_fast_register_equals_typer_register(repo: Path, artifact: Path, args: list[str]) -> None:
    roots = []
    for name in ("fast", "typer"):
        reg, _ = minireg.init_registry(repo / name)
        reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
        roots.append(reg.root)
    common = ["register", "churn", "model.pkl", "--requirements", "train.py", *args]
    fast = run_proc(*common, "--registry", "fast", cwd=repo)
    typer_run = run_cli(*common, "--registry", "typer")
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        typer_run.exit_code,
        typer_run.stdout,
        typer_run.stderr,
    )
    a, b = (minireg.open_registry(r).versions() for r in roots)
    strip = ("created_at",)
    assert [{k: v for k, v in r.to_dict().items() if k not in strip} for r in a] == [
        {k: v for k, v in r.to_dict().items() if k not in strip} for r in b
    ]
