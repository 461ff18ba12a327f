"""`minireg register --batch FILE.jsonl`: one line an item, every bad line named, all or nothing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import minireg
from minireg.cli.table import parse
from tests.conftest import run_cli, run_proc, tree_digest
from tests.support.registry import checked_events


@pytest.fixture
def batch_dir(repo: Path) -> Path:
    """Three small artifacts and a requirements file in the current folder (the repo)."""
    for name in ("a", "b", "c"):
        (repo / f"{name}.bin").write_bytes(f"model {name}\n".encode())
    (repo / "reqs.txt").write_text("x==1\n")
    return repo


GOOD = [
    {
        "model": "churn",
        "artifact": "a.bin",
        "metrics": {"auc_roc": 0.9},
        "requirements": "reqs.txt",
    },
    {"model": "fraud", "artifact": "b.bin", "tags": {"team": "risk"}, "requirements": "reqs.txt"},
    {"model": "churn", "artifact": "c.bin", "params": {"C": 1}, "requirements": "reqs.txt"},
]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_batch_file_registers_every_line_in_order(reg: minireg.Registry, batch_dir: Path) -> None:
    lines = [json.dumps(GOOD[0]), json.dumps(GOOD[1]), "", "  ", json.dumps(GOOD[2])]
    write_lines(batch_dir / "batch.jsonl", lines)  # blank lines are skipped
    res = run_proc("register", "--batch", "batch.jsonl", "-r", str(reg.root), cwd=batch_dir)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "churn 1\nfraud 1\nchurn 2\n"
    assert res.stderr == "Registered 3 versions of 2 models.\n"
    versions = {(r.model, r.version): r for r in reg.versions()}
    assert versions[("churn", 1)].metrics == {"auc_roc": 0.9}
    assert versions[("fraud", 1)].tags == {"team": "risk"}
    assert versions[("churn", 2)].params == {"C": "1"}
    assert reg.requirements(versions[("churn", 2)]) == "x==1\n"
    assert len(checked_events(reg.root)) == 3


def test_json_gives_the_records(reg: minireg.Registry, batch_dir: Path) -> None:
    write_lines(batch_dir / "batch.jsonl", [json.dumps(item) for item in GOOD])
    res = run_proc("register", "--batch", "batch.jsonl", "--json", "-r", str(reg.root))
    assert res.returncode == 0, res.stderr
    records = json.loads(res.stdout)
    assert [(r["model"], r["version"]) for r in records] == [
        ("churn", 1),
        ("fraud", 1),
        ("churn", 2),
    ]
    assert records == [
        rec.to_dict() for rec in (reg.get("churn", 1), reg.get("fraud", 1), reg.get("churn", 2))
    ]


def test_bad_lines_are_all_named_and_nothing_is_written(
    reg: minireg.Registry, batch_dir: Path
) -> None:
    reg.register("churn", batch_dir / "a.bin", requirements=b"x==1\n", actor="me")
    write_lines(
        batch_dir / "batch.jsonl",
        [
            json.dumps(GOOD[0]),
            json.dumps({"model": "churn", "artifact": "missing.bin"}),
            "",
            json.dumps({"model": "fraud", "artifact": "b.bin", "metrics": {"auc_roc": "high"}}),
            json.dumps(GOOD[1]),
        ],
    )
    before = tree_digest(reg.root)
    expected = (
        2,
        "",
        "error: 2 of 4 items are not valid, so nothing was registered:\n"
        "  - line 2: The artifact missing.bin does not exist.\n"
        "  - line 4: Metric 'auc_roc' is 'high'; metrics must be numbers.\n",
    )
    fast = run_proc("register", "--batch", "batch.jsonl", "-r", str(reg.root), cwd=batch_dir)
    assert (fast.returncode, fast.stdout, fast.stderr) == expected
    assert tree_digest(reg.root) == before
    slow = run_cli("register", "--batch", "batch.jsonl", "-r", str(reg.root))
    assert (slow.exit_code, slow.stdout, slow.stderr) == expected
    assert tree_digest(reg.root) == before


def test_a_line_that_is_not_json_is_named(reg: minireg.Registry, batch_dir: Path) -> None:
    write_lines(batch_dir / "batch.jsonl", [json.dumps(GOOD[0]), "{oops", "[1, 2"])
    before = tree_digest(reg.root)
    res = run_proc("register", "--batch", "batch.jsonl", "-r", str(reg.root), cwd=batch_dir)
    assert res.returncode == 2
    assert res.stderr == (
        "error: 2 of 3 lines of batch.jsonl are not JSON, so nothing was registered:\n"
        "  - line 2: not a JSON object (Expecting property name enclosed in double quotes at "
        "column 2).\n"
        "  - line 3: not a JSON object (Expecting ',' delimiter at column 6).\n"
    )
    assert tree_digest(reg.root) == before


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["register", "churn"], "Give MODEL and ARTIFACT (or --batch FILE.jsonl)."),
        (["register"], "Give MODEL and ARTIFACT (or --batch FILE.jsonl)."),
        (
            ["register", "churn", "a.bin", "--batch", "batch.jsonl"],
            "--batch takes every registration from its file; give no MODEL, ARTIFACT or other "
            "register option with it.",
        ),
        (
            ["register", "--batch", "batch.jsonl", "-m", "auc_roc=1"],
            "--batch takes every registration from its file; give no MODEL, ARTIFACT or other "
            "register option with it.",
        ),
        (["register", "--batch", "nowhere.jsonl"], "The batch file nowhere.jsonl does not exist."),
    ],
    ids=["model alone", "nothing", "batch and model", "batch and a metric", "no such file"],
)
def test_misuse_exits_2_on_both_paths(
    reg: minireg.Registry, batch_dir: Path, args: list[str], sentence: str
) -> None:
    write_lines(batch_dir / "batch.jsonl", [json.dumps(GOOD[0])])
    before = tree_digest(reg.root)
    assert parse(args) is not None, "the fast path takes it"
    fast = run_proc(*args, "-r", str(reg.root), cwd=batch_dir)
    slow = run_cli(*args, "-r", str(reg.root))
    assert (fast.returncode, fast.stderr) == (2, f"error: {sentence}\n")
    assert (slow.exit_code, slow.stderr) == (2, f"error: {sentence}\n")
    assert tree_digest(reg.root) == before


def test_commit_makes_one_commit_for_the_batch(reg: minireg.Registry, batch_dir: Path) -> None:
    subprocess.run(["git", "add", "-A"], cwd=batch_dir, check=True)
    subprocess.run(["git", "commit", "-qm", "registry"], cwd=batch_dir, check=True)
    write_lines(batch_dir / "batch.jsonl", [json.dumps(item) for item in GOOD])
    res = run_proc("register", "--batch", "batch.jsonl", "--commit", "-r", str(reg.root))
    assert res.returncode == 0, res.stderr
    log = subprocess.run(
        ["git", "log", "--format=%s", "-2"], cwd=batch_dir, capture_output=True, text=True
    ).stdout.splitlines()
    assert log == ["minireg: register 3 versions", "registry"]
    status = subprocess.run(
        ["git", "status", "--porcelain", "registry"], cwd=batch_dir, capture_output=True, text=True
    ).stdout
    assert status == ""
