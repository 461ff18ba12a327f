"""Scale benchmark: every command at 1,000 and 100,000 versions, beside ``python -c pass``.

Each figure is the median wall time of fresh ``minireg`` processes (bytecode
cached, as an installed package has it), alternated with runs of ``python -c
pass`` so both see the same machine load:

- ``promote`` (one transition) and ``alias set``, with the read cache current
  (as after any earlier command);
- ``register`` of a small artifact (in a small git repository, the actor set);
- ``path models:/churn_predictor/Production``;
- the first ``list --where`` after removing ``.cache/`` (a fresh clone: the
  whole trail is read, checked and folded, the cache written);

and, in one process, a warm ``resolve`` (the serving case), and reading the
trail with each JSON reader installed (the standard library, orjson,
msgspec: the one minireg uses is marked) and folding it.

The registries are built once per size through minireg's own domain code
(chained events, the ledger rendered) and kept in ``.bench/scale-<size>-v<N>/``
(git-ignored); each run works on a copy. Standard library only, plus orjson
and msgspec when installed. Figures, not a verdict: a loaded machine is slower.

    python bench/bench_scale.py [--sizes 1000,100000] [--runs N] [--fresh]

Targets at 100,000 versions (issue 13): promote / alias set <= 0.5 s,
register <= 0.3 s, path <= 0.15 s, first list --where after a clone <= 2 s,
reading and folding 100,000 events <= 2 s, warm resolve <= 0.05 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from helpers import register_data

from minireg._version import TOOL
from minireg.domain.records import Draft, Event, chain
from minireg.service.registry import init_registry, open_registry

MODEL = "churn_predictor"
OTHERS = tuple(f"model_{n:02d}" for n in range(19))
FIXTURE_VERSION = 2
ROOT = Path(__file__).resolve().parent.parent
TARGETS_MS = {
    "promote": 500.0,
    "alias set": 500.0,
    "register": 300.0,
    "path": 150.0,
    "first list --where": 2000.0,
}
READ_TARGET_MS = 2000.0
RESOLVE_TARGET_MS = 0.05


def _drafts(size: int, artifact: str, requirements: str) -> list[Draft]:
    """``size`` registrations (half of them of MODEL), every tenth in Staging, one in Production."""
    drafts = []
    numbers = dict.fromkeys((MODEL, *OTHERS), 0)
    for n in range(1, size + 1):
        name = MODEL if n % 2 else OTHERS[(n // 2) % len(OTHERS)]
        numbers[name] += 1
        body = register_data(
            n,
            artifact,
            stage="None",
            created_at=f"2024-01-{1 + n % 28:02d}T00:00:{n % 60:02d}.000000Z",
            requirements_sha256=requirements,
            metrics={"auc_roc": 0.8 + (n % 97) / 1000, "f1": 0.7, "n_train": 600.0},
            params={"C": "1.0", "max_iter": "200", "seed": str(n)},
        )
        drafts.append(Draft("register", name, numbers[name], body))
    for n in range(10, numbers[MODEL] + 1, 10):
        drafts.append(Draft("transition", MODEL, n, {"from": "None", "to": "Staging"}))
    middle = numbers[MODEL] // 2
    drafts.append(Draft("transition", MODEL, middle, {"from": "None", "to": "Production"}))
    return drafts


def build_fixture(size: int, fresh: bool = False) -> Path:
    """The registry of ``size`` versions, built once and kept under ``.bench/``."""
    root = ROOT / ".bench" / f"scale-{size}-v{FIXTURE_VERSION}"
    done = root / "built"
    if done.exists() and not fresh:
        return root / "registry"
    shutil.rmtree(root, ignore_errors=True)
    start = time.perf_counter()
    reg = init_registry(root / "registry")
    artifact = reg.storage.put_object(b"a small model, stored once and shared by every version\n")
    requirements = reg.storage.put_object(b"scikit-learn==1.5.0\njoblib==1.4.2\n")
    events = chain(
        _drafts(size, artifact, requirements),
        head=None,
        time="2024-02-01T00:00:00.000000Z",
        actor="bench@example.com",
        tool=TOOL,
    )
    with open(reg.storage.events_path, "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(event.to_line() + "\n" for event in events)
    open_registry(reg.root).rebuild()  # the read cache and the ledger stamp, as a write leaves them
    done.write_text(f"built in {time.perf_counter() - start:.1f} s\n")
    print(f"   built the {size:,}-version fixture in {time.perf_counter() - start:.1f} s")
    return reg.root


def git_repo(path: Path) -> None:
    """A small git repository for ``register`` to record a commit from."""
    path.mkdir()
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    for args in (
        ["init", "-q"],
        ["config", "user.email", "bench@example.com"],
        ["config", "user.name", "Bench"],
        ["commit", "-q", "--allow-empty", "-m", "initial"],
    ):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True, env=env)


def run_once(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall time in ms of one fresh process; a failure stops the bench."""
    start = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, env=env, check=False)
    wall = (time.perf_counter() - start) * 1000
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr.decode()}")
    return wall


