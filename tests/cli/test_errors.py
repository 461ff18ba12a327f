"""The one error funnel, the same on the fast path and under Typer, and free of Typer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import minireg
from minireg.cli import errors, main
from minireg.cli.errors import Exit
from minireg.cli.typer_app import command
from minireg.errors import (
    IntegrityError,
    InvalidInput,
    MiniregError,
    NotFound,
    Refused,
    RegistryBusy,
    RemoteError,
    Unsafe,
)
from tests.conftest import run_cli
from tests.support.cli import declarations


def test_every_command_runs_its_body_through_the_funnel() -> None:
    bodies = {name: getattr(run, "__minireg_body__", None) for name, run in declarations()}
    assert [name for name, body in bodies.items() if body is None] == []


def raising(exc: BaseException) -> Any:
    def body() -> None:
        raise exc

    return body


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (MiniregError("Something minireg knows about."), 1),
        (InvalidInput("Version 'x' is not a positive whole number."), 2),
        (NotFound("Model 'fraud' is not in the registry."), 3),
        (Refused("Promotion refused: no approver."), 4),
        (RegistryBusy("The registry is busy."), 5),
        (IntegrityError("The registry does not check out."), 6),
        (RemoteError("MLflow is unreachable."), 7),
        (Unsafe("Pickle loading is forbidden."), 8),
    ],
    ids=lambda x: type(x).__name__ if isinstance(x, Exception) else str(x),
)
def test_an_error_is_one_sentence_and_its_class_exit_code(
    exc: MiniregError, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert errors.run(raising(exc), {}) == code
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", f"error: {exc.message}\n")


def test_every_reason_and_problem_gets_its_own_line(capsys: pytest.CaptureFixture[str]) -> None:
    refused = Refused("Promotion of churn version 5 to Production is refused: a; b.", ["a", "b"])
    assert errors.run(raising(refused), {}) == 4
    assert capsys.readouterr().err == (
        "error: Promotion of churn version 5 to Production is refused:\n  - a\n  - b\n"
    )
    broken = IntegrityError("The registry does not check out: 2 problem(s).", ["x", "y"])
    assert errors.run(raising(broken), {}) == 6
    assert capsys.readouterr().err == (
        "error: The registry does not check out: 2 problem(s).\n  - x\n  - y\n"
    )


def test_a_bug_points_to_traceback_and_exits_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINIREG_TRACEBACK", raising=False)
    assert errors.run(raising(ZeroDivisionError("division by zero")), {}) == 1
    assert capsys.readouterr().err == (
        "error: unexpected internal error (ZeroDivisionError: division by zero); "
        "re-run with --traceback and report it.\n"
    )
    monkeypatch.setenv("MINIREG_TRACEBACK", "1")
    with pytest.raises(ZeroDivisionError):
        errors.run(raising(ZeroDivisionError("division by zero")), {})


def test_traceback_flag_lets_a_bug_propagate() -> None:
    errors.show_tracebacks(True)
    try:
        with pytest.raises(ZeroDivisionError):
            errors.run(raising(ZeroDivisionError("division by zero")), {})
    finally:
        errors.show_tracebacks(False)


def test_ctrl_c_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    assert errors.run(raising(KeyboardInterrupt()), {}) == 130
    assert capsys.readouterr().err == "error: interrupted.\n"


def test_exit_leaves_quietly_with_its_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert errors.run(raising(Exit(6)), {}) == 6
    assert capsys.readouterr() == ("", "")


def test_the_body_gets_its_keywords() -> None:
    seen: dict[str, object] = {}
    assert errors.run(lambda **kw: seen.update(kw), {"model": "churn", "json_out": True}) == 0
    assert seen == {"model": "churn", "json_out": True}


@pytest.mark.parametrize(
    ("exc", "code", "stderr"),
    [
        (NotFound("No such thing."), 3, "error: No such thing.\n"),
        (KeyboardInterrupt(), 130, "error: interrupted.\n"),
        (
            ZeroDivisionError("boom"),
            1,
            "error: unexpected internal error (ZeroDivisionError: boom); "
            "re-run with --traceback and report it.\n",
        ),
    ],
    ids=["error", "ctrl-c", "bug"],
)
def test_typer_commands_funnel_the_same_way(
    exc: BaseException, code: int, stderr: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINIREG_TRACEBACK", raising=False)
    group = typer.Typer()

    @command(group, raising(exc), "boom")
    def boom() -> None:
        """Fail.

        Example: minireg boom
        """

    @command(group, lambda: None, "fine")
    def fine() -> None:
        """Succeed.

        Example: minireg fine
        """

    res = CliRunner().invoke(group, ["boom"], catch_exceptions=False)
    assert (res.exit_code, res.stdout, res.stderr) == (code, "", stderr)
    assert CliRunner().invoke(group, ["fine"], catch_exceptions=False).exit_code == 0


def test_main_returns_the_exit_code_on_either_path(
    reg: minireg.Registry, artifact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    root = str(reg.root)
    message = "error: Model churn has no version 9; its latest version is 1.\n"
    assert main(["path", "churn", "9", "-r", root]) == 3  # the table's
    assert capsys.readouterr() == ("", message)
    assert main(["--traceback", "path", "churn", "9", "-r", root]) == 3  # Typer's
    assert capsys.readouterr() == ("", message)
    assert main(["path", "churn", "1", "-r", root]) == 0
    assert Path(capsys.readouterr().out.strip()).is_file()
    assert main(["path", "churn", "1", "--bogus"]) == 2  # Typer's usage error
    assert "No such option: --bogus" in capsys.readouterr().err


def test_verify_json_exits_6_quietly_on_both_paths(
    reg: minireg.Registry, artifact: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    (reg.root / "ledger.csv").write_text("model,version\nchurn,7\n")
    res = run_cli("verify", "--json", "--registry", str(reg.root))
    assert (res.exit_code, res.stderr) == (6, "")
    assert json.loads(res.stdout)["ok"] is False
    assert main(["verify", "--json", "--registry", str(reg.root)]) == 6
    fast = capsys.readouterr()
    assert (fast.out, fast.err) == (res.stdout, "")
