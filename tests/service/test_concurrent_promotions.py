"""Two real processes promoting into an exclusive Production at the same time."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import minireg
from minireg.domain.state import State, apply
from tests.conftest import ROOT, run_proc
from tests.support.stages import add_version, configure

PER_WORKER = 25

# Each worker owns four versions and promotes a random one of them that is not in
# Production now. Only its owner moves a version into Production (the other worker
# can only archive it), so no promotion is a no-op and every one must be recorded.
WORKER = """
import json, os, random, subprocess, sys, time
from pathlib import Path
import minireg

root, index, owned, count, go, out, mode = sys.argv[1:]
owned = [int(v) for v in owned.split(",")]
rng = random.Random(int(index))
reg = minireg.open_registry(root)
actor = f"worker{index}@corp"
while not Path(go).exists():
    time.sleep(0.001)
with open(out, "w") as fh:
    for _ in range(int(count)):
        stages = {rec.version: rec.stage for rec in reg.versions("churn")}
        version = rng.choice([v for v in owned if stages[v] != "Production"])
        if mode == "api":
            done = reg.promote(
                "churn", version, "Production", archive_existing=True,
                approver="alice@corp", reason=f"worker {index}", actor=actor,
            ).to_dict()
        else:
            proc = subprocess.run(
                [sys.executable, "-m", "minireg", "promote", "churn", str(version),
                 "--to", "Production", "--archive-existing", "--approver", "alice@corp",
                 "--reason", f"worker {index}", "--json", "--registry", root],
                capture_output=True, text=True, env={**os.environ, "MINIREG_ACTOR": actor},
            )
            assert proc.returncode == 0, proc.stderr
            done = json.loads(proc.stdout)
        fh.write(json.dumps({"version": version, "changed": done["changed"],
                             "archived": done["archived"]}) + "\\n")
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["api", "cli"])
def test_two_processes_promote_into_exclusive_production(
    reg: minireg.Registry, tmp_path: Path, mode: str
) -> None:
    """In "api" mode each process calls Registry.promote; in "cli" mode each runs
    `minireg promote --archive-existing` as 25 processes of its own, one after another."""
    reg = configure(reg, '[stages]\nexclusive = ["Production"]\n')
    for i in range(8):
        add_version(reg, 0.8 + i / 100)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    go = tmp_path / "go"
    outs = [tmp_path / f"worker{i}.jsonl" for i in range(2)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(reg.root),
                str(i),
                owned,
                str(PER_WORKER),
                str(go),
                str(outs[i]),
                mode,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, owned in enumerate(("1,2,3,4", "5,6,7,8"))
    ]
    time.sleep(0.5)  # let both import minireg and wait at the starting line
    go.touch()
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr

    results = [json.loads(line) for out in outs for line in out.read_text().splitlines()]
    assert len(results) == 2 * PER_WORKER
    assert all(r["changed"] for r in results)

    events = reg.history()
    transitions = [e for e in events if e.action == "transition"]
    promotions = [e for e in transitions if "archived_by" not in e.data]
    archivals = [e for e in transitions if "archived_by" in e.data]
    assert len(promotions) == 2 * PER_WORKER
    assert sorted(e.actor for e in promotions) == sorted(
        [f"worker{i}@corp" for i in range(2) for _ in range(PER_WORKER)]
    )
    assert all(e.data["to"] == "Production" for e in promotions)
    # Every promotion that displaced a holder produced exactly one archival; only the
    # very first found Production empty.
    assert len(archivals) == sum(len(r["archived"]) for r in results) == 2 * PER_WORKER - 1
    assert all(e.data == {**e.data, "to": "Archived", "from": "Production"} for e in archivals)

    # Replay the trail: Production never has two holders, and each archival sits right
    # before the promotion that caused it, in the same locked write.
    state = State(initial_stage="None")
    for i, event in enumerate(events):
        apply(state, event)
        if "archived_by" in event.data:
            nxt = events[i + 1]
            assert (nxt.version, nxt.time) == (event.data["archived_by"], event.time)
            continue
        assert len(state.holders("churn", "Production")) <= 1
    assert len(reg.state().holders("churn", "Production")) == 1
    assert not reg.state().anomalies

    out = run_proc("verify", "--registry", str(reg.root))
    assert out.returncode == 0, out.stderr
    assert out.stderr.startswith(f"OK: {8 + 4 * PER_WORKER - 1} events, 8 versions")


def test_exclusive_stage_keeps_one_holder_through_the_api(reg: minireg.Registry) -> None:
    """The same rule without concurrency: refused without --archive-existing, one holder after."""
    reg = configure(reg, '[stages]\nexclusive = ["Production"]\n')
    one, two = add_version(reg, 0.8), add_version(reg, 0.9)
    reg.promote("churn", one, "Production")
    with pytest.raises(minireg.Refused, match="add --archive-existing"):
        reg.promote("churn", two, "Production")
    reg.promote("churn", two, "Production", archive_existing=True)
    assert [rec.stage for rec in reg.versions("churn")] == ["Archived", "Production"]
