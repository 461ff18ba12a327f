"""Command hooks, run for real: after a write (outside the lock) and before a promotion (veto)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import minireg
from minireg.domain.hook_payloads import payload
from tests.conftest import run_proc, tree_digest
from tests.support.registry import checked_events
from tests.support.webhooks import add_hooks, python_hook, toml_list

RECORD = """
import json, os, sys
body = json.load(sys.stdin)
env = {k: v for k, v in os.environ.items() if k.startswith("MINIREG_")}
with open(sys.argv[1], "a") as fh:
    fh.write(json.dumps({"payload": body, "env": env, "cwd": os.getcwd()}) + "\\n")
"""


def script(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def ok(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    out = run_proc(*args, cwd=cwd)
    assert out.returncode == 0, out.stderr
    return out


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_each_change_reaches_the_command_as_its_payload_on_stdin(
    reg: minireg.Registry, repo: Path, artifact: Path, tmp_path: Path
) -> None:
    out = tmp_path / "calls.jsonl"
    argv = [*python_hook(script(tmp_path, "record.py", RECORD)), str(out)]
    reg = add_hooks(
        reg,
        f"""[[hooks.after]]
on = ["register", "transition", "alias", "describe", "tag"]
command = {toml_list(argv)}
""",
    )
    r = str(reg.root)
    ok("register", "churn", str(artifact), "-r", r, cwd=repo)
    ok("promote", "churn", "1", "--to", "Staging", "--reason", "eval ok", "-r", r, cwd=repo)
    ok("alias", "set", "churn", "champion", "1", "-r", r, cwd=repo)
    ok("describe", "churn", "1", "first try", "-r", r, cwd=repo)
    ok("tag", "churn", "1", "team=growth", "-r", r, cwd=repo)
    ok("alias", "delete", "churn", "champion", "-r", r, cwd=repo)
    events = checked_events(reg.root)
    calls = lines(out)
    assert [c["payload"] for c in calls] == [payload(e, e.hash) for e in events]
    assert [c["payload"]["type"] for c in calls] == [  # type: ignore[index]
        "model_version.created",
        "model_version.transitioned",
        "model_version_alias.created",
        "model_version.description_updated",
        "model_version_tag.set",
        "model_version_alias.deleted",
    ]
    env = calls[1]["env"]
    assert env == {
        **env,
        "MINIREG_EVENT": "model_version.transitioned",
        "MINIREG_EVENT_ID": events[1].hash,
        "MINIREG_MODEL": "churn",
        "MINIREG_VERSION": "1",
        "MINIREG_URI": "models:/churn/1",
        "MINIREG_FROM_STAGE": "None",
        "MINIREG_TO_STAGE": "Staging",
        "MINIREG_STAGE": "Staging",
        "MINIREG_REASON": "eval ok",
        "MINIREG_REGISTRY": str(reg.root.resolve()),
    }
    # Commands start in the folder that holds the registry (the git root, usually).
    assert {c["cwd"] for c in calls} == {str(reg.root.resolve().parent)}


def test_a_hook_only_hears_the_changes_models_and_stages_it_names(
    reg: minireg.Registry, repo: Path, artifact: Path, tmp_path: Path
) -> None:
    out = tmp_path / "calls.jsonl"
    argv = [*python_hook(script(tmp_path, "record.py", RECORD)), str(out)]
    reg = add_hooks(
        reg,
        f"""[[hooks.after]]
