"""The registry lock holds even when its lock file is deleted, and refuses odd timeouts."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import minireg
from minireg.storage.lock import (
    LOCK_NAME,
    _LockFileReplaced,
    _portable_file_lock,
    _same_file,
    registry_lock,
)
from tests.conftest import git, run_proc, tree_digest
from tests.support.registry import checked_events, lock_held_elsewhere

# A real `register` that stops inside the lock, after it chose its version number and
# before it appends its event, until the go file appears.
PAUSED_REGISTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import minireg
    from minireg.storage.files import FileStorage

    root, artifact, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    real_append = FileStorage.append_events

    def paused(self, events):
        print("inside", flush=True)
        while not go.exists():
            time.sleep(0.01)
        return real_append(self, events)

    FileStorage.append_events = paused
    reg = minireg.open_registry(root)
    rec = reg.register("churn", artifact, requirements=b"x==1\\n", actor="first")
    print(rec.version, flush=True)
    """
)


def _register(reg: minireg.Registry, repo: Path, name: str, timeout: str) -> subprocess.Popen[str]:
    art = repo / f"{name}.bin"
    art.write_bytes(f"{name}'s model\n".encode())
    return subprocess.Popen(
        [sys.executable, "-m", "minireg", "register", "churn", str(art), "-r", str(reg.root)],
        cwd=repo,
        env={**os.environ, "MINIREG_LOCK_TIMEOUT": timeout, "MINIREG_ACTOR": name},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_deleted_lock_file_does_not_let_a_second_writer_in(
    reg: minireg.Registry, artifact: Path, repo: Path, tmp_path: Path
) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    with lock_held_elsewhere(reg.root):
        (reg.root / LOCK_NAME).unlink()  # what `git clean -fdX` does to the ignored lock file
        before = tree_digest(reg.root)
        proc = _register(reg, repo, "second", "0.5")
        out, errs = proc.communicate(timeout=120)
    assert (proc.returncode, out) == (5, ""), errs
    assert "is busy" in errs
    after = tree_digest(reg.root)
    assert {k: after[k] for k in before} == before  # only its object may have been stored
    assert [r.version for r in reg.versions("churn")] == [1]


def test_two_registers_around_a_git_clean_get_two_versions(
    reg: minireg.Registry, artifact: Path, repo: Path, tmp_path: Path
) -> None:
    """The first register is inside the lock when `git clean -fdX` removes the lock file."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "registry")
    for n in range(20):
        art = repo / "m.bin"
        art.write_bytes(f"model {n}\n".encode())
        reg.register("churn", art, requirements=b"x==1\n", actor="me")
    assert (reg.root / LOCK_NAME).exists()
    script = tmp_path / "paused.py"
    script.write_text(PAUSED_REGISTER)
    go = tmp_path / "go"
    first_art = repo / "first.bin"
    first_art.write_bytes(b"first's model\n")
    first = subprocess.Popen(
        [sys.executable, str(script), str(reg.root), str(first_art), str(go)],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout is not None
        assert first.stdout.readline() == "inside\n"
        git(repo, "clean", "-fdXq", "--", "registry")
        assert not (reg.root / LOCK_NAME).exists()
        second = _register(reg, repo, "second", "60")
        # Give the second writer time to get in, which it must not.
        deadline = time.monotonic() + 2
        while second.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        got_in = second.poll() is not None
    finally:
        go.write_text("go")
    first_out, first_err = first.communicate(timeout=120)
    second_out, second_err = second.communicate(timeout=120)
    assert not got_in, "the second register went through while the first held the lock"
    assert first.returncode == 0, first_err
    assert second.returncode == 0, second_err
    assert first_out.split()[-1] == "21"
    assert second_out == "22\n"
    records = reg.versions("churn")
    assert [r.version for r in records] == list(range(1, 23))
    assert [r.registered_by for r in records[-2:]] == ["first", "second"]
    assert [e.version for e in checked_events(reg.root)] == list(range(1, 23))
    out = run_proc("verify", "--registry", str(reg.root), cwd=repo)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_lock_file_check_sees_a_replaced_file(tmp_path: Path) -> None:
    """After acquiring, the path must name the file that was locked, or the lock is retried."""
    path = tmp_path / LOCK_NAME
    path.write_bytes(b"")
    check = _same_file(path)
    fd = os.open(path, os.O_RDWR)
    try:
        check(fd)  # the same file: fine
        path.unlink()
        with pytest.raises(_LockFileReplaced):
            check(fd)
        path.write_bytes(b"")  # a new file under the old name
        with pytest.raises(_LockFileReplaced):
            check(fd)
    finally:
        os.close(fd)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "NaN"])
def test_an_odd_lock_timeout_exits_2_and_writes_nothing(
    reg: minireg.Registry, artifact: Path, repo: Path, value: str
) -> None:
    before = tree_digest(reg.root)
    out = run_proc(
        "register",
        "churn",
        str(artifact),
        "--registry",
        str(reg.root),
        cwd=repo,
        env={"MINIREG_LOCK_TIMEOUT": value},
    )
    assert (out.returncode, out.stdout) == (2, ""), out.stderr
    assert out.stderr == (
        f"error: MINIREG_LOCK_TIMEOUT={value!r} must be a finite number of seconds, 0 or more.\n"
    )
    assert tree_digest(reg.root) == before


def test_an_odd_configured_lock_timeout_exits_2(reg: minireg.Registry, repo: Path) -> None:
    toml = reg.root / "minireg.toml"
    toml.write_text(toml.read_text().replace("lock_timeout = 30", "lock_timeout = nan"))
    before = tree_digest(reg.root)
    out = run_proc("verify", "--registry", str(reg.root), cwd=repo)
    assert out.returncode == 2, out.stderr
    assert "lock_timeout" in out.stderr
    assert tree_digest(reg.root) == before


FORKS_INSIDE = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from minireg.storage.lock import registry_lock

    with registry_lock(Path(sys.argv[1]), 5):
        child = os.fork()
        if child == 0:  # a long-lived child (a worker pool, say) forked inside the lock
            time.sleep(30)
            os._exit(0)
    print(child, flush=True)
    sys.stdin.read()
    os.kill(child, 9)
    os.waitpid(child, 0)
    """
)


