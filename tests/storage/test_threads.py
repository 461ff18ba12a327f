"""Many threads of one process writing one registry: nothing acknowledged is lost.

The orphan sweep (run when the lock is taken, and by the state cache) used to
delete every temp file named with its own process id, which is another
thread's object still being written.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import minireg
from minireg.storage.atomic import FOREIGN_ORPHAN_AGE, TMP_PREFIX, remove_orphans, temp_name
from minireg.storage.lock import registry_lock
from tests.conftest import run_proc
from tests.support.registry import assert_objects_sound, checked_events, ledger_rows

THREADS = 8
PER_THREAD = 25


def test_8_threads_x_25_registers_with_concurrent_promotes(
    reg: minireg.Registry, repo: Path
) -> None:
    shared = reg  # half the threads share one Registry, half open their own on the folder
    start = threading.Barrier(THREADS + 2)  # the writers, the promoter and this thread
    acknowledged: list[tuple[str, int]] = []
    failures: list[BaseException] = []
    done = threading.Event()

    def writer(n: int) -> None:
        registry = shared if n % 2 else minireg.open_registry(reg.root)
        start.wait()
        for i in range(PER_THREAD):
            art = repo / f"t{n}-{i}.bin"
            # Big enough that a copy is still under its temp name when another thread sweeps.
            art.write_bytes(f"thread {n} model {i}\n".encode() * 20_000)
            try:
                rec = registry.register(
                    "churn", art, requirements=b"x==1\n", tags={"thread": str(n)}, actor=f"t{n}"
                )
            except BaseException as exc:
                failures.append(exc)
            else:
                acknowledged.append((f"t{n}-{i}", rec.version))

    promoted: list[int] = []

    def promoter() -> None:
        registry = minireg.open_registry(reg.root)
        start.wait()
        while not done.is_set():
            versions = registry.versions("churn") if registry.state().versions else []
            if versions:
                target = versions[-1].version
                try:
                    registry.promote(
                        "churn", target, "Production", archive_existing=True, actor="ci"
                    )
                    promoted.append(target)
                except BaseException as exc:
                    failures.append(exc)
                    return
            time.sleep(0.01)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    promoting = threading.Thread(target=promoter)
    for thread in [*threads, promoting]:
        thread.start()
    start.wait()
    for thread in threads:
        thread.join(timeout=600)
    done.set()
    promoting.join(timeout=60)

    assert failures == []
    assert len(acknowledged) == THREADS * PER_THREAD
    assert sorted(v for _, v in acknowledged) == list(range(1, THREADS * PER_THREAD + 1))
    records = reg.versions("churn")
    assert [r.version for r in records] == list(range(1, THREADS * PER_THREAD + 1))
    # Every acknowledged version holds the bytes its thread registered.
    by_version = {r.version: r for r in records}
    for name, version in acknowledged:
        data = (repo / f"{name}.bin").read_bytes()
        assert reg.artifact_path(by_version[version]).read_bytes() == data
    assert promoted, "the promoter ran alongside the writers"
    assert [r.version for r in records if r.stage == "Production"] == [promoted[-1]]
    events = checked_events(reg.root)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert len(ledger_rows(reg.root)) == THREADS * PER_THREAD
    assert assert_objects_sound(reg.root) == []
    out = run_proc("verify", "--registry", str(reg.root), cwd=repo)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_sweep_keeps_this_process_s_temp_files(tmp_path: Path) -> None:
    """Another thread of this process may be writing it: only a dead process's file goes."""
    live = temp_name(tmp_path / "object")
    live.write_bytes(b"half written by another thread")
    assert live.name.startswith(f"{TMP_PREFIX}{os.getpid()}-")
    assert remove_orphans(tmp_path) == []
    assert live.exists()


def test_the_sweep_removes_a_dead_process_s_temp_files_only(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from minireg.storage.atomic import temp_name\n"
        "p = temp_name(Path(sys.argv[1]) / 'object'); p.write_bytes(b'x'); print(p.name)\n"
        "sys.stdout.flush(); sys.stdin.read()\n"
    )
    alive = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert alive.stdout is not None
        live_name = alive.stdout.readline().strip()
        dead = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            input="",
            capture_output=True,
            text=True,
            check=True,
        )
        dead_name = dead.stdout.strip()
        assert remove_orphans(tmp_path) == [tmp_path / dead_name]
        assert (tmp_path / live_name).exists()
    finally:
        alive.communicate("", timeout=30)
    assert remove_orphans(tmp_path) == [tmp_path / live_name]


def test_a_temp_file_from_another_machine_or_container_waits_a_day(tmp_path: Path) -> None:
    """Its process id means nothing here, so only its age can tell that it is an orphan."""
    dead_pid = 2**22 + 4321  # above Linux's largest pid: never alive
    young = tmp_path / f"{TMP_PREFIX}{dead_pid}-h0badf00d-t7-abcd1234-object"
    old = tmp_path / f"{TMP_PREFIX}{dead_pid}-h0badf00d-t7-abcd5678-object"
    young.write_bytes(b"a writer in another container")
    old.write_bytes(b"left two days ago")
    past = time.time() - FOREIGN_ORPHAN_AGE - 3600
    os.utime(old, (past, past))
    assert remove_orphans(tmp_path) == [old]
    assert young.exists()


def test_a_dead_process_s_temp_folder_is_removed(tmp_path: Path) -> None:
    """A folder artifact is unpacked into a temp folder under .cache/; a killed reader leaves it."""
    orphan = tmp_path / f"{TMP_PREFIX}{2**22 + 99}-0123abcd-digest"
    (orphan / "sub").mkdir(parents=True)
    (orphan / "sub" / "weights.bin").write_bytes(b"w")
    assert remove_orphans(tmp_path) == [orphan]
    assert not orphan.exists()


def test_two_registries_in_two_threads_never_hold_the_lock_together(
    reg: minireg.Registry,
) -> None:
    inside = 0
    most = 0
    guard = threading.Lock()

    def hold(registry: minireg.Registry) -> None:
        nonlocal inside, most
        for _ in range(30):
            with registry.storage.lock():
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.001)
                with guard:
                    inside -= 1

    threads = [
        threading.Thread(target=hold, args=(r,))
        for r in (reg, reg, minireg.open_registry(reg.root), minireg.open_registry(reg.root))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert most == 1


def test_a_thread_waiting_for_the_lock_times_out_with_registry_busy(
    reg: minireg.Registry,
) -> None:
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with registry_lock(reg.root, 5):
            held.set()
            release.wait(30)

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert held.wait(30)
        started = time.perf_counter()
        with (
            pytest.raises(minireg.RegistryBusy, match=r"not acquired within 0\.3 s"),
            registry_lock(reg.root, 0.3),
        ):
            pass
        assert time.perf_counter() - started >= 0.3
    finally:
        release.set()
        thread.join(timeout=30)
    with registry_lock(reg.root, 1):
        pass