on = ["transition"]
models = ["churn"]
stages = ["Production"]
command = {toml_list(argv)}
""",
    )
    for model in ("churn", "fraud"):
        reg.register(model, artifact, actor="me")
        reg.promote(model, 1, "Staging", actor="me")
        reg.promote(model, 1, "Production", actor="me")
    assert [(c["env"]["MINIREG_MODEL"], c["env"]["MINIREG_STAGE"]) for c in lines(out)] == [  # type: ignore[index]
        ("churn", "Production")
    ]


@pytest.fixture
def failing(reg: minireg.Registry, tmp_path: Path) -> minireg.Registry:
    fail = script(tmp_path, "deploy.py", "import sys\nprint('cluster down', file=sys.stderr)\n"
                  "sys.exit(3)\n")  # fmt: skip
    return add_hooks(
        reg, f'[[hooks.after]]\non = ["register"]\ncommand = {toml_list(python_hook(fail))}\n'
    )


def test_a_failing_hook_leaves_the_change_recorded_and_says_so(
    failing: minireg.Registry, repo: Path, artifact: Path, tmp_path: Path
) -> None:
    out = run_proc("register", "churn", str(artifact), "--json", "-r", str(failing.root), cwd=repo)
    assert out.returncode == 0, out.stderr
    label = f"{sys.executable} {tmp_path / 'deploy.py'}"
    assert out.stderr == (
        f"warning: hook {label} failed for model_version.created of churn version 1 (exit 3: "
        "cluster down); the change stands, and `minireg hooks run` tries the hook again.\n"
    )
    (hook,) = json.loads(out.stdout)["hooks"]
    assert {k: hook[k] for k in ("hook", "event", "ok", "detail")} == {
        "hook": label,
        "event": "model_version.created",
        "ok": False,
        "detail": "exit 3: cluster down",
    }
    assert [e.action for e in checked_events(failing.root)] == ["register"]
    assert failing.get("churn", 1).version == 1
    assert run_proc("verify", "-r", str(failing.root), cwd=repo).returncode == 0


def test_a_hanging_hook_is_stopped_at_its_timeout_with_what_it_started(
    reg: minireg.Registry, repo: Path, artifact: Path, tmp_path: Path
) -> None:
    # The hook starts a grandchild that holds the output pipes open: both must be stopped.
    hang = script(
        tmp_path,
        "hang.py",
        "import subprocess, sys\n"
        "subprocess.run([sys.executable, '-c', 'import time; time.sleep(120)'])\n",
    )
    reg = add_hooks(
        reg,
        f'[[hooks.after]]\non = ["register"]\ntimeout = 1.5\n'
        f"command = {toml_list(python_hook(hang))}\n",
    )
    start = time.monotonic()
    out = run_proc("register", "churn", str(artifact), "-r", str(reg.root), cwd=repo)
    elapsed = time.monotonic() - start
    assert out.returncode == 0, out.stderr
    assert "(timed out after 1.5 s and was stopped); the change stands" in out.stderr
    assert elapsed < 15, elapsed
    assert [e.action for e in checked_events(reg.root)] == ["register"]


VETO = """
import json, os, sys
body = json.load(sys.stdin)
with open(sys.argv[1], "a") as fh:
    fh.write(json.dumps({"payload": body, "dry_run": os.environ["MINIREG_DRY_RUN"]}) + "\\n")
report = os.path.join("reports", f"{body['data']['name']}-v{body['data']['version']}.ok")
if not os.path.exists(report):
    print("checking fairness", flush=True)
    sys.exit(f"no fairness report at {report}")
print(f"fairness report {report} found")
"""


@pytest.fixture
def vetoing(reg: minireg.Registry, artifact: Path, tmp_path: Path) -> minireg.Registry:
    argv = [*python_hook(script(tmp_path, "fairness.py", VETO)), str(tmp_path / "asked.jsonl")]
    reg = add_hooks(
        reg,
        f'[[hooks.before_transition]]\nstages = ["Production"]\ncommand = {toml_list(argv)}\n',
    )
    reg.register("churn", artifact, actor="me")
    return reg


def test_a_veto_refuses_with_its_message_and_writes_nothing(
    vetoing: minireg.Registry, repo: Path, tmp_path: Path
) -> None:
    label = f"{sys.executable} {tmp_path / 'fairness.py'} {tmp_path / 'asked.jsonl'}"
    before = tree_digest(vetoing.root)
    out = run_proc("promote", "churn", "1", "--to", "Production", "-r", str(vetoing.root), cwd=repo)
    assert out.returncode == 4
    assert out.stderr == (
        f"error: Promotion of churn version 1 to Production is refused: hook {label}: "
        "no fairness report at reports/churn-v1.ok.\n"
    )
    assert tree_digest(vetoing.root) == before
    (asked,) = lines(tmp_path / "asked.jsonl")
    assert asked["dry_run"] == "0"
    assert asked["payload"]["type"] == "model_version.transition_requested"  # type: ignore[index]
    assert {  # type: ignore[union-attr]
        k: asked["payload"]["data"][k]  # type: ignore[index]
        for k in ("name", "version", "from_stage", "to_stage", "actor")
    } == {
        "name": "churn",
        "version": "1",
        "from_stage": "None",
        "to_stage": "Production",
        "actor": "tester@example.com",
    }
    # Other stages do not ask it.
    vetoing.promote("churn", 1, "Staging", actor="me")
    assert len(lines(tmp_path / "asked.jsonl")) == 1


def test_a_dry_run_lists_the_hook_beside_the_built_in_checks(
    vetoing: minireg.Registry, repo: Path, tmp_path: Path
) -> None:
    label = f"{sys.executable} {tmp_path / 'fairness.py'} {tmp_path / 'asked.jsonl'}"
    args = ("promote", "churn", "1", "--to", "Production", "--dry-run", "-r", str(vetoing.root))
    out = run_proc(*args, "--json", cwd=repo)
    assert out.returncode == 4
    assert json.loads(out.stdout)["checks"] == [
        {"check": "exclusive stage", "passed": True,
         "detail": "Production is exclusive; nobody holds it"},
        {"check": f"hook {label}", "passed": False,
         "detail": "no fairness report at reports/churn-v1.ok"},
    ]  # fmt: skip
    assert lines(tmp_path / "asked.jsonl")[-1]["dry_run"] == "1"
    (repo / "reports").mkdir()
    (repo / "reports" / "churn-v1.ok").write_text("fair\n")
    out = run_proc(*args, cwd=repo)
    assert out.returncode == 0, out.stderr
    assert f"hook {label}  pass     fairness report reports/churn-v1.ok found" in out.stdout
    assert [e.action for e in checked_events(vetoing.root)] == ["register"]


def test_the_verdict_is_recorded_in_the_transition_and_the_trail_verifies(
    vetoing: minireg.Registry, repo: Path, tmp_path: Path
) -> None:
    (repo / "reports").mkdir()
    (repo / "reports" / "churn-v1.ok").write_text("fair\n")
    done = vetoing.promote("churn", 1, "Production", reason="fair", actor="me")
    label = f"{sys.executable} {tmp_path / 'fairness.py'} {tmp_path / 'asked.jsonl'}"
    assert done.checks[-1].name == f"hook {label}" and done.checks[-1].passed
    last = checked_events(vetoing.root)[-1]
    assert last.data == {
        "from": "None",
        "to": "Production",
        "hooks": [
            {"hook": label, "passed": True, "detail": "fairness report reports/churn-v1.ok found"}
        ],
    }
    assert vetoing.get("churn", 1).stage == "Production"
    assert vetoing.verify().ok
    assert run_proc("verify", "-r", str(vetoing.root), cwd=repo).returncode == 0


def test_a_promotion_the_policies_refuse_does_not_run_the_hooks(
    vetoing: minireg.Registry, repo: Path, tmp_path: Path
) -> None:
    (repo / "reports").mkdir()
    for v in (1, 2):
        (repo / "reports" / f"churn-v{v}.ok").write_text("fair\n")
    vetoing.promote("churn", 1, "Production", actor="me")
    vetoing.register("churn", tmp_path / "fairness.py", actor="me")
    with pytest.raises(minireg.Refused) as refused:
        vetoing.promote("churn", 2, "Production", actor="me")
    assert refused.value.reasons == [
        "exclusive stage: Production is held by version 1; add --archive-existing to replace it"
    ]
    assert [a["payload"]["data"]["version"] for a in lines(tmp_path / "asked.jsonl")] == ["1"]  # type: ignore[index]
    # A dry run asks every check, the hooks included.
    dry = vetoing.promote("churn", 2, "Production", dry_run=True, actor="me")
    assert [(c.name.split()[0], c.passed) for c in dry.checks] == [
        ("exclusive", False),
        ("hook", True),
    ]


SLOW = """
import os, sys, time
from pathlib import Path
from minireg.storage.lock import registry_lock

