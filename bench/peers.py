"""minireg beside its peers, MLflow's sqlite registry and GTO, timed as cold processes.

Three things a script does in a loop, each timed as a fresh process:

- resolve the Production version: ``minireg path models:/m/Production``;
  MLflow's ``get_latest_versions(stages=["Production"])``; ``gto show m#prod --ref``;
- move Production to another version: ``minireg promote --archive-existing``;
  MLflow's ``transition_model_version_stage(archive_existing_versions=True)``;
  ``gto assign --stage prod`` (each run moves it to a version never there before:
  GTO refuses to assign a stage twice to one version without ``--force``);
- register a new version: ``minireg register`` of a small file; MLflow's
  ``create_model_version``; ``gto register`` (after an untimed empty commit,
  since GTO registers one version per commit).

Each tool starts from a registry of 1,000 versions of one model (minireg also
10,000 and 100,000), one of them in Production. All the commands run round
robin, one run of each per round in an order that rotates, so machine load
falls on all alike (so every resolve follows writes to its registry, as in a
script that registers and promotes between reads); the table gives the median
wall time beside that of ``python -c pass``, and each peer's ratio to minireg
for the same operation.

MLflow (the version range of minireg's ``mlflow`` extra) and GTO are installed
with pip, from the index this machine is configured with, into ``.bench/venv``.
The fixtures are built once and cached in ``.bench/fixtures/``, named by tool,
tool version and size; every run times fresh copies of them in ``.bench/run/``.
A benchmark, not a test: it prints figures, not a verdict.

    python bench/peers.py [--sizes 1000,10000,100000] [--peer-sizes 1000]
                          [--rounds 9] [--only minireg,mlflow,gto] [--rebuild] [--keep]
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # minireg depends on tomli there
    import tomli as tomllib

from minireg._version import TOOL, __version__
from minireg.domain.records import Draft, chain
from minireg.service.registry import Registry, init_registry, open_registry

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"
VENV = BENCH / "venv"
FIXTURES = BENCH / "fixtures"
RUN = BENCH / "run"
FIXTURE_FORMAT = 1  # bump when a fixture's shape changes, so cached ones are rebuilt
MODEL = "m"
ACTOR = "bench@example.com"
TOOLS = ("minireg", "mlflow", "gto")
OPS = ("resolve", "promote", "register")
ARTIFACT = b"a small model, stored once and shared by every version\n"
REQUIREMENTS = b"scikit-learn==1.5.0\njoblib==1.4.2\n"
EPOCH = 1_704_067_200  # 2024-01-01T00:00:00Z, the fixtures' first commit

MLFLOW_BUILD = """\
import sys
from mlflow import MlflowClient
uri, size = sys.argv[1], int(sys.argv[2])
client = MlflowClient(uri)
client.create_registered_model("m")
for n in range(1, size + 1):
    client.create_model_version(
        "m", f"file:///models/m/{n}", tags={"auc_roc": "0.9"}, description=f"nightly {n}"
    )
client.transition_model_version_stage("m", str(size - 1), "Production")
"""
MLFLOW_RESOLVE = """\
import sys
from mlflow import MlflowClient
print(MlflowClient(sys.argv[1]).get_latest_versions("m", stages=["Production"])[0].source)
"""
MLFLOW_PROMOTE = """\
import sys
from mlflow import MlflowClient
MlflowClient(sys.argv[1]).transition_model_version_stage(
    "m", sys.argv[2], "Production", archive_existing_versions=True
)
"""
MLFLOW_REGISTER = """\
import sys
from mlflow import MlflowClient
print(MlflowClient(sys.argv[1]).create_model_version("m", sys.argv[2], tags={"auc_roc": "0.9"}))
"""


@dataclass
class Case:
    """One timed command: how to make its next argv, where it runs, and its times in ms."""

    tool: str
    op: str
    size: int
    label: str
    argv: Callable[[], list[str]]
    cwd: Path
    env: dict[str, str]
    prepare: Callable[[], object] | None = None
    times: list[float] = field(default_factory=list)
    error: str = ""


# -- the peers' virtualenv ---------------------------------------------------------------------


def venv_python() -> Path:
    return VENV / "bin" / "python"


def peer_requirements() -> list[str]:
    """MLflow in the range of minireg's ``mlflow`` extra, and GTO."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [*data["project"]["optional-dependencies"]["mlflow"], "gto"]