def commands(
    cmd: list[str], root: Path, work: Path
) -> dict[str, tuple[Callable[[], list[str]], Callable[[], None]]]:
    """For each command: a function giving the argv of its next run, and one to run before it."""
    reg = ["--registry", str(root)]
    small = work / "model.bin"
    # Versions of MODEL that are neither in Staging (every tenth) nor the Production one.
    candidates = iter(n for n in range(3, 10**9) if n % 10)
    aliases = iter(range(1, 10**9))

    def register() -> list[str]:
        small.write_bytes(f"small model {time.perf_counter_ns()}\n".encode())
        return [*cmd, "register", MODEL, str(small), "--metric", "auc_roc=0.9", *reg]

    def no_cache() -> None:
        shutil.rmtree(root / ".cache", ignore_errors=True)

    where = ["list", "--where", "`metric.auc_roc` > 0.89 and stage == 'Staging'", *reg]
    return {
        "promote": (
            lambda: [*cmd, "promote", MODEL, str(next(candidates)), "--to", "Staging", *reg],
            lambda: None,
        ),
        "alias set": (
            lambda: [*cmd, "alias", "set", MODEL, "champion", str(next(aliases)), *reg],
            lambda: None,
        ),
        "register": (register, lambda: None),
        "path": (lambda: [*cmd, "path", f"models:/{MODEL}/Production", *reg], lambda: None),
        "first list --where": (lambda: [*cmd, *where], no_cache),
    }


def cold_figures(
    size: int, root: Path, work: Path, env: dict[str, str], runs: int
) -> dict[str, tuple[float, float]]:
    """Median ms of each command and of ``python -c pass`` run beside it."""
    cmd = [sys.executable, "-m", "minireg"]
    baseline = [sys.executable, "-c", "pass"]
    figures = {}
    for name, (make, before) in commands(cmd, root, work).items():
        before()
        run_once(make(), work, env)  # compiles and caches the bytecode, warms the page cache
        walls, bases = [], []
        for _ in range(runs):
            bases.append(run_once(baseline, work, env))
            before()
            walls.append(run_once(make(), work, env))
        figures[name] = (statistics.median(walls), statistics.median(bases))
    return figures


def warm_resolve(root: Path) -> float:
    """Median ms of a warm ``resolve`` in one process."""
    reg = open_registry(root)
    uri = f"models:/{MODEL}/Production"
    reg.resolve(uri)
    times = []
    for _ in range(2000):
        start = time.perf_counter()
        reg.resolve(uri)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _readers() -> dict[str, Callable[[bytes], object]]:
    found: dict[str, Callable[[bytes], object]] = {
        "json": lambda line: Event.from_line(line.decode("utf-8"))
    }
    try:
        import orjson

        found["orjson"] = lambda line: Event.from_dict(orjson.loads(line))
    except ImportError:
        pass
    try:
        import msgspec

        found["msgspec"] = msgspec.json.Decoder(Event).decode
    except ImportError:
        pass
    return found


def read_figures(root: Path) -> tuple[dict[str, float], float, int]:
    """Ms to parse every line with each JSON reader, ms of minireg's full cold read, events."""
    from minireg.storage import cache, events
    from minireg.storage.events import bulk

    lines = [line for line in (root / "events.jsonl").read_bytes().split(b"\n") if line]
    parse = {}
    for name, decode in _readers().items():
        start = time.perf_counter()
        with bulk():
            for line in lines:
                decode(line)
        parse[name] = (time.perf_counter() - start) * 1000
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        folded = cache.fold_trail(root / "events.jsonl", Path(tmp), "None", _NoLock)
        full = (time.perf_counter() - start) * 1000
    assert len(folded.state.versions) > 0 and events.reader()
    return parse, full, len(lines)


class _NoLock:
    """Never holds the lock: the cold read below writes no cache."""

    def __enter__(self) -> bool:
        return False

    def __exit__(self, *args: object) -> None:
        return None


def _verdict(figure: float, target: float | None) -> str:
    if target is None:
        return ""
    return f"target <= {target:g}: {'met' if figure <= target else 'MISSED'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000", help="registry sizes, comma-separated")
    parser.add_argument("--runs", type=int, default=7, help="cold runs per figure (at least 3)")
    parser.add_argument("--fresh", action="store_true", help="build the fixtures again")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    runs = max(args.runs, 3)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    from minireg.storage.events import reader

    print(f"python {sys.version.split()[0]}, JSON reader: {reader()}, {runs} cold runs a figure")
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="minireg-scale-") as tmp_name:
        tmp = Path(tmp_name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MINIREG_")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        env["MINIREG_ACTOR"] = "bench@example.com"
        work = tmp / "code"
        git_repo(work)
        for size in sizes:
            print(f"-- {size:,} versions")
            root = tmp / f"registry-{size}"
            shutil.copytree(build_fixture(size, args.fresh), root)
            cold = cold_figures(size, root, work, env, runs)
            print(f"   {'median ms':<22} {'wall':>8} {'python -c pass':>15}")
            for name, (wall, base) in cold.items():
                target = TARGETS_MS[name] if size >= 100_000 else None
                print(f"   {name:<22} {wall:8.1f} {base:15.1f}   {_verdict(wall, target)}")
            resolve = warm_resolve(root)
            target = RESOLVE_TARGET_MS if size >= 100_000 else None
            print(f"   {'warm resolve':<22} {resolve:8.4f}   {_verdict(resolve, target)}")
            parse, full, count = read_figures(root)
            for name, ms in parse.items():
                mark = "  (minireg's)" if name == reader() else ""
                print(f"   parse {count:,} lines: {name:<8} {ms:8.1f}{mark}")
            target = READ_TARGET_MS if size >= 100_000 else None
            print(f"   {'read + check + fold':<22} {full:8.1f}   {_verdict(full, target)}")
            results[str(size)] = {
                "cold_ms": {k: {"wall": w, "python -c pass": b} for k, (w, b) in cold.items()},
                "warm_resolve_ms": resolve,
                "parse_ms": parse,
                "read_check_fold_ms": full,
            }
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
