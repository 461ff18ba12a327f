"""Plain ``minireg list`` at 100,000 versions: one model's table, on a terminal and in a pipe.

Cold processes (median of ``--runs``) on a registry of 100,000 versions of 20
models built with ``register_many`` (cached under ``.bench/``; see
``fixtures.py``), beside ``python -c pass``: ``list MODEL`` on a terminal (the
newest 50 rows and a note) and in a pipe (all 5,000 rows), ``list`` on a
terminal, ``list --all`` in a pipe (all 100,000 rows) and ``list MODEL --json``.
Target: one model's table in at most 1 s. CPU seconds (user + system) are
printed too: on a loaded machine they say more than the wall time. Figures,
not a verdict; standard library only.

    python bench/bench_list.py [--runs 5] [--count 100000] [--models 20]
"""

from __future__ import annotations

import argparse
import os
import pty
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fixtures

TARGET_S = 1.0


def _run(cmd: list[str], cwd: Path, tty: bool) -> None:
    if not tty:
        out = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {out.stderr!r}")
        return
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=follower, stderr=follower)
    os.close(follower)
    while True:
        try:
            if not os.read(leader, 1 << 16):
                break
        except OSError:
            break
    os.close(leader)
    if proc.wait() != 0:
        raise SystemExit(f"{' '.join(cmd)} failed on a terminal")


def cold(cmd: list[str], cwd: Path, runs: int, tty: bool = False) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (user + system) of fresh processes."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        _run(cmd, cwd, tty)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--models", type=int, default=20)
    args = parser.parse_args()
    minireg = [sys.executable, "-m", "minireg"]
    with tempfile.TemporaryDirectory(prefix="minireg-bench-list-") as tmp:
        repo = Path(tmp) / "repo"
        fixtures.cached(repo, args.count, args.models)
        per_model = args.count // args.models
        cases = [
            ("python -c pass", [sys.executable, "-c", "pass"], False),
            ("list model_00 (terminal: newest 50)", [*minireg, "list", "model_00"], True),
            (f"list model_00 (pipe: {per_model:,} rows)", [*minireg, "list", "model_00"], False),
            ("list (terminal: newest 50)", [*minireg, "list"], True),
            (f"list --all (pipe: {args.count:,} rows)", [*minireg, "list", "--all"], False),
            ("list model_00 --json", [*minireg, "list", "model_00", "--json"], False),
        ]
        print(
            f"plain list at {args.count:,} versions of {args.models} models "
            f"(median of {args.runs} cold processes; target <= {TARGET_S:g} s for one model)"
        )
        cold(cases[1][1], repo, 1, True)  # bytecode and the read cache warm, as in daily use
        for label, cmd, tty in cases:
            wall, cpu = cold(cmd, repo, args.runs, tty)
            print(f"  {label:<40} {wall:6.2f} s wall  {cpu:6.2f} s CPU")


if __name__ == "__main__":
    main()
