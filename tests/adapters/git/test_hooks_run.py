"""`minireg hooks run` for events that came by git: once each, then never again; --since replays."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from minireg.domain.hook_payloads import payload
from tests.conftest import git, run_proc
from tests.support.registry import checked_events

RECORD = """\
import json, os, sys
body = json.load(sys.stdin)
if os.path.exists("fails-" + sys.argv[1]):
    sys.exit("receiver down")
with open(sys.argv[1], "a") as fh:
    fh.write(json.dumps(body) + "\\n")
"""


def ok(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    out = run_proc(*args, cwd=cwd)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def received(clone: Path, name: str = "received.jsonl") -> list[dict[str, object]]:
    path = clone / name
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def two_clones(repo: Path, tmp_path: Path, hooks: str) -> tuple[Path, Path]:
    """A bare remote with a registry whose after-write hooks record to ./received.jsonl.

    Returns the CI clone (which delivers) and a developer's clone (which writes).
    """
    ok(repo, "init")
    (repo / "hooks").mkdir()
    (repo / "hooks" / "record.py").write_text(RECORD)
    settings = repo / "registry" / "minireg.toml"
    settings.write_text(settings.read_text() + hooks)
    (repo / ".gitignore").write_text("received*.jsonl\nfails-*\n*.pkl\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "registry with hooks")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(remote))
    ci, dev = tmp_path / "ci", tmp_path / "dev"
    for clone in (ci, dev):
        git(tmp_path, "clone", "-q", f"file://{remote}", str(clone))
        ok(clone, "install-merge-driver")
    return ci, dev


ONE_HOOK = """
[[hooks.after]]
on = ["register", "transition", "alias"]
command = ["python", "hooks/record.py", "received.jsonl"]
"""


def publish(dev: Path, *changes: tuple[str, ...]) -> None:
    """Make ``changes`` in the developer's clone, commit them and push."""
    (dev / "model.pkl").write_bytes(b"a model\n")
    for change in changes:
        ok(dev, *change)
    git(dev, "add", "registry")
    git(dev, "commit", "-q", "-m", "changes")
    git(dev, "push", "-q", "origin", "HEAD:main")


def test_hooks_run_delivers_what_a_pull_brought_exactly_once(repo: Path, tmp_path: Path) -> None:
    ci, dev = two_clones(repo, tmp_path, ONE_HOOK)
    # The CI machine starts its record: everything so far counts as delivered.
    ok(ci, "hooks", "run", "--since", "HEAD")
    before = git(ci, "rev-parse", "HEAD")
    publish(
        dev,
        ("register", "churn", "model.pkl"),
        ("promote", "churn", "1", "--to", "Staging"),
        ("alias", "set", "churn", "champion", "1"),
    )
    assert len(received(dev)) == 3  # the developer's own machine delivered them on write
    git(ci, "pull", "-q", "origin", "main")
    ran = ok(ci, "hooks", "run", "--json")
    events = checked_events(ci / "registry")
    assert received(ci) == [payload(e, e.hash) for e in events]
    report = json.loads(ran.stdout)
    assert (report["events"], report["delivered"], report["failed"]) == (3, 3, 0)
    assert report["head"] == events[-1].hash
    again = ok(ci, "hooks", "run")
    assert len(received(ci)) == 3
    assert again.stdout == ""
    assert again.stderr == (
        f"Delivered 0 of 0 deliveries for 0 events; every event up to {events[-1].hash[:12]} "
        "is delivered on this machine.\n"
    )
    # --since replays: after an event hash (its first characters do), or after a commit.
    ok(ci, "hooks", "run", "--since", events[0].hash[:10])
    assert [b["idempotency_key"] for b in received(ci)[3:]] == [e.hash for e in events[1:]]
    ok(ci, "hooks", "run", "--since", before)
    assert len(received(ci)) == 3 + 2 + 3
    assert ok(ci, "hooks", "run").stdout == ""
    assert len(received(ci)) == 8


def test_a_failed_delivery_is_tried_again_and_only_it(repo: Path, tmp_path: Path) -> None:
    hooks = ONE_HOOK + (
        '\n[[hooks.after]]\non = ["register"]\n'
        'command = ["python", "hooks/record.py", "received-2.jsonl"]\n'
    )
    ci, dev = two_clones(repo, tmp_path, hooks)
    ok(ci, "hooks", "run", "--since", "HEAD")
    publish(dev, ("register", "churn", "model.pkl"), ("register", "churn", "model.pkl"))
    git(ci, "pull", "-q", "origin", "main")
    (ci / "fails-received.jsonl").write_text("")
    failed = run_proc("hooks", "run", cwd=ci)
    assert failed.returncode == 7
    assert failed.stderr == (
        "error: 2 of 4 deliveries failed; `minireg hooks run` tries them again.\n"
    )
    assert len(received(ci, "received-2.jsonl")) == 2
    # The first failure rests the hook for the rest of the run: no wait per event.
    assert "not tried: the hook failed on an earlier event of this run" in failed.stdout
    (ci / "fails-received.jsonl").unlink()
    ok(ci, "hooks", "run")
    assert len(received(ci)) == 2 and len(received(ci, "received-2.jsonl")) == 2
    ok(ci, "hooks", "run")
    assert len(received(ci)) == 2 and len(received(ci, "received-2.jsonl")) == 2


