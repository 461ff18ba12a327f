"""Benchmark of loading by stage: warm ``resolve``, cold ``minireg path models:/NAME/Production``.

- warm: median time of ``minireg.resolve(uri)`` in one process that has
  resolved before (the serving case), for each URI form, on a registry of
  10,000 versions; also the first (cold-cache) call and ``ModelHandle.get()``.
- cold: median wall time of a fresh ``minireg path models:/NAME/Production``
  process on a registry of 1,000 versions, beside ``python -c pass``.

The registries are real (chained events, then ``rebuild``), built in a
temporary folder. Standard library only.

    python bench/bench_resolve.py [--runs N] [--warm-size 10000] [--cold-size 1000]

Targets (issue 4): warm resolve <= 5 ms median at 10,000 versions; cold path
<= 150 ms median at 1,000 versions. Figures, not a verdict: a loaded machine
is slower.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers import register_data

import minireg
from minireg._version import TOOL
from minireg.domain.records import Draft, chain
from minireg.service.registry import init_registry

MODEL = "churn_predictor"
OTHERS = ("fraud_detector", "ranker")


def build_registry(root: Path, size: int) -> Path:
    """``size`` versions over three models, with stages and aliases, built fast."""
    reg = init_registry(root)
    artifact = reg.storage.put_object(b"a small model, stored once and shared by every version\n")
    requirements = reg.storage.put_object(b"scikit-learn==1.5.0\njoblib==1.4.2\n")
    drafts = []
    numbers = dict.fromkeys((MODEL, *OTHERS), 0)
    for n in range(1, size + 1):
        # Most versions belong to MODEL; every tenth to one of the others.
        name = OTHERS[n % 2] if n % 10 == 0 else MODEL
        numbers[name] += 1
        body = register_data(
            n,
            artifact,
            created_at=f"2024-01-01T00:00:{n % 60:02d}.000000Z",
            flavor="joblib" if name == MODEL else "file",
            requirements_sha256=requirements,
            metrics={"auc_roc": 0.8 + (n % 97) / 1000, "f1": 0.7},
            params={"C": "1.0", "seed": str(n)},
        )
        drafts.append(Draft("register", name, numbers[name], body))
    top = numbers[MODEL]
    for v in range(5, top + 1, 5):
        drafts.append(Draft("transition", MODEL, v, {"from": "None", "to": "Staging"}))
    for v in (top // 2, top - 7):
        drafts.append(Draft("transition", MODEL, v, {"from": "Staging", "to": "Production"}))
    drafts.append(Draft("alias_set", MODEL, top // 3, {"alias": "champion", "previous": None}))
    events = chain(drafts, head=None, time="2024-01-02T00:00:00.000000Z", actor="bench", tool=TOOL)
    with open(reg.storage.events_path, "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(event.to_line() + "\n" for event in events)
    reg.rebuild()
    return reg.root


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples):8.3f} ms"


def warm(size: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="minireg-bench-") as tmp:
        root = build_registry(Path(tmp) / "registry", size)
        reg = minireg.open_registry(root)
        print(f"warm process, {size:,} versions, median of {runs} calls:")
        start = time.perf_counter()
        minireg.resolve(f"models:/{MODEL}/Production", reg)
        first = (time.perf_counter() - start) * 1000
        print(f"  first resolve (folds the events)       {first:8.3f} ms")
        for uri in (
            f"models:/{MODEL}/Production",
            f"models:/{MODEL}/production",
            f"models:/{MODEL}/42",
            f"models:/{MODEL}@champion",
            f"models:/{MODEL}/latest",
            f"models:/{OTHERS[0]}/latest",
        ):
            samples = []
            for _ in range(runs):
                start = time.perf_counter()
                minireg.resolve(uri, reg)
                samples.append((time.perf_counter() - start) * 1000)
            print(f"  resolve {uri:<40} {median_ms(samples)}")
        handle = minireg.ModelHandle(f"models:/{OTHERS[0]}/latest", reg)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            handle.current()
            samples.append((time.perf_counter() - start) * 1000)
        print(f"  ModelHandle.get() (no change)          {median_ms(samples)}")
        print("  target: resolve <= 5 ms")


def cold(size: int, runs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="minireg-bench-") as tmp:
        root = build_registry(Path(tmp) / "registry", size)
        env = {**os.environ, "MINIREG_REGISTRY": str(root)}
        # As an installed package runs: with cached bytecode (PYTHONDONTWRITEBYTECODE=1,
        # set in some sandboxes, would recompile minireg's sources on every run).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        script = Path(sys.executable).with_name("minireg")
        cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "minireg"]
        print(f"cold process, {size:,} versions, median of {runs} runs:")
        for label, argv in (
            ("python -c pass", [sys.executable, "-c", "pass"]),
            (
                f"minireg path models:/{MODEL}/Production",
                [*cmd, "path", f"models:/{MODEL}/Production"],
            ),
        ):
            samples, cpu = [], []
            for _ in range(runs):
                used = resource.getrusage(resource.RUSAGE_CHILDREN)
                start = time.perf_counter()
                out = subprocess.run(argv, capture_output=True, env=env, check=False)
                samples.append((time.perf_counter() - start) * 1000)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu.append((after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime) * 1000)
                if out.returncode != 0:
                    raise SystemExit(f"{label} failed: {out.stderr.decode(errors='replace')}")
            print(f"  {label:<46} {median_ms(samples)} wall, {median_ms(cpu)} cpu")
        print(f"  target: minireg path <= 150 ms (load average now {os.getloadavg()[0]:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="runs per figure")
    parser.add_argument("--warm-size", type=int, default=10_000, help="versions for the warm run")
    parser.add_argument("--cold-size", type=int, default=1_000, help="versions for the cold run")
    args = parser.parse_args()
    warm(args.warm_size, max(args.runs, 10))
    cold(args.cold_size, max(args.runs, 10))


if __name__ == "__main__":
    main()
