"""Promotion, history, show --at and verify on registries of 1,000 and 10,000 versions.

Figures are medians in ms: ``promote`` through the Python API (warm process, one
locked write each: archive the holder, promote the candidate, rewrite the
ledger), and fresh processes of ``minireg promote``, ``history MODEL --json``,
``show MODEL --at`` and ``verify``, beside ``python -c pass``. The registries
are built through minireg's own domain code (chained events, then ``rebuild``).
Standard library only; figures, not a verdict.

    python bench/bench_promote.py [--runs N] [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from minireg._version import TOOL
from minireg.domain.records import Draft, chain
from minireg.service.registry import init_registry, open_registry

MODEL = "churn_predictor"
SETTINGS = """\
[stages]
exclusive = ["Production"]

[policies.Production]
require_approver = true
gates = ["auc_roc >= 0.5", "auc_roc >= current.auc_roc - 0.5"]
"""


def build_registry(root: Path, size: int) -> Path:
    """``size`` versions of MODEL, one in Production, with an exclusive-Production policy."""
    reg = init_registry(root)
    (reg.root / "minireg.toml").write_text(SETTINGS, encoding="utf-8")
    artifact = reg.storage.put_object(b"a small model, shared by every version\n")
    drafts = [
        Draft(
            "register",
            MODEL,
            n,
            {
                "created_at": "2024-01-01T00:00:00.000000Z",
                "registered_by": "bench@example.com",
                "artifact": "model.joblib",
                "artifact_sha256": artifact,
                "artifact_bytes": 39,
                "flavor": "joblib",
                "metrics": {"auc_roc": 0.8 + (n % 97) / 1000},
                "params": {"seed": str(n)},
            },
        )
        for n in range(1, size + 1)
    ]
    drafts.append(Draft("transition", MODEL, 1, {"from": "None", "to": "Production"}))
    events = chain(drafts, head=None, time="2024-01-02T00:00:00.000000Z", actor="bench", tool=TOOL)
    with open(reg.storage.events_path, "w", encoding="utf-8", newline="\n") as fh:
        fh.writelines(event.to_line() + "\n" for event in events)
    open_registry(root).rebuild()
    return reg.root


def cold(cmd: list[str], runs: int, env: dict[str, str]) -> float:
    """Median wall time in ms of ``runs`` fresh processes; a failure stops the bench."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, env=env, check=False)
        times.append((time.perf_counter() - start) * 1000)
        if out.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr!r}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11, help="runs per figure (at least 5)")
    parser.add_argument("--sizes", default="1000,10000", help="registry sizes, comma-separated")
    args = parser.parse_args()
    runs = max(args.runs, 5)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MINIREG_")},
        "MINIREG_ACTOR": "bench@example.com",
    }
    cmd = [sys.executable, "-m", "minireg"]
    tmp = Path(tempfile.mkdtemp(prefix="minireg-bench-promote-"))
    try:
        base = cold([sys.executable, "-c", "pass"], runs, env)
        print(f"median ms over {runs} runs; python -c pass: {base:.1f}")
        for size in [int(s) for s in args.sizes.split(",") if s]:
            root = build_registry(tmp / f"registry-{size}", size)
            reg = open_registry(root)
            api = []
            for i in range(runs):
                start = time.perf_counter()
                reg.promote(
                    MODEL, 2 + i, "Production", approver="alice@corp", archive_existing=True,
                    actor="bench@example.com",
                )  # fmt: skip
                api.append((time.perf_counter() - start) * 1000)
            r = ["--registry", str(root)]
            cli_promote = []
            for i in range(runs):
                version = str(2 + runs + i)
                argv = [*cmd, "promote", MODEL, version, "--to", "Production",
                        "--approver", "alice@corp", "--archive-existing", *r]  # fmt: skip
                cli_promote.append(cold(argv, 1, env))
            figures = {
                "promote (API)": statistics.median(api),
                "minireg promote": statistics.median(cli_promote),
                "history MODEL --json": cold([*cmd, "history", MODEL, "--json", *r], runs, env),
                "show MODEL --at": cold([*cmd, "show", MODEL, "--at", "2024-01-03", *r], runs, env),
                "verify": cold([*cmd, "verify", *r], runs, env),
            }
            print(f"-- {size:,} versions")
            for name, figure in figures.items():
                print(f"{name:<22} {figure:8.1f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
