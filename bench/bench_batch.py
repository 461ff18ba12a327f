"""``register_many`` of 10,000 small artifacts in one process: versions per second.

Each artifact is its own 200-byte file (distinct bytes, so every one is a new
object), spread over 20 models, with a metric, a param, a tag and pinned
requirements each, in a real git repository (git is asked once per batch; see
``fixtures.items``). The batch runs into an empty
registry, then once more on top of it (the ledger then takes the rows by
insertion). Target: at least 2,000 versions/s (MLflow's sqlite
``create_model_version`` managed 456/s on the reference machine). Figures, not a
verdict: standard library only.

    python bench/bench_batch.py [--count 10000] [--rounds 2] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fixtures

from minireg.service.registry import init_registry

TARGET = 2000.0
MODELS = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=10_000, help="items per batch")
    parser.add_argument("--rounds", type=int, default=2, help="batches, one after the other")
    parser.add_argument("--profile", action="store_true", help="print the top of a profile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minireg-bench-batch-") as tmp:
        repo = Path(tmp)
        for cmd in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "start"]):
            subprocess.run(
                ["git", "-c", "user.name=b", "-c", "user.email=b@x", *cmd], cwd=repo, check=True
            )
        reg = init_registry(repo / "registry")
        print(
            f"register_many of {args.count:,} small artifacts, in process",
            f"(target >= {TARGET:,.0f}/s)",
        )
        for round_ in range(args.rounds):
            items = fixtures.items(repo / f"art{round_}", round_ * args.count, args.count, MODELS)
            profiler = cProfile.Profile() if args.profile else None
            start, cpu = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            records = reg.register_many(items, actor="bench@example.com")
            if profiler is not None:
                profiler.disable()
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            assert len(records) == args.count
            rate = args.count / seconds
            verdict = "meets" if rate >= TARGET else "BELOW"
            print(
                f"  batch {round_ + 1} (registry had {round_ * args.count:,} versions): "
                f"{seconds:.2f} s, {rate:,.0f} versions/s ({verdict} the target); "
                f"CPU {cpu:.2f} s ({args.count / cpu:,.0f} versions per CPU second)"
            )
            if profiler is not None:
                pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
