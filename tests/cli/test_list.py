"""Plain `minireg list`: the newest rows on a terminal, everything in a pipe, --json streamed."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import minireg
from minireg.cli.versions import LIST_NEWEST
from tests.conftest import run_cli, run_proc


def on_a_terminal(*args: str, cwd: Path) -> tuple[int, str]:
    """Run ``python -m minireg ARGS`` with stdout and stderr on a pseudo-terminal."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "minireg", *args],
        cwd=cwd,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "COLUMNS": "200"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.fixture
def many(reg: minireg.Registry, repo: Path) -> minireg.Registry:
    """60 versions of churn and 20 of fraud, registered in one batch; churn v3 promoted."""
    folder = repo / "arts"
    folder.mkdir()
    items: list[dict[str, Any]] = []
    for n in range(80):
        path = folder / f"{n}.bin"
        path.write_bytes(f"model {n}\n".encode())
        model = "churn" if n < 60 else "fraud"
        items.append(
            {"model": model, "artifact": path, "metrics": {"auc_roc": n / 100}, "requirements": b""}
        )
    reg.register_many(items, actor="me")
    reg.promote("churn", 3, "Staging", actor="me")
    return reg


def rows_of(text: str) -> list[list[str]]:
    """The data rows of a table (after the header and its dashes)."""
    lines = [line for line in text.splitlines() if line and not line.startswith("Showing")]
    return [line.split() for line in lines[2:]]


def test_a_terminal_shows_the_newest_rows_and_says_how_many_are_left_out(
    many: minireg.Registry, repo: Path
) -> None:
    code, text = on_a_terminal("list", "churn", "-r", str(many.root), cwd=repo)
    assert code == 0, text
    rows = rows_of(text)
    assert [int(row[1]) for row in rows] == list(range(11, 61))
    assert len(rows) == LIST_NEWEST
    assert text.endswith(
        "Showing the newest 50 versions of 60; 10 more are left out (--all shows every version).\n"
    )
    code, text = on_a_terminal("list", "churn", "--all", "-r", str(many.root), cwd=repo)
    assert code == 0, text
    assert [int(row[1]) for row in rows_of(text)] == list(range(1, 61))
    assert "Showing" not in text
    code, text = on_a_terminal("list", "fraud", "-r", str(many.root), cwd=repo)
    assert len(rows_of(text)) == 20 and "Showing" not in text


def test_a_pipe_gets_every_row(many: minireg.Registry, repo: Path) -> None:
    res = run_proc("list", "-r", str(many.root), cwd=repo)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""
    rows = rows_of(res.stdout)
    assert len(rows) == 80
    assert rows[2][:3] == ["churn", "3", "Staging"]
    assert res.stdout == run_cli("list", "-r", str(many.root)).stdout


def test_json_streams_every_record_as_one_valid_array(many: minireg.Registry, repo: Path) -> None:
    res = run_proc("list", "churn", "--json", "-r", str(many.root), cwd=repo)
    assert res.returncode == 0, res.stderr
    expected = [rec.to_dict() for rec in many.versions("churn")]
    assert res.stdout == json.dumps(expected, ensure_ascii=False) + "\n"
    code, text = on_a_terminal("list", "--json", "-r", str(many.root), cwd=repo)
    assert code == 0
    everything = [rec.to_dict() for rec in many.versions()]
    assert text == json.dumps(everything, indent=2, ensure_ascii=False) + "\n"
    empty = minireg.init_registry(repo / "empty")
    assert run_proc("list", "--json", "-r", str(empty.root)).stdout == "[]\n"


def test_a_hand_edited_ledger_never_changes_the_list(many: minireg.Registry, repo: Path) -> None:
    before = run_proc("list", "churn", "-r", str(many.root), cwd=repo).stdout
    ledger = many.root / "ledger.csv"
    ledger.write_bytes(ledger.read_bytes().replace(b"churn,3,Staging", b"churn,3,Production"))
    assert run_proc("list", "churn", "-r", str(many.root), cwd=repo).stdout == before
    assert "Production" not in before


def test_an_unknown_model_exits_3(many: minireg.Registry, repo: Path) -> None:
    res = run_proc("list", "nobody", "-r", str(many.root), cwd=repo)
    assert res.returncode == 3
    assert res.stderr == (
        "error: Model 'nobody' is not in the registry; `minireg list` shows the models.\n"
    )