root, flags = Path(os.environ["MINIREG_REGISTRY"]), Path(sys.argv[1])
with registry_lock(root, 5):  # raises RegistryBusy if the writer still held it
    (flags / "hook-took-the-lock").write_text("yes")
deadline = time.monotonic() + 60
while not (flags / "release").exists() and time.monotonic() < deadline:
    time.sleep(0.05)
"""


def test_a_sleeping_after_hook_holds_no_lock_and_blocks_no_writer(
    reg: minireg.Registry, repo: Path, artifact: Path, tmp_path: Path
) -> None:
    flags = tmp_path / "flags"
    flags.mkdir()
    argv = [*python_hook(script(tmp_path, "slow.py", SLOW)), str(flags)]
    reg = add_hooks(reg, f'[[hooks.after]]\non = ["tag"]\ncommand = {toml_list(argv)}\n')
    reg.register("churn", artifact, actor="me")
    writer = subprocess.Popen(
        [sys.executable, "-m", "minireg", "tag", "churn", "1", "team=growth", "-r", str(reg.root)],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MINIREG_LOCK_TIMEOUT": "5"},
    )
    try:
        deadline = time.monotonic() + 60
        while not (flags / "hook-took-the-lock").exists() and time.monotonic() < deadline:
            assert writer.poll() is None, writer.communicate()
            time.sleep(0.05)
        # The hook took the registry lock itself: the writer that runs it had let go.
        assert (flags / "hook-took-the-lock").read_text() == "yes"
        # A second writer goes through while the first one's hook still sleeps.
        start = time.monotonic()
        second = run_proc(
            "describe", "churn", "1", "written meanwhile", "-r", str(reg.root),
            cwd=repo, env={"MINIREG_LOCK_TIMEOUT": "3"},
        )  # fmt: skip
        assert second.returncode == 0, second.stderr
        assert time.monotonic() - start < 10
        assert writer.poll() is None, "the first writer waits for its hook"
        assert [e.action for e in checked_events(reg.root)] == ["register", "tag", "describe"]
    finally:
        (flags / "release").write_text("go")
        _, stderr = writer.communicate(timeout=60)
    assert writer.returncode == 0, stderr
    assert reg.verify().ok
