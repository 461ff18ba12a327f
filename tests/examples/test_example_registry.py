"""The example registry committed at registry/ reads, verifies, and can be regenerated."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import minireg
from tests.conftest import ROOT, run_proc, tree_digest

EXAMPLE = ROOT / "registry"


def test_list_reads_the_example_registry() -> None:
    out = run_proc("list", "--registry", "registry", cwd=ROOT)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["model", "version", "stage"]
    assert any(line.startswith("churn_predictor") and "Production" in line for line in lines)
    out = run_proc("list", "churn_predictor", "--json", "--registry", "registry", cwd=ROOT)
    records = json.loads(out.stdout)
    assert [r["version"] for r in records] == [1, 2, 3]
    assert all(r["metrics"]["auc_roc"] > 0.5 and r["data_sha256"] for r in records)
    assert all(len(r["git_commit"]) == 40 for r in records)


def test_verify_passes_on_the_example_registry() -> None:
    before = tree_digest(EXAMPLE)
    out = run_proc("verify", "--registry", "registry", cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert tree_digest(EXAMPLE) == before


def test_the_example_registry_ignores_lock_temp_and_cache() -> None:
    ignored = (EXAMPLE / ".gitignore").read_text().splitlines()
    assert {".minireg.lock", ".tmp-*", ".cache/"} <= set(ignored)
    tracked = subprocess.run(
        ["git", "ls-files", "registry"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "registry/events.jsonl" in tracked
    assert not [p for p in tracked if ".tmp-" in p or ".cache/" in p or p.endswith(".lock")]


def test_the_production_model_loads_by_stage() -> None:
    pytest.importorskip("sklearn")
    reg = minireg.open_registry(EXAMPLE)
    rec = reg.resolve("models:/churn_predictor/Production")
    assert (rec.version, rec.aliases) == (2, ("champion",))
    import joblib

    model = joblib.load(reg.artifact_path(rec))
    assert model.predict_proba([[0.0] * 5]).shape == (1, 2)


@pytest.mark.slow
def test_the_script_rebuilds_the_same_registry(tmp_path: Path) -> None:
    target = tmp_path / "registry"
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "make_example_registry.py"),
            "--registry",
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    fresh = minireg.open_registry(target)
    committed = minireg.open_registry(EXAMPLE)

    def shape(reg: minireg.Registry) -> list[tuple[object, ...]]:
        return [
            (r.model, r.version, r.stage, r.aliases, r.git_commit, r.created_at, r.params)
            for r in reg.versions()
        ]

    assert shape(fresh) == shape(committed)
    assert [e.action for e in fresh.events()] == [e.action for e in committed.events()]