def test_a_machine_without_a_record_is_asked_where_to_start(repo: Path, tmp_path: Path) -> None:
    ci, dev = two_clones(repo, tmp_path, ONE_HOOK)
    publish(dev, ("register", "churn", "model.pkl"))
    git(ci, "pull", "-q", "origin", "main")
    out = run_proc("hooks", "run", cwd=ci)
    assert (out.returncode, out.stderr) == (
        2,
        "error: This machine has no record of delivered events yet; run `minireg hooks run "
        "--since HASH` once (an event hash, or a git commit: the events after it are "
        "delivered; --since HEAD starts from now).\n",
    )
    assert received(ci) == []
    bad = run_proc("hooks", "run", "--since", "no-such-thing", cwd=ci)
    assert bad.returncode == 3
    assert "--since 'no-such-thing' names no event of this registry" in bad.stderr
    ok(ci, "hooks", "run", "--since", "start")
    assert [b["type"] for b in received(ci)] == ["model_version.created"]


def test_after_a_rebase_only_the_other_side_s_events_are_delivered(
    repo: Path, tmp_path: Path
) -> None:
    """`git pull --rebase` re-chains our unpushed events: known by their original hashes,
    they are not delivered again, and their payloads keep their idempotency keys."""
    ci, dev = two_clones(repo, tmp_path, ONE_HOOK)
    (ci / "ci.pkl").write_bytes(b"trained in CI\n")
    ok(ci, "register", "churn", "ci.pkl", "--commit")
    ours = checked_events(ci / "registry")[-1].hash
    publish(dev, ("register", "churn", "model.pkl"), ("promote", "churn", "1", "--to", "Staging"))
    git(ci, "pull", "-q", "--rebase", "origin", "main")
    events = checked_events(ci / "registry")
    assert ours not in {e.hash for e in events}, "our registration was re-chained"
    ok(ci, "hooks", "run")
    keys = [b["idempotency_key"] for b in received(ci)]
    assert keys[0] == ours
    assert sorted(keys[1:]) == sorted(e.hash for e in checked_events(dev / "registry")[-2:])
    assert len(keys) == 3


VETO = """
[[hooks.before_transition]]
stages = ["Production"]
command = ["python", "-c", "print('checked')"]
"""


def test_a_recorded_verdict_merges_and_verifies(repo: Path, tmp_path: Path) -> None:
    """The verdict is data of the transition event: re-chained by a rebase, merged by a
    merge, it stays as it was, and the trail verifies."""
    ci, dev = two_clones(repo, tmp_path, VETO)
    publish(dev, ("register", "churn", "model.pkl"))
    git(ci, "pull", "-q", "origin", "main")
    ok(ci, "promote", "churn", "1", "--to", "Production", "--commit")
    (verdict,) = [e for e in checked_events(ci / "registry") if "hooks" in e.data]
    assert verdict.data["hooks"] == [
        {"hook": "python -c 'print('\"'\"'checked'\"'\"')'", "passed": True, "detail": "checked"}
    ]
    publish(dev, ("register", "churn", "model.pkl"))  # lands first: ours is rebased onto it
    git(ci, "pull", "-q", "--rebase", "origin", "main")
    ok(ci, "verify")
    (moved,) = [e for e in checked_events(ci / "registry") if "hooks" in e.data]
    assert moved.hash != verdict.hash and moved.data == verdict.data
    git(ci, "push", "-q", "origin", "HEAD:main")
    (dev / "model.pkl").write_bytes(b"another model\n")
    ok(dev, "register", "churn", "model.pkl", "--commit")
    git(dev, "pull", "-q", "--no-rebase", "origin", "main")
    ok(dev, "verify")
    ok(dev, "verify", "--against-git")
    (merged,) = [e for e in checked_events(dev / "registry") if "hooks" in e.data]
    assert merged.data == verdict.data
    listed = json.loads(ok(dev, "list", "--json").stdout)
    assert [(v["version"], v["stage"]) for v in listed] == [
        (1, "Production"),
        (2, "None"),
        (3, "None"),
    ]
