"""Cold-start benchmark of the commands scripts call most: path, list MODEL --json, register.

Every figure is the median wall time of a fresh process (the ``minireg`` script
beside this interpreter, else ``python -m minireg``), over at least 10 runs, on
registries of 1,000 and 10,000 versions, beside ``python -c pass``. Standard
library only; the registries are built in a temporary folder through minireg's
own domain code (chained events, then ``rebuild``), so they are real registries
that ``minireg verify`` passes.

    python bench/bench_cli.py [--runs N] [--sizes 1000,10000] [--keep] [--as-is]

Targets (issue 2): path and list MODEL --json <= 150 ms at 1,000 versions;
register <= 250 ms at 10,000 versions. The script prints figures, not a verdict
that fails a build: a loaded machine is slower.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from minireg.domain.records import Draft, chain
from minireg.registry import TOOL, init_registry

MODEL = "churn_predictor"
TARGETS = {
    ("path", 1000): 150.0,
    ("list MODEL --json", 1000): 150.0,
    ("register", 10000): 250.0,
}


def minireg_cmd() -> list[str]:
    """The command a user runs: the console script if installed next to this Python."""
    script = Path(sys.executable).with_name("minireg")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "minireg"]


def build_registry(root: Path, size: int) -> Path:
    """A registry with ``size`` versions of MODEL (and a few promotions), built fast."""
    reg, _ = init_registry(root)
    artifact = reg.storage.put_object(b"a small model, stored once and shared by every version\n")
    requirements = reg.storage.put_object(b"scikit-learn==1.5.0\njoblib==1.4.2\n")
    drafts = []
    for n in range(1, size + 1):
        body = {
            "created_at": f"2024-01-01T00:00:{n % 60:02d}.000000Z",
            "registered_by": "bench@example.com",
            "git_commit": f"{n:040x}",
            "git_branch": "main",
            "git_dirty": False,
            "training_date": "2024-01-01T00:00:00.000000Z",
            "data_sha256": f"{n:064x}",
            "artifact": "model.joblib",
            "artifact_sha256": artifact,
            "artifact_bytes": 55,
            "flavor": "joblib",
            "requirements_sha256": requirements,
            "description": f"nightly retrain {n}",
            "metrics": {"auc_roc": 0.8 + (n % 97) / 1000, "f1": 0.7, "n_train": 600.0},
            "params": {"C": "1.0", "max_iter": "200", "seed": str(n)},
            "tags": {"team": "growth"},
        }
        drafts.append(Draft("register", MODEL, n, body))
    for n in range(10, size + 1, 10):
        drafts.append(
            Draft("transition", MODEL, n, {"from": "None", "to": "Staging"}, reason="evaluated")
        )
    events = chain(drafts, head=None, time="2024-01-02T00:00:00.000000Z", actor="bench", tool=TOOL)
    with open(reg.storage.events_path, "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(event.to_line() + "\n" for event in events)
    reg.rebuild()
    return reg.root


CPU: list[float] = []
"""CPU time (user + sys, ms) of each process :func:`timed` ran, in order."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def timed(cmd: list[str], cwd: Path, runs: int, env: dict[str, str]) -> list[float]:
    """Wall times in ms of ``runs`` fresh processes of ``cmd``; any failure stops the bench.

    The CPU time of each process goes to :data:`CPU`: on a busy machine it is
    closer than the wall time to what an idle one would show.
    """
    times = []
    for _ in range(runs):
        cpu = _children_cpu()
        start = time.perf_counter()
        out = subprocess.run(cmd, cwd=cwd, capture_output=True, env=env, check=False)
        times.append((time.perf_counter() - start) * 1000)
        CPU.append(_children_cpu() - cpu)
        if out.returncode != 0:
            raise SystemExit(
                f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.decode(errors='replace')}"
            )
    return times


def git_repo(path: Path) -> None:
    """A small git repository for register to record a commit from."""
    path.mkdir()
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}

    def run(*args: str) -> None:
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True, env=env)

    run("init", "-q")
    run("config", "user.email", "bench@example.com")
    run("config", "user.name", "Bench")
    (path / "train.py").write_text("print('training')\n")
    run("add", "train.py")
    run("commit", "-q", "-m", "initial")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs per figure (at least 10)")
    parser.add_argument("--sizes", default="1000,10000", help="registry sizes, comma-separated")
    parser.add_argument("--keep", action="store_true", help="keep the temporary registries")
    parser.add_argument(
        "--as-is",
        action="store_true",
        help="keep this environment's bytecode settings (PYTHONDONTWRITEBYTECODE included)",
    )
    args = parser.parse_args()
    runs = max(args.runs, 10)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    cmd = minireg_cmd()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIREG_")}
    tmp = Path(tempfile.mkdtemp(prefix="minireg-bench-"))
    if not args.as_is:
        # An installed package has its bytecode compiled; a checkout run with
        # PYTHONDONTWRITEBYTECODE=1 would compile minireg's sources on every run
        # instead. Cache the bytecode outside the checkout, as a user's run would.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    results: dict[tuple[str, int], float] = {}
    cpu: dict[tuple[str, int], float] = {}
    try:
        work = tmp / "code"
        git_repo(work)
        small = work / "model.bin"
        print(f"minireg command: {' '.join(cmd)}; {runs} cold runs per figure")
        cached = "as in this environment" if args.as_is else f"cached in {tmp / 'pycache'}"
        print(f"bytecode: {cached}")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(f"{'median ms':<22} {'versions':>8} {'wall':>8} {'cpu':>8}")
        base = statistics.median(timed([sys.executable, "-c", "pass"], work, runs, env))
        base_cpu = statistics.median(CPU[-runs:])
        print(f"{'python -c pass':<22} {'':>8} {base:8.1f} {base_cpu:8.1f}")
        for size in sizes:
            t0 = time.perf_counter()
            root = build_registry(tmp / f"registry-{size}", size)
            built = time.perf_counter() - t0
            print(f"-- {size:,} versions (built in {built:.1f} s)")
            reg = ["--registry", str(root)]
            cases = {
                "path": [*cmd, "path", MODEL, str(size // 2), *reg],
                "list MODEL --json": [*cmd, "list", MODEL, "--json", *reg],
            }
            timed(cases["path"], work, 1, env)  # compiles and caches the bytecode once
            for name, argv in cases.items():
                results[(name, size)] = statistics.median(timed(argv, work, runs, env))
                cpu[(name, size)] = statistics.median(CPU[-runs:])
            register_times = []
            for i in range(runs):
                small.write_bytes(f"small model {size} {i}\n".encode())
                argv = [*cmd, "register", MODEL, str(small), "--metric", "auc_roc=0.9", *reg]
                register_times.extend(timed(argv, work, 1, env))
            results[("register", size)] = statistics.median(register_times)
            cpu[("register", size)] = statistics.median(CPU[-runs:])
            for name in (*cases, "register"):
                figure = results[(name, size)]
                target = TARGETS.get((name, size))
                verdict = ""
                if target is not None:
                    verdict = f"target <= {target:.0f}: {'met' if figure <= target else 'MISSED'}"
                used = cpu[(name, size)]
                print(f"{name:<22} {size:>8,} {figure:8.1f} {used:8.1f}   {verdict}")
    finally:
        if args.keep:
            print(f"registries kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