def ensure_venv() -> dict[str, str]:
    """``.bench/venv`` with the peers installed (once); the installed version of each."""
    wanted = "\n".join(peer_requirements()) + "\n"
    stamp = VENV / "bench-requirements.txt"
    if not (venv_python().exists() and stamp.exists() and stamp.read_text() == wanted):
        print(f"installing {', '.join(peer_requirements())} into {VENV} ...", flush=True)
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(venv_python()), "-m", "pip", "install", "-q", *wanted.split()]
        out = subprocess.run(pip, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"pip could not install the peers:\n{out.stderr[-3000:]}")
        stamp.write_text(wanted)
    code = "import importlib.metadata as m; print(m.version('mlflow'), m.version('gto'))"
    out = subprocess.run(
        [str(venv_python()), "-c", code], capture_output=True, text=True, check=True
    )
    mlflow_version, gto_version = out.stdout.split()
    return {"mlflow": mlflow_version, "gto": gto_version, "minireg": __version__}


# -- fixtures, built once ----------------------------------------------------------------------


def cached(name: str, build: Callable[[Path, int], None], size: int, rebuild: bool) -> Path:
    """``.bench/fixtures/NAME``, built in a temporary folder, so a half-built one never counts."""
    final = FIXTURES / name
    if rebuild:
        shutil.rmtree(final, ignore_errors=True)
    if final.exists():
        return final
    tmp = FIXTURES / f".tmp-{name}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    print(f"building fixture {name} (once) ...", flush=True)
    start = time.perf_counter()
    build(tmp, size)
    tmp.rename(final)
    print(f"  built in {time.perf_counter() - start:.1f} s", flush=True)
    return final


def registration(n: int, artifact_sha: str, requirements_sha: str) -> dict[str, object]:
    """The body of a register event, as ``register`` writes it."""
    return {
        "created_at": f"2024-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}.000000Z",
        "registered_by": ACTOR,
        "git_commit": f"{n:040x}",
        "git_branch": "main",
        "git_dirty": False,
        "training_date": "2024-01-01T00:00:00.000000Z",
        "data_sha256": f"{n:064x}",
        "artifact": "model.bin",
        "artifact_sha256": artifact_sha,
        "artifact_bytes": len(ARTIFACT),
        "flavor": "file",
        "requirements_sha256": requirements_sha,
        "description": f"nightly retrain {n}",
        "metrics": {"auc_roc": 0.8 + (n % 97) / 1000, "f1": 0.7, "n_train": 600.0},
        "params": {"C": "1.0", "max_iter": "200", "seed": str(n)},
        "tags": {"team": "growth"},
    }


