"""Real processes at once, killed ones, and a held lock: the registry stays whole."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import minireg
from minireg.domain.ledger import render_csv
from minireg.domain.state import fold
from tests.conftest import run_proc, tree_digest
from tests.support.registry import (
    assert_objects_sound,
    checked_events,
    ledger_rows,
    lock_held_elsewhere,
)

WORKER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import minireg

    root, go, name, count = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    reg = minireg.open_registry(root)
    art = Path(f"{name}.bin")
    while not go.exists():
        time.sleep(0.005)
    for i in range(count):
        art.write_bytes(f"{name} {i}".encode())
        rec = reg.register("churn", art, metrics={"i": i}, requirements=b"x==1\\n",
                           tags={"worker": name})
        print(rec.version, flush=True)
    """
)


@pytest.mark.slow
def test_8_processes_x_25_registers_give_1_to_200(
    reg: minireg.Registry, repo: Path, tmp_path: Path
) -> None:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(reg.root), str(go), f"w{n}", "25"],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(8)
    ]
    time.sleep(0.5)  # let every worker import and wait at the start line
    go.write_text("go")
    seen: list[int] = []
    for proc in procs:
        out, errs = proc.communicate(timeout=300)
        assert proc.returncode == 0, errs
        numbers = [int(line) for line in out.split()]
        assert len(numbers) == 25
        assert numbers == sorted(numbers), "one process's versions must increase"
        seen.extend(numbers)
    assert sorted(seen) == list(range(1, 201))
    records = reg.versions("churn")
    assert [r.version for r in records] == list(range(1, 201))
    assert sorted(r.tags["worker"] for r in records) == sorted([f"w{n}" for n in range(8)] * 25)
    events = checked_events(reg.root)
    assert [e.seq for e in events] == list(range(1, 201))
    assert len(ledger_rows(reg.root)) == 200
    out = run_proc("verify", "--registry", str(reg.root), cwd=repo)
    assert out.returncode == 0, out.stdout + out.stderr


def lagging_ledger(root: Path) -> bool:
    """True when the ledger is exactly the view of every event but the last (the documented
    state after a writer died between the events append and the ledger rewrite)."""
    events = checked_events(root)
    return (root / "ledger.csv").read_bytes() == render_csv(fold(events[:-1]).records())


def assert_sound_after_kill(root: Path, cwd: Path) -> str:
    """Readable and consistent after a kill; return which documented state it is in."""
    out = run_proc("list", "--json", "--registry", str(root), cwd=cwd)
    assert out.returncode == 0, out.stderr
    assert_objects_sound(root)
    rows = ledger_rows(root)
    events = checked_events(root)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    verify = run_proc("verify", "--registry", str(root), cwd=cwd)
    if verify.returncode == 0:
        assert len(rows) == len(events)
        return "consistent"
    # The one documented exception: the ledger lags one step behind the events.
    assert verify.returncode == 6, verify.stdout + verify.stderr
    assert lagging_ledger(root), verify.stdout + verify.stderr
    return "ledger lags"


KILLABLE = textwrap.dedent(
    """
    import os, signal, sys
    import minireg
    from minireg.storage.files import FileStorage
    from minireg.storage.objects import ObjectStore

    where, root, artifact = sys.argv[1], sys.argv[2], sys.argv[3]

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    if where == "before-ledger":
        FileStorage.write_ledger = die
        FileStorage.write_ledger_bytes = die
    elif where == "mid-object":
        ObjectStore._settle = die
    elif where == "mid-append":
        real_append = FileStorage.append_events

        def torn(self, events):
            real_write = os.write

            def half(fd, data):
                real_write(fd, bytes(data)[: len(data) // 2])
                die()

            os.write = half
            return real_append(self, events)

        FileStorage.append_events = torn
    reg = minireg.open_registry(root)
    reg.register("churn", artifact, requirements=b"x==1\\n", actor="killer")
    """
)


@pytest.fixture
def killable(tmp_path: Path) -> Path:
    script = tmp_path / "killable.py"
    script.write_text(KILLABLE)
    return script


