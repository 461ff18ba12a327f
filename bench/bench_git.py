"""Benchmark of the git workflow: the merge of two trails, a real `git merge`, and --commit.

Figures, not a verdict (a loaded machine is slower). Standard library and minireg only:

    python bench/bench_git.py [--base 10000] [--tail 1000] [--runs 5]

- merge_events: the pure merge of two trails sharing ``--base`` events, each with
  ``--tail`` new ones (registrations that collide and transitions), in process;
- git merge: the same trails committed on two branches of a temporary repository
  and merged by git through the installed driver (two driver processes: ledger, events);
- register: ``minireg register`` in a fresh process without and with ``--commit``.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from minireg._version import TOOL
from minireg.domain.merge import merge_events
from minireg.domain.records import Draft, Event, chain
from minireg.service.registry import init_registry

MODEL = "churn_predictor"
ARTIFACT = b"a model shared by every benchmark version\n"
ARTIFACT_SHA = hashlib.sha256(ARTIFACT).hexdigest()


def _register(version: int, tag: str, when: str) -> Draft:
    data = {
        "created_at": when,
        "registered_by": "bench@example.com",
        "artifact": "model.pkl",
        "artifact_sha256": ARTIFACT_SHA,
        "flavor": "pickle",
        "metrics": {"auc_roc": 0.9},
        "tags": {"branch": tag},
    }
    return Draft("register", MODEL, version, data)


def _trail(head: Event | None, start: int, count: int, tag: str, day: str) -> list[Event]:
    drafts: list[Draft] = []
    for n in range(count // 2):
        version = start + n
        drafts.append(_register(version, tag, f"{day}T00:00:00.{n:06d}Z"))
        drafts.append(Draft("transition", MODEL, version, {"from": "None", "to": "Staging"}))
    return chain(drafts, head=head, time=f"{day}T12:00:00.000000Z", actor="bench", tool=TOOL)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _write(root: Path, events: list[Event]) -> None:
    (root / "events.jsonl").write_text("".join(e.to_line() + "\n" for e in events))


def _median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=10000)
    parser.add_argument("--tail", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    base = _trail(None, 1, args.base, "main", "2024-01-01")
    start = args.base // 2 + 1
    ours = base + _trail(base[-1], start, args.tail, "a", "2024-02-01")
    theirs = base + _trail(base[-1], start, args.tail, "b", "2024-02-02")

    samples = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        result = merge_events(
            ours, theirs, actor="bench", time="2024-03-01T00:00:00.000000Z", tool=TOOL
        )
        samples.append(time.perf_counter() - t0)
        assert result.ok and len(result.renumbered) == args.tail // 2
    print(f"merge_events  base {args.base:>6} + 2 x {args.tail:>5} events  {_median_ms(samples)}")

    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        env_py = sys.executable
        _git(repo, "init", "-q", "-b", "main")
        _git(repo, "config", "user.email", "bench@example.com")
        _git(repo, "config", "user.name", "bench")
        reg = init_registry(repo / "registry")
        assert reg.storage.put_object(ARTIFACT) == ARTIFACT_SHA
        subprocess.run(
            [env_py, "-m", "minireg", "install-merge-driver"],
            cwd=repo,
            check=True,
            capture_output=True,
        )
        _write(reg.root, base)
        reg.rebuild()
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "base")
        for branch, events in (("a", ours), ("b", theirs)):
            _git(repo, "checkout", "-q", "-b", branch, "main")
            _write(reg.root, events)
            reg.rebuild()
            _git(repo, "commit", "-q", "-am", branch)
        merges = []
        for _ in range(args.runs):
            _git(repo, "checkout", "-q", "-B", "work", "a")
            t0 = time.perf_counter()
            _git(repo, "merge", "-q", "--no-edit", "b")
            merges.append(time.perf_counter() - t0)
        check = subprocess.run(
            [env_py, "-m", "minireg", "verify"], cwd=repo, capture_output=True, text=True
        )
        assert check.returncode == 0, check.stderr[:2000]
        print(
            f"git merge     base {args.base:>6} + 2 x {args.tail:>5} events  {_median_ms(merges)}"
        )

        model = repo / "model.pkl"
        for flag in ([], ["--commit"]):
            times = []
            for n in range(args.runs):
                model.write_bytes(f"model {flag} {n}\n".encode())
                t0 = time.perf_counter()
                subprocess.run(
                    [
                        env_py,
                        "-m",
                        "minireg",
                        "register",
                        "bench",
                        str(model),
                        "--requirements",
                        str(model),
                        *flag,
                    ],
                    cwd=repo,
                    check=True,
                    capture_output=True,
                )
                times.append(time.perf_counter() - t0)
            name = "register --commit" if flag else "register"
            print(f"{name:<18} (fresh process)               {_median_ms(times)}")


if __name__ == "__main__":
    main()