def register_all(reg: Registry, root: Path, size: int) -> None:
    """``size`` versions of MODEL: with ``register_many`` where it exists, else one chained append.

    Registering one version at a time costs O(trail) each, so 100,000 of them
    would take hours; without the batch API the events are chained by minireg's
    domain code and appended at once, then the ledger is rebuilt from them.
    """
    register_many = getattr(reg, "register_many", None)
    print(f"  through {'register_many' if register_many else 'chained events'}", flush=True)
    if register_many is not None:
        artifact = root / "model.bin"
        artifact.write_bytes(ARTIFACT)
        items = [
            {
                "model": MODEL,
                "artifact": artifact,
                "metrics": {"auc_roc": 0.8 + (n % 97) / 1000, "f1": 0.7, "n_train": 600.0},
                "params": {"C": "1.0", "max_iter": "200", "seed": str(n)},
                "tags": {"team": "growth"},
                "description": f"nightly retrain {n}",
                "requirements": REQUIREMENTS,
                "flavor": "file",
                "training_date": "2024-01-01",
            }
            for n in range(1, size + 1)
        ]
        register_many(items)
        artifact.unlink()
        return
    artifact_sha = reg.storage.put_object(ARTIFACT)
    requirements_sha = reg.storage.put_object(REQUIREMENTS)
    drafts = [
        Draft("register", MODEL, n, registration(n, artifact_sha, requirements_sha))
        for n in range(1, size + 1)
    ]
    events = chain(drafts, head=None, time="2024-01-02T00:00:00.000000Z", actor=ACTOR, tool=TOOL)
    with open(reg.storage.events_path, "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(event.to_line() + "\n" for event in events)
    reg.rebuild()


def build_minireg(root: Path, size: int) -> None:
    """A registry of ``size`` versions, the last but one in Production, that ``verify`` passes."""
    os.environ["MINIREG_ACTOR"] = ACTOR
    register_all(init_registry(root / "registry"), root, size)
    reg = open_registry(root / "registry")
    reg.promote(MODEL, size - 1, "Production")
    report = reg.verify()
    if not report.ok:
        raise SystemExit(f"the minireg fixture does not verify: {report.problems[:3]}")


def build_mlflow(root: Path, size: int) -> None:
    """A sqlite registry of ``size`` versions, the last but one in Production."""
    argv = [str(venv_python()), "-W", "ignore", "-c", MLFLOW_BUILD, "sqlite:///mlflow.db"]
    subprocess.run([*argv, str(size)], cwd=root, check=True, capture_output=True)


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> None:
    subprocess.run(["git", *args], cwd=cwd, input=stdin, check=True, capture_output=True)


def gto_stream(size: int) -> bytes:
    """A ``git fast-import`` stream: ``size`` commits, each tagged as GTO's ``register`` tags."""
    parts: list[bytes] = []

    def data(text: str) -> None:
        raw = text.encode()
        parts.append(b"data %d\n%s\n" % (len(raw), raw))

    for n in range(1, size + 1):
        parts.append(b"commit refs/heads/main\nmark :%d\n" % n)
        parts.append(b"committer Bench <%s> %d +0000\n" % (ACTOR.encode(), EPOCH + 60 * n))
        data(f"nightly retrain {n}\n")
        if n > 1:
            parts.append(b"from :%d\n" % (n - 1))
        parts.append(b"M 644 inline train.py\n")
        data(f"SEED = {n}\n")
    tags = [
        (f"m@v0.0.{n}", n, f"Registering artifact m version v0.0.{n}") for n in range(1, size + 1)
    ]
    prod = size - 1
    tags.append(("m#prod#1", prod, f"Assigning stage prod to artifact m version v0.0.{prod}"))
    for name, n, message in tags:
        parts.append(b"tag %s\nfrom :%d\n" % (name.encode(), n))
        parts.append(b"tagger Bench <%s> %d +0000\n" % (ACTOR.encode(), EPOCH + 60 * n + 30))
        data(message)
    return b"".join(parts)


def build_gto(root: Path, size: int) -> None:
    """A git repository of ``size`` commits, each registered as a version of ``m``, one in prod.

    The tags are GTO's own (annotated, named and worded as ``gto register`` and
    ``gto assign`` write them) and the refs are packed, as in a fresh clone.
    """
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Bench")
    git(root, "config", "user.email", ACTOR)
    git(root, "fast-import", "--quiet", stdin=gto_stream(size))
    git(root, "reset", "-q", "--hard", "main")
    git(root, "gc", "-q")


def code_repo(path: Path) -> None:
    """A small git repository, the folder ``minireg register`` runs in and records a commit of."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Bench")
    git(path, "config", "user.email", ACTOR)
    (path / "train.py").write_text("print('training')\n")
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "initial")


# -- the timed commands ------------------------------------------------------------------------


def base_env() -> dict[str, str]:
    """This environment without minireg's settings, and with bytecode written (as installed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINIREG_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def minireg_cmd() -> list[str]:
    """The command a user runs: the console script beside this Python, else ``python -m``."""
    script = Path(sys.executable).with_name("minireg")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "minireg"]


def to_promote(size: int) -> Iterator[str]:
    """The versions Production moves to, one a run: 1, 2, 3, ... (the fixture holds size - 1)."""
    return (str(n) for n in range(1, size - 1))