def run_killed(script: Path, where: str, reg: minireg.Registry, artifact: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(script), where, str(reg.root), str(artifact)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == -signal.SIGKILL, out.stderr


def test_killed_between_events_and_ledger_lags_then_next_write_repairs(
    reg: minireg.Registry, artifact: Path, repo: Path, killable: Path
) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    run_killed(killable, "before-ledger", reg, artifact)
    assert assert_sound_after_kill(reg.root, repo) == "ledger lags"
    verify = run_proc("verify", "--registry", str(reg.root), cwd=repo)
    assert "run `minireg rebuild`" in verify.stdout + verify.stderr
    # Reads fold the events, so the killed version is already visible.
    assert [r.version for r in reg.versions("churn")] == [1, 2]
    # The next write brings the ledger up to date.
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    assert run_proc("verify", "--registry", str(reg.root), cwd=repo).returncode == 0
    assert [r["version"] for r in ledger_rows(reg.root)] == ["1", "2", "3"]


def test_killed_between_events_and_ledger_then_rebuild_repairs(
    reg: minireg.Registry, artifact: Path, repo: Path, killable: Path
) -> None:
    run_killed(killable, "before-ledger", reg, artifact)
    assert assert_sound_after_kill(reg.root, repo) == "ledger lags"
    out = run_proc("rebuild", "--registry", str(reg.root), cwd=repo)
    assert out.returncode == 0, out.stderr
    assert run_proc("verify", "--registry", str(reg.root), cwd=repo).returncode == 0


def test_killed_mid_object_leaves_no_object_under_a_final_name(
    reg: minireg.Registry, artifact: Path, repo: Path, killable: Path
) -> None:
    before = tree_digest(reg.root)
    big = repo / "big.bin"
    big.write_bytes(os.urandom(2_000_000))
    run_killed(killable, "mid-object", reg, big)
    temps = assert_objects_sound(reg.root)
    assert len(temps) == 1, "the copy is left under its temporary name"
    assert {k: v for k, v in tree_digest(reg.root).items() if ".tmp-" not in k} == before
    assert assert_sound_after_kill(reg.root, repo) == "consistent"
    # The next writer (under the lock) removes the dead writer's temp file.
    reg.register("churn", big, requirements=b"x==1\n", actor="me")
    assert assert_objects_sound(reg.root) == []
    assert run_proc("verify", "--registry", str(reg.root), cwd=repo).returncode == 0


def test_killed_mid_append_leaves_a_torn_line_that_readers_skip(
    reg: minireg.Registry, artifact: Path, repo: Path, killable: Path
) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    run_killed(killable, "mid-append", reg, artifact)
    raw = (reg.root / "events.jsonl").read_bytes()
    assert not raw.endswith(b"\n"), "the kill left half an event line"
    assert assert_sound_after_kill(reg.root, repo) == "consistent"
    assert [r.version for r in reg.versions("churn")] == [1]
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    assert (reg.root / "events.jsonl").read_bytes().endswith(b"\n")
    assert [e.version for e in checked_events(reg.root)] == [1, 2]
    assert run_proc("verify", "--registry", str(reg.root), cwd=repo).returncode == 0


@pytest.mark.slow
def test_sigkill_at_random_moments(reg: minireg.Registry, repo: Path) -> None:
    """The real CLI killed at spread-out moments, with an artifact big enough to take time."""
    big = repo / "big.bin"
    rng = random.Random(20240301)
    cmd = [sys.executable, "-m", "minireg", "register", "churn", str(big), "-r", str(reg.root)]
    big.write_bytes(rng.randbytes(48_000_000))
    start = time.perf_counter()
    subprocess.run(cmd, cwd=repo, check=True, capture_output=True)
    full = time.perf_counter() - start
    outcomes = []
    trials = 8
    for trial in range(trials):
        big.write_bytes(rng.randbytes(48_000_000))
        proc = subprocess.Popen(cmd, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Spread the kills from start-up to past the usual end of a write.
        time.sleep(full * (0.15 + 1.0 * trial / trials) * rng.uniform(0.9, 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        state = assert_sound_after_kill(reg.root, repo)
        outcomes.append((proc.returncode, state, len(checked_events(reg.root))))
        if state == "ledger lags":
            # Documented: the next write brings the ledger up to date.
            reg.register("churn", repo / "train.py", requirements=b"x==1\n", actor="me")
            assert run_proc("verify", "-r", str(reg.root), cwd=repo).returncode == 0
    versions = [r.version for r in reg.versions("churn")]
    assert versions == list(range(1, len(versions) + 1)), outcomes
    out = run_proc("verify", "--registry", str(reg.root), cwd=repo)
    assert out.returncode == 0, f"{outcomes}: {out.stdout}{out.stderr}"


def test_lock_timeout_exits_5_and_writes_no_version(
    reg: minireg.Registry, artifact: Path, repo: Path, tmp_path: Path
) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    with lock_held_elsewhere(reg.root):
        other = repo / "other.bin"
        other.write_bytes(b"a new model that waits for the lock\n")
        before = tree_digest(reg.root)
        started = time.perf_counter()
        out = run_proc(
            "register",
            "churn",
            "other.bin",
            "--requirements",
            "train.py",
            "--registry",
            str(reg.root),
            cwd=repo,
            env={"MINIREG_LOCK_TIMEOUT": "0.5"},
        )
        waited = time.perf_counter() - started
    assert (out.returncode, out.stdout) == (5, "")
    assert out.stderr == (
        f"error: The registry at {reg.root} is busy: its lock was not acquired within 0.5 s; "
        "try again, or raise MINIREG_LOCK_TIMEOUT.\n"
    )
    assert waited >= 0.5
    after = tree_digest(reg.root)
    # Events, ledger and settings are byte-for-byte unchanged. Artifacts are stored before
    # the lock is taken (README): the new bytes may sit in objects/ unreferenced, as
    # sound objects that a retry reuses.
    extra = {k for k in after if k not in before}
    assert {k: after[k] for k in before} == before
    assert all(k.startswith("objects/sha256/") for k in extra), extra
    assert assert_objects_sound(reg.root) == []
    assert [r.version for r in reg.versions("churn")] == [1]
    # Once the lock is free, the same command goes through.
    out = run_proc(
        "register",
        "churn",
        "other.bin",
        "--registry",
        str(reg.root),
        cwd=repo,
        env={"MINIREG_LOCK_TIMEOUT": "0.5"},
    )
    assert (out.returncode, out.stdout) == (0, "2\n"), out.stderr


def test_bad_lock_timeout_value(reg: minireg.Registry, artifact: Path, repo: Path) -> None:
    before = tree_digest(reg.root)
    out = run_proc(
        "register",
        "churn",
        "model.pkl",
        "-r",
        str(reg.root),
        cwd=repo,
        env={"MINIREG_LOCK_TIMEOUT": "soon"},
    )
    assert (out.returncode, out.stderr) == (
        2,
        "error: MINIREG_LOCK_TIMEOUT='soon' is not a number of seconds.\n",
    )
    assert tree_digest(reg.root) == before
