"""Cold-start benchmark of the commands scripts call in loops: promote, path, register, show.

Every figure is the median wall time of a fresh process (the ``minireg`` script
beside this interpreter, else ``python -m minireg``) on a registry of 1,000
versions, with minireg's bytecode cached (as an installed package has it).
Each command's runs alternate with runs of ``python -c pass``, so both see the
same machine load, and the ratio of the two medians is printed beside them.
Standard library only; the registry is built in a temporary folder through
minireg's own domain code (chained events, then ``rebuild``), so it is a real
registry that ``minireg verify`` passes.

    python bench/bench_cli.py [--runs N] [--sizes 1000] [--keep] [--as-is]

Targets: each command <= 100 ms and <= 6 x ``python -c pass`` at 1,000
versions. The script prints figures, not a verdict that fails a build: a loaded
machine is slower.
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
from collections.abc import Callable
from pathlib import Path

from helpers import minireg_cmd, register_data, small_artifact_registry

from minireg._version import TOOL
from minireg.domain.records import Draft, chain

MODEL = "churn_predictor"
TARGET_MS = 100.0
TARGET_RATIO = 6.0


def build_registry(root: Path, size: int) -> Path:
    """A registry with ``size`` versions of MODEL (every tenth in Staging), built fast."""
    reg, artifact = small_artifact_registry(root)
    requirements = reg.storage.put_object(b"scikit-learn==1.5.0\njoblib==1.4.2\n")
    drafts = []
    for n in range(1, size + 1):
        body = register_data(
            n,
            artifact,
            created_at=f"2024-01-01T00:00:{n % 60:02d}.000000Z",
            requirements_sha256=requirements,
            metrics={"auc_roc": 0.8 + (n % 97) / 1000, "f1": 0.7, "n_train": 600.0},
            params={"C": "1.0", "max_iter": "200", "seed": str(n)},
        )
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def run_once(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU time (user + sys) in ms of one fresh process; any failure stops the bench."""
    cpu = _children_cpu()
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, env=env, check=False)
    wall = (time.perf_counter() - start) * 1000
    if out.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.decode(errors='replace')}"
        )
    return wall, _children_cpu() - cpu


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


def commands(
    cmd: list[str], root: Path, size: int, small: Path
) -> dict[str, Callable[[], list[str]]]:
    """For each benchmarked command, a function giving the argv of its next run."""
    reg = ["--registry", str(root)]
    middle = str(size // 2)
    # Promote a different version each run (none of them a multiple of ten, which sit
    # in Staging already), so that every run writes one transition event.
    to_promote = iter(n for n in range(1, size + 1) if n % 10)

    def promote() -> list[str]:
        return [*cmd, "promote", MODEL, str(next(to_promote)), "--to", "Staging", *reg]

    def register() -> list[str]:
        small.write_bytes(f"small model {size} {time.perf_counter_ns()}\n".encode())
        return [*cmd, "register", MODEL, str(small), "--metric", "auc_roc=0.9", *reg]

    return {
        "promote": promote,
        "path": lambda: [*cmd, "path", MODEL, middle, *reg],
        "register": register,
        "show": lambda: [*cmd, "show", MODEL, middle, *reg],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per figure (at least 10)")
    parser.add_argument("--sizes", default="1000", help="registry sizes, comma-separated")
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
    env["MINIREG_ACTOR"] = "bench@example.com"
    tmp = Path(tempfile.mkdtemp(prefix="minireg-bench-"))
    if not args.as_is:
        # An installed package has its bytecode compiled; a checkout run with
        # PYTHONDONTWRITEBYTECODE=1 would compile minireg's sources on every run
        # instead. Cache the bytecode outside the checkout, as a user's run would.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    baseline = [sys.executable, "-c", "pass"]
    try:
        work = tmp / "code"
        git_repo(work)
        small = work / "model.bin"
        print(f"minireg command: {' '.join(cmd)}; {runs} cold runs per figure")
        cached = "as in this environment" if args.as_is else f"cached in {tmp / 'pycache'}"
        print(f"bytecode: {cached}")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        for size in sizes:
            t0 = time.perf_counter()
            root = build_registry(tmp / f"registry-{size}", size)
            print(f"-- {size:,} versions (built in {time.perf_counter() - t0:.1f} s)")
            cases = commands(cmd, root, size, small)
            for make in cases.values():  # compiles and caches the bytecode once
                run_once(make(), work, env)
            header = f"{'median ms':<10} {'wall':>8} {'cpu':>8} {'python -c pass':>15} {'ratio':>6}"
            print(header)
            for name, make in cases.items():
                walls, cpus, bases = [], [], []
                for _ in range(runs):
                    bases.append(run_once(baseline, work, env)[0])
                    wall, cpu = run_once(make(), work, env)
                    walls.append(wall)
                    cpus.append(cpu)
                figure, base = statistics.median(walls), statistics.median(bases)
                ratio = figure / base
                met = figure <= TARGET_MS and ratio <= TARGET_RATIO
                verdict = "met" if met else "MISSED"
                print(
                    f"{name:<10} {figure:8.1f} {statistics.median(cpus):8.1f} {base:15.1f} "
                    f"{ratio:5.1f}x   target <= {TARGET_MS:.0f} ms and <= "
                    f"{TARGET_RATIO:.0f}x: {verdict}"
                )
    finally:
        if args.keep:
            print(f"registries kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