def minireg_cases(size: int, fixture: Path, work: Path) -> list[Case]:
    """``path``, ``promote`` and ``register`` on a copy of the fixture, from a small git repo."""
    registry = shutil.copytree(fixture / "registry", work / f"minireg-{size}")
    reg = ["--registry", str(registry)]
    cmd = minireg_cmd()
    code = work / "code"
    env = {**base_env(), "MINIREG_ACTOR": ACTOR, "PYTHONPYCACHEPREFIX": str(BENCH / "pycache")}
    small = code / f"model-{size}.bin"
    versions = to_promote(size)

    def promote() -> list[str]:
        to = ["--to", "Production", "--archive-existing"]
        return [*cmd, "promote", MODEL, next(versions), *to, *reg]

    def write_small() -> object:
        return small.write_bytes(f"small model {time.time_ns()}\n".encode())

    def register() -> list[str]:
        return [*cmd, "register", MODEL, str(small), "--metric", "auc_roc=0.9", *reg]

    def resolve() -> list[str]:
        return [*cmd, "path", "models:/m/Production", *reg]

    return [
        Case("minireg", "resolve", size, "path models:/m/Production", resolve, code, env),
        Case("minireg", "promote", size, "promote --archive-existing", promote, code, env),
        Case(
            "minireg", "register", size, "register (small file)", register, code, env, write_small
        ),
    ]


def mlflow_cases(size: int, fixture: Path, work: Path) -> list[Case]:
    """Resolve, transition and create on a copy of the sqlite registry, through MlflowClient."""
    folder = shutil.copytree(fixture, work / f"mlflow-{size}")
    python = [str(venv_python()), "-W", "ignore", "-c"]
    uri = "sqlite:///mlflow.db"
    env = base_env()
    versions = to_promote(size)
    sources = (f"file:///models/m/{n}" for n in itertools.count(size + 1))

    def resolve() -> list[str]:
        return [*python, MLFLOW_RESOLVE, uri]

    def promote() -> list[str]:
        return [*python, MLFLOW_PROMOTE, uri, next(versions)]

    def register() -> list[str]:
        return [*python, MLFLOW_REGISTER, uri, next(sources)]

    return [
        Case("mlflow", "resolve", size, "get_latest_versions(Production)", resolve, folder, env),
        Case("mlflow", "promote", size, "transition_model_version_stage", promote, folder, env),
        Case("mlflow", "register", size, "create_model_version", register, folder, env),
    ]


def gto_cases(size: int, fixture: Path, work: Path) -> list[Case]:
    """``show --ref``, ``assign`` and ``register`` in a copy of the fixture repository."""
    repo = shutil.copytree(fixture, work / f"gto-{size}", symlinks=True)
    gto = str(VENV / "bin" / "gto")
    env = base_env()
    versions = to_promote(size)

    def resolve() -> list[str]:
        return [gto, "show", "m#prod", "--ref"]

    def promote() -> list[str]:
        return [gto, "assign", MODEL, "--version", f"v0.0.{next(versions)}", "--stage", "prod"]

    def register() -> list[str]:
        return [gto, "register", MODEL]

    def new_commit() -> None:
        git(repo, "commit", "-q", "--allow-empty", "-m", "nightly retrain")

    return [
        Case("gto", "resolve", size, "gto show m#prod --ref", resolve, repo, env),
        Case("gto", "promote", size, "gto assign --stage prod", promote, repo, env),
        Case("gto", "register", size, "gto register (new commit)", register, repo, env, new_commit),
    ]


BUILDERS: dict[str, Callable[[Path, int], None]] = {
    "minireg": build_minireg,
    "mlflow": build_mlflow,
    "gto": build_gto,
}
CASES: dict[str, Callable[[int, Path, Path], list[Case]]] = {
    "minireg": minireg_cases,
    "mlflow": mlflow_cases,
    "gto": gto_cases,
}


# -- the run -----------------------------------------------------------------------------------