def test_a_child_forked_inside_the_lock_does_not_keep_it(
    reg: minireg.Registry, tmp_path: Path
) -> None:
    script = tmp_path / "forks.py"
    script.write_text(FORKS_INSIDE)
    parent = subprocess.Popen(
        [sys.executable, str(script), str(reg.root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip().isdigit()  # the parent let go; the child lives
        with registry_lock(reg.root, 2):
            pass
    finally:
        parent.communicate("", timeout=60)


# A process that holds a lock until its stdin closes: through filelock, or through minireg.
_FILELOCK_HOLDER = """
import sys
from filelock import FileLock

with FileLock(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""


def _holding(code: str, arg: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(arg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "locked\n"
    return holder


def test_a_filelock_holder_keeps_minireg_out_and_the_other_way_round(tmp_path: Path) -> None:
    """minireg's flock on the lock file is the one filelock takes: both kinds exclude each other."""
    holder = _holding(_FILELOCK_HOLDER, tmp_path / LOCK_NAME)
    try:
        with pytest.raises(minireg.RegistryBusy), registry_lock(tmp_path, 0.2):
            pass
    finally:
        holder.communicate("", timeout=30)
    with registry_lock(tmp_path, 5):  # free again once the filelock holder lets go
        pass

    from filelock import FileLock, Timeout

    with lock_held_elsewhere(tmp_path), pytest.raises(Timeout):
        FileLock(str(tmp_path / LOCK_NAME), timeout=0.2).acquire()
    with FileLock(str(tmp_path / LOCK_NAME), timeout=5):
        pass


def test_the_filelock_fallback_excludes_minireg_and_lets_go(tmp_path: Path) -> None:
    """Where flock is refused minireg locks through filelock: that hold excludes the other."""
    deadline = time.monotonic() + 5
    busy = minireg.RegistryBusy("busy")
    with _portable_file_lock(tmp_path / LOCK_NAME, deadline, busy):
        code = (
            "import sys; from pathlib import Path; import minireg\n"
            "from minireg.storage.lock import registry_lock\n"
            "try:\n"
            "    with registry_lock(Path(sys.argv[1]), 0.2): print('got it')\n"
            "except minireg.RegistryBusy: print('busy')\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
        )
        assert out.stdout == "busy\n"
    with registry_lock(tmp_path, 5):
        pass


def test_a_symlinked_lock_file_is_refused_before_anything_is_locked(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"")
    (tmp_path / LOCK_NAME).symlink_to(elsewhere)
    with pytest.raises(minireg.Unsafe, match="is a symlink"), registry_lock(tmp_path, 1):
        pass
    assert elsewhere.read_bytes() == b""
