"""Benchmark the spreadsheet features: list --where and to_pandas() on 100,000 versions, and
the XLSX ledger write after one promote at 10,000 versions.

Run: .venv/bin/python bench/bench_sheet.py [--versions 100000] [--xlsx-versions 10000]
Prints figures; it does not pass or fail.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import minireg
from minireg._version import TOOL
from minireg.domain.records import Draft, chain

WHERE = "metric.auc_roc > 0.9 and stage == 'Production'"


def build(root: Path, versions: int, models: int = 100) -> minireg.Registry:
    """A registry of ``versions`` versions over ``models`` models, written straight as events."""
    reg = minireg.init_registry(root)
    rng = random.Random(7)
    drafts: list[Draft] = []
    per_model: dict[str, int] = {}
    for i in range(versions):
        model = f"model_{i % models:03d}"
        number = per_model.get(model, 0) + 1
        per_model[model] = number
        body = {
            "created_at": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00.{i % 1000000:06d}Z",
            "registered_by": "bench@example.com",
            "git_commit": f"{i:040x}",
            "git_branch": "main",
            "git_dirty": False,
            "training_date": "2024-01-01",
            "data_sha256": f"{i:064x}",
            "artifact": "model.joblib",
            "artifact_sha256": f"{i + 1:064x}",
            "artifact_bytes": 1000 + i,
            "flavor": "joblib",
            "requirements_sha256": "",
            "description": f"version {number} of {model}",
            "metrics": {"auc_roc": round(rng.uniform(0.7, 0.99), 4), "f1": rng.random()},
            "params": {"C": str(rng.choice([0.1, 1.0, 10.0])), "max_iter": "100"},
            "tags": {"team": "bench"},
        }
        drafts.append(Draft("register", model, number, body))
        if number % 10 == 0:
            drafts.append(Draft("transition", model, number, {"from": "None", "to": "Production"}))
    events = chain(drafts, head=None, time="2024-06-01T00:00:00.000000Z", actor="b", tool=TOOL)
    reg.storage.events_path.write_text("".join(e.to_line() + "\n" for e in events))
    reg.rebuild()
    return reg


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the machine may be busy)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(label: str, func: Callable[[], object], repeat: int = 3) -> float:
    """Run ``func`` ``repeat`` times; print the best wall time and the CPU time of that run."""
    best, best_cpu = float("inf"), 0.0
    for _ in range(repeat):
        cpu = _cpu()
        start = time.perf_counter()
        func()
        wall = time.perf_counter() - start
        if wall < best:
            best, best_cpu = wall, _cpu() - cpu
    print(f"{label:<58} {best:7.3f} s wall {best_cpu:7.3f} s CPU (best of {repeat})")
    return best


def cli(*args: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "minireg", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"minireg {' '.join(args)} failed: {out.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--xlsx-versions", type=int, default=10_000)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "big"
        start = time.perf_counter()
        reg = build(root, args.versions)
        print(f"built {args.versions} versions in {time.perf_counter() - start:.1f} s")
        r = str(root)
        timed("minireg list (plain, cold process)", lambda: cli("list", "-r", r), 1)
        timed(
            "minireg list --where --sort --columns (cold process)",
            lambda: cli(
                "list",
                "-r",
                r,
                "--where",
                WHERE,
                "--sort",
                "metric.auc_roc",
                "--columns",
                "model,version,metric.auc_roc",
            ),
        )
        (root / ".cache" / "ledger.stamp").unlink()
        timed(
            "minireg list --where ... without the ledger stamp (fold)",
            lambda: cli("list", "-r", r, "--where", WHERE, "--columns", "model,version"),
            1,
        )
        minireg.open_registry(root).rebuild()
        timed("Registry.to_pandas()", lambda: minireg.open_registry(root).to_pandas())
        timed("Registry.events_to_pandas()", lambda: minireg.open_registry(root).events_to_pandas())

        small = Path(tmp) / "xlsx"
        reg = build(small, args.xlsx_versions)
        cli("convert", "--to", "xlsx", "-r", str(small))
        versions = iter(range(1, 1000))

        def promote() -> None:
            reg = minireg.open_registry(small)
            reg.promote("model_000", next(versions), "Staging", actor="bench")

        timed(f"promote + XLSX ledger write at {args.xlsx_versions} versions", promote)
        from minireg.adapters.xlsx import workbook_bytes

        state = reg.state()
        events = reg.events()
        timed(
            f"workbook_bytes alone at {args.xlsx_versions} versions",
            lambda: workbook_bytes(state.records(), events),
        )
        timed("verify of the XLSX registry", lambda: minireg.open_registry(small).verify(), 1)
        size = (small / "ledger.xlsx").stat().st_size
        print(f"ledger.xlsx at {args.xlsx_versions} versions: {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