def run_once(case: Case) -> None:
    """One fresh process of ``case``; its wall time in ms is kept, or its failure."""
    if case.prepare is not None:
        case.prepare()
    argv = case.argv()
    start = time.perf_counter()
    out = subprocess.run(argv, cwd=case.cwd, env=case.env, capture_output=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if out.returncode == 0:
        case.times.append(elapsed)
        return
    tail = " | ".join(out.stderr.decode(errors="replace").strip().splitlines()[-3:])
    case.error = f"{case.label} exited {out.returncode}: {tail}"


def run_rounds(cases: list[Case], rounds: int) -> None:
    """A warm-up run of each case, then ``rounds`` rounds, each running every case once.

    The order rotates by one case a round, so no command always follows the same
    neighbour; a case that fails is reported and left out of the later rounds.
    """
    for case in cases:
        run_once(case)
        case.times.clear()
    start = time.perf_counter()
    for r in range(rounds):
        shift = r % len(cases)
        for case in cases[shift:] + cases[:shift]:
            if not case.error:
                run_once(case)
        elapsed = time.perf_counter() - start
        print(f"  round {r + 1}/{rounds} done ({elapsed:.0f} s)", file=sys.stderr, flush=True)


def report(cases: list[Case]) -> None:
    """The table: medians, spread, ratio to ``python -c pass`` and to minireg's same operation."""
    floor = statistics.median(cases[0].times)
    minireg = {
        (c.op, c.size): statistics.median(c.times) for c in cases if c.tool == "minireg" and c.times
    }
    print(
        f"{'operation':<10}{'tool':<9}{'versions':>9}{'median ms':>11}{'min-max ms':>17}"
        f"{'x floor':>9}{'x minireg':>11}  command"
    )
    order = {name: i for i, name in enumerate(("floor", *OPS))}
    rows = sorted(
        cases, key=lambda c: (order[c.op], TOOLS.index(c.tool) if c.op != "floor" else 0, c.size)
    )
    for case in rows:
        if not case.times:
            print(f"{case.op:<10}{case.tool:<9}{case.size:>9,}  failed: {case.error}")
            continue
        med = statistics.median(case.times)
        spread = f"{min(case.times):.0f}-{max(case.times):.0f}"
        ours = minireg.get((case.op, case.size))
        versus = f"{med / ours:10.1f}x" if ours and case.tool != "minireg" else " " * 11
        size = f"{case.size:,}" if case.size else "-"
        print(
            f"{case.op:<10}{case.tool:<9}{size:>9}{med:11.1f}{spread:>17}"
            f"{med / floor:8.1f}x{versus}  {case.label}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="minireg registry sizes")
    parser.add_argument("--peer-sizes", default="1000", help="MLflow and GTO registry sizes")
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds (median over them)")
    parser.add_argument("--only", default=",".join(TOOLS), help="tools to time, comma-separated")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the fixtures used")
    parser.add_argument("--keep", action="store_true", help="keep the copies timed in .bench/run")
    args = parser.parse_args(argv)
    args.tools = [t for t in TOOLS if t in args.only.split(",")]
    unknown = set(args.only.split(",")) - set(TOOLS)
    if unknown or not args.tools:
        parser.error(f"--only takes some of {', '.join(TOOLS)}")
    args.sizes = [int(s) for s in args.sizes.split(",") if s]
    args.peer_sizes = [int(s) for s in args.peer_sizes.split(",") if s]
    if args.rounds < 1 or min(args.sizes + args.peer_sizes, default=1000) < args.rounds + 3:
        parser.error("rounds must be at least 1, and every size at least rounds + 3")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    BENCH.mkdir(exist_ok=True)
    peers = [t for t in args.tools if t != "minireg"]
    versions = ensure_venv() if peers else {"minireg": __version__}
    shutil.rmtree(RUN, ignore_errors=True)
    code_repo(RUN / "code")
    floor = Case("python", "floor", 0, "python -c pass", lambda: [sys.executable, "-c", "pass"],
                 RUN, base_env())  # fmt: skip
    cases = [floor]
    for tool in args.tools:
        for size in args.sizes if tool == "minireg" else args.peer_sizes:
            name = f"{tool}-{versions[tool]}-{size}-f{FIXTURE_FORMAT}"
            fixture = cached(name, BUILDERS[tool], size, args.rebuild)
            cases += CASES[tool](size, fixture, RUN)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    tools = ", ".join(f"{t} {versions[t]}" for t in args.tools)
    print(
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; "
        f"Python {platform.python_version()}; {tools}; load {load}"
    )
    print(f"{len(cases)} commands, a warm-up run each, then {args.rounds} rounds ...", flush=True)
    try:
        run_rounds(cases, args.rounds)
    finally:
        if not args.keep:
            shutil.rmtree(RUN, ignore_errors=True)
    report(cases)
    return 1 if any(case.error for case in cases) else 0


if __name__ == "__main__":
    sys.exit(main())
