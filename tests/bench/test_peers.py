"""bench/peers.py builds fixtures each tool reads as its own, and times and reports fairly.

The timing itself is not tested (it is a benchmark, not a verdict); what is tested is
that its fixtures are what the figures claim (a GTO repository tagged as GTO tags, a
minireg registry that verifies with Production where the timed commands expect it),
that the round robin keeps every run's time and sets a failing command aside, and that
the table's ratios are the ones the README quotes.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from minireg.service.registry import open_registry
from tests.conftest import ROOT, git


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_peers", ROOT / "bench" / "peers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


peers = _load()


def test_the_gto_fixture_has_one_commit_and_one_gto_tag_a_version(tmp_path: Path) -> None:
    peers.build_gto(tmp_path, 5)
    fmt = "%(refname:short) %(objecttype) %(*objectname) %(contents:subject)"
    tags = git(tmp_path, "for-each-ref", f"--format={fmt}", "refs/tags").splitlines()
    commits = git(tmp_path, "rev-list", "--reverse", "main").splitlines()
    assert len(commits) == 5
    expected = [
        f"m@v0.0.{n} tag {commits[n - 1]} Registering artifact m version v0.0.{n}"
        for n in range(1, 6)
    ]
    expected.append(f"m#prod#1 tag {commits[3]} Assigning stage prod to artifact m version v0.0.4")
    assert sorted(tags) == sorted(expected)
    assert git(tmp_path, "status", "--porcelain") == ""
    assert (tmp_path / "train.py").read_text() == "SEED = 5\n"
    assert not list((tmp_path / ".git" / "refs" / "tags").iterdir())  # packed, as in a clone


def test_the_minireg_fixture_verifies_with_the_last_but_one_in_production(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINIREG_ACTOR", "someone@example.com")
    peers.build_minireg(tmp_path, 12)
    reg = open_registry(tmp_path / "registry")
    assert reg.verify().ok
    records = reg.versions("m")
    assert [r.version for r in records] == list(range(1, 13))
    assert [r.version for r in records if r.stage == "Production"] == [11]
    # The versions the timed promote walks through never held Production.
    assert list(peers.to_promote(12)) == [str(n) for n in range(1, 11)]


def _case(name: str, code: str, cwd: Path) -> object:
    return peers.Case(
        "minireg", name, 10, name, lambda: [sys.executable, "-c", code], cwd, {}, None
    )


def test_rounds_keep_every_run_and_set_a_failing_command_aside(tmp_path: Path) -> None:
    log = tmp_path / "order.txt"
    record = f"open({str(log)!r}, 'a').write('{{}}\\n')"
    ok = [_case(name, record.format(name), tmp_path) for name in ("a", "b", "c")]
    bad = _case("bad", "raise SystemExit('no registry here')", tmp_path)
    peers.run_rounds([*ok, bad], 3)
    assert [len(case.times) for case in ok] == [3, 3, 3]
    assert bad.times == []
    assert "exited 1" in bad.error and "no registry here" in bad.error
    runs = log.read_text().split()
    # A warm-up run each, then rounds starting one case further each time.
    assert runs == ["a", "b", "c", "a", "b", "c", "b", "c", "a", "c", "a", "b"]


def test_the_table_gives_ratios_to_the_floor_and_to_minireg(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def case(tool: str, op: str, times: list[float]) -> object:
        made = peers.Case(tool, op, 1000, f"{tool} {op}", list, tmp_path, {}, None)
        made.times = times
        return made

    peers.report(
        [
            case("python", "floor", [20.0, 25.0, 30.0]),
            case("gto", "resolve", [5000.0]),
            case("minireg", "resolve", [90.0, 100.0, 110.0]),
            case("mlflow", "resolve", [3000.0]),
        ]
    )
    rows = capsys.readouterr().out.splitlines()
    assert [row.split()[:2] for row in rows[1:]] == [
        ["floor", "python"],
        ["resolve", "minireg"],
        ["resolve", "mlflow"],
        ["resolve", "gto"],
    ]
    assert rows[2].split()[3:6] == ["100.0", "90-110", "4.0x"]
    assert rows[3].split()[5:7] == ["120.0x", "30.0x"]
    assert rows[4].split()[5:7] == ["200.0x", "50.0x"]


@pytest.mark.parametrize(
    "argv", [["--only", "mlflow,svn"], ["--sizes", "5", "--rounds", "9"], ["--rounds", "0"]]
)
def test_bad_options_stop_with_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        peers.parse_args(argv)
    assert stop.value.code == 2


def _make_plan(target: str) -> str:
    out = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


def test_make_bench_peers_runs_the_bench_and_make_test_and_bench_do_not() -> None:
    assert ".venv/bin/python bench/peers.py" in _make_plan("bench-peers")
    assert "peers" not in _make_plan("test")
    assert "bench_*.py" in _make_plan("bench")  # peers.py is not one of them
    assert ".bench/" in (ROOT / ".gitignore").read_text().splitlines()
