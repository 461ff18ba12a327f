"""Footprint: bytes per version on disk, and how much a registration commit grows the git repo.

A registry of ``--count`` versions (20 models, a metric, a param, a tag and
pinned requirements each, every artifact a distinct 200-byte file) is built with
``register_many`` (cached under ``.bench/``; see ``fixtures.py``) and committed.
Then ``--commits`` single registrations are made, each with ``--commit``
(``Registry.committing``), and the repository's object store is measured before
and after ``git gc``. Printed:

- bytes per version of ``events.jsonl`` and ``ledger.csv``, and of the objects
  (each artifact is one file of 200 bytes, which the file system rounds up);
- the object store (``.git/objects``) of the committed registry, loose and after
  ``git gc``;
- its growth per registration commit: loose (git stores each commit's new
  ``events.jsonl`` and ``ledger.csv`` whole, zlib-compressed) and after ``git gc``
  (delta-compressed against the previous versions).

    python bench/bench_footprint.py [--count 10000] [--commits 5]   # --count 100000 too

Figures, not a verdict; standard library only.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import fixtures

from minireg.service.registry import open_registry


def tree_bytes(folder: Path) -> tuple[int, int]:
    """(bytes of the files, bytes the file system allocates for them) under ``folder``."""
    size = used = 0
    for dirpath, _, filenames in os.walk(folder):
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            size += st.st_size
            used += st.st_blocks * 512
    return size, used


def git_objects(repo: Path) -> tuple[int, int]:
    """(bytes, bytes allocated) of the repository's object store."""
    return tree_bytes(repo / ".git" / "objects")


def mib(n: float) -> str:
    return f"{n / (1 << 20):,.1f} MiB"


def commits(repo: Path, count: int) -> float:
    """Make ``count`` single registrations, each its own commit; seconds per commit."""
    reg = open_registry(repo / "registry")
    start = time.perf_counter()
    for n in range(count):
        artifact = repo / "artifacts" / f"extra-{n}.bin"
        artifact.parent.mkdir(exist_ok=True)
        artifact.write_bytes(os.urandom(200))
        with reg.committing(True):
            reg.register(
                "model_00",
                artifact,
                metrics={"auc_roc": 0.9},
                params={"seed": n},
                tags={"team": "growth"},
                training_date="2024-03-01",
                requirements=b"scikit-learn==1.5.0\njoblib==1.4.2\n",
                code_dir=repo,
                actor="bench@example.com",
            )
    return (time.perf_counter() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=10_000, help="versions in the registry")
    parser.add_argument("--commits", type=int, default=5, help="registration commits to measure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minireg-bench-footprint-") as tmp:
        repo = Path(tmp) / "repo"
        root = fixtures.cached(repo, args.count)
        events = (root / "events.jsonl").stat().st_size
        ledger = (root / "ledger.csv").stat().st_size
        objects, objects_used = tree_bytes(root / "objects")
        fixtures.git(repo, "config", "gc.auto", "0")  # gc when the bench says, not in between
        fixtures.git(repo, "add", "registry")
        fixtures.git(repo, "commit", "-qm", f"a registry of {args.count} versions")
        loose = git_objects(repo)
        fixtures.git(repo, "gc", "-q")
        packed = git_objects(repo)
        per_commit = commits(repo, args.commits)
        after = git_objects(repo)
        grown_loose = (after[0] - packed[0], after[1] - packed[1])
        fixtures.git(repo, "gc", "-q")
        grown_packed = git_objects(repo)[0] - packed[0]

    n = args.count
    print(f"footprint at {n:,} versions (20 models; {args.commits} registration commits)")
    print(f"  events.jsonl   {mib(events):>12}  {events / n:8,.0f} bytes per version")
    print(f"  ledger.csv     {mib(ledger):>12}  {ledger / n:8,.0f} bytes per version")
    print(
        f"  objects/       {mib(objects):>12}  {objects / n:8,.0f} bytes per version "
        f"({objects_used / n:,.0f} allocated on disk)"
    )
    print(
        f"  .git/objects after the first commit: {mib(loose[0])} loose "
        f"({mib(loose[1])} allocated), {mib(packed[0])} after git gc"
    )
    print(
        f"  growth per registration commit: {mib(grown_loose[0] / args.commits)} before git gc "
        f"({mib(grown_loose[1] / args.commits)} allocated), "
        f"{grown_packed / args.commits / 1024:,.1f} KiB after ({per_commit:.2f} s per "
        "register --commit)"
    )


if __name__ == "__main__":
    main()
