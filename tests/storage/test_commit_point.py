"""The commit point: an acknowledged change is never lost, and every failure says which side of
the durable append to events.jsonl it happened on (exit 9 for the local disk, never exit 1).

Disks that fail for real: a file-size limit (EFBIG, as a full disk does mid-write), a small
tmpfs filled to the last page (ENOSPC), and a tmpfs remounted read-only (EROFS).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import minireg
from tests.conftest import run_proc, tree_digest
from tests.support.registry import checked_events


def _ok(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    res = run_proc(*args, cwd=cwd)
    assert res.returncode == 0, res.stderr
    return res


def _setup(root: Path, tmp: Path, versions: int = 2) -> None:
    """A registry at ``root`` with ``versions`` versions of churn, version 1 in Staging."""
    minireg.init_registry(root)
    for n in range(versions):
        art = tmp / f"m{n}.bin"
        art.write_bytes(f"model {n}\n".encode())
        _ok("register", "churn", str(art), "--requirements", str(art), "-r", str(root))
    _ok("promote", "churn", "1", "--to", "Staging", "-r", str(root))


# -- the end of the trail ------------------------------------------------------


def test_a_trimmed_final_newline_keeps_the_last_event(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    _setup(root, tmp_path)
    events = root / "events.jsonl"
    data = events.read_bytes()
    events.write_bytes(data[:-1])  # what `truncate -s -1` or an editor trimming newlines does

    # The promotion (the last event) still counts: verify passes and says what it saw.
    res = _ok("verify", "-r", str(root))
    assert "lacks its final newline" in res.stderr
    shown = json.loads(_ok("show", "churn", "1", "--json", "-r", str(root)).stdout)
    assert shown["stage"] == "Staging"

    # The next write adds the newline; it never cuts the event off.
    _ok("promote", "churn", "2", "--to", "Staging", "-r", str(root))
    after = events.read_bytes()
    assert after.startswith(data)
    actions = [(e.action, e.version) for e in checked_events(root)]
    assert actions[-2:] == [("transition", 1), ("transition", 2)]
    res = _ok("verify", "-r", str(root))
    assert "note:" not in res.stderr


def test_a_torn_last_line_is_named_and_cut_by_the_next_write(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    _setup(root, tmp_path)
    events = root / "events.jsonl"
    data = events.read_bytes()
    last = data[:-1].rsplit(b"\n", 1)[1]
    events.write_bytes(data + last[: len(last) // 2])  # a writer killed mid-append

    res = _ok("verify", "-r", str(root))
    assert "unfinished line" in res.stderr and "never acknowledged" in res.stderr
    _ok("promote", "churn", "2", "--to", "Staging", "-r", str(root))
    assert events.read_bytes().startswith(data)
    assert len(checked_events(root)) == data.count(b"\n") + 1


# -- refusing to build on a trail that does not check out -----------------------


def test_writes_refuse_a_trail_forked_by_a_union_merge(repo: Path, tmp_path: Path) -> None:
    """git's merge=union keeps both branches' lines: a forked chain, version 2 twice."""
    root = repo / "registry"
    _setup(root, tmp_path, versions=1)
    (root / ".gitattributes").write_text("events.jsonl merge=union\nledger.csv merge=union\n")
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "registry"], cwd=repo, check=True)
    for branch in ("a", "b"):
        subprocess.run(["git", "checkout", "-qb", branch, "main"], cwd=repo, check=True)
        art = tmp_path / f"{branch}.bin"
        art.write_bytes(f"model of {branch}\n".encode())
        _ok("register", "churn", str(art), "--requirements", str(art), "-r", str(root))
        subprocess.run(["git", "commit", "-qam", branch], cwd=repo, check=True)
    subprocess.run(["git", "merge", "-q", "-m", "union", "a"], cwd=repo, check=True)
    before = tree_digest(root)

    for args in (
        ("register", "churn", str(tmp_path / "a.bin"), "--requirements", str(tmp_path / "a.bin")),
        ("promote", "churn", "1", "--to", "Production"),
        ("alias", "set", "churn", "champion", "1"),
        ("rebuild",),
    ):
        res = run_proc(*args, "-r", str(root))
        assert res.returncode == 6, (args, res.stderr)
        assert "does not check out, so nothing was written" in res.stderr
        assert "restore events.jsonl from git" in res.stderr
    assert tree_digest(root) == before
    assert run_proc("verify", "-r", str(root)).returncode == 6


# -- a failing disk --------------------------------------------------------------


def _limited(limit: int) -> None:
    """In the child: files may not grow past ``limit`` bytes (EFBIG instead of SIGXFSZ)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_an_append_cut_short_is_taken_back_and_exits_9(tmp_path: Path) -> None:
    """The write stops partway through the new line: the file is cut back, nothing recorded."""
    root = tmp_path / "registry"
    _setup(root, tmp_path)
    before = tree_digest(root)
    size = (root / "events.jsonl").stat().st_size
    res = subprocess.run(
        [sys.executable, "-m", "minireg", "promote", "churn", "2", "--to", "Staging"],
        cwd=tmp_path,
        env={**os.environ, "MINIREG_REGISTRY": str(root)},
        capture_output=True,
        text=True,
        preexec_fn=lambda: _limited(size + 100),
        check=False,
    )
    assert res.returncode == 9, res.stderr
    assert res.stderr.startswith("error: Could not append to ")
    assert "events.jsonl: File too large (EFBIG); nothing was recorded." in res.stderr
    assert tree_digest(root) == before
    _ok("verify", "-r", str(root))


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        pytest.skip(f"mounting a tmpfs needs root: {res.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 400 KiB tmpfs, unmounted afterwards."""
    disk = tmp_path / "disk"
    _mount_tmpfs(disk, "400k")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    """Fill ``disk`` to its last page; return the filler file (remove it to free the disk)."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 16, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    fh.write(b"\0" * size)
    return filler


def test_a_full_disk_before_the_commit_point_records_nothing(
    small_disk: Path, tmp_path: Path
) -> None:
    root = small_disk / "registry"
    _setup(root, tmp_path)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(1 << 20))  # larger than the whole disk
    before = {k: v for k, v in tree_digest(root).items() if not k.startswith("objects/")}

    res = run_proc("register", "churn", str(big), "--requirements", str(big), "-r", str(root))
    assert res.returncode == 9, res.stderr
    assert "No space left on device (ENOSPC); nothing was recorded." in res.stderr
    after = {k: v for k, v in tree_digest(root).items() if not k.startswith("objects/")}
    assert after == before
    assert not list((root / "objects").glob(".tmp-*"))


def test_a_full_disk_after_the_commit_point_succeeds_with_a_warning(
    small_disk: Path, tmp_path: Path
) -> None:
    root = small_disk / "registry"
    _setup(root, tmp_path)
    events = root / "events.jsonl"
    # Room for one more event in the trail's last page, so only the ledger's rewrite
    # (which needs new pages) meets the full disk.
    n = 0
    while not 1 <= events.stat().st_size % 4096 <= 3000:
        _ok("describe", "churn", "2", "x" * (50 + n), "-r", str(root))
        n += 1
    filler = _fill(small_disk)
    ledger = (root / "ledger.csv").read_bytes()

    res = run_proc("promote", "churn", "2", "--to", "Production", "-r", str(root))
    assert res.returncode == 0, res.stderr
    assert "warning: The change WAS recorded in the audit trail" in res.stderr
    assert "minireg rebuild" in res.stderr
    assert (root / "ledger.csv").read_bytes() == ledger  # the view lags, whole
    shown = json.loads(_ok("show", "churn", "2", "--json", "-r", str(root)).stdout)
    assert shown["stage"] == "Production"  # reads fold the events: the change stands
    assert run_proc("verify", "-r", str(root)).returncode == 6

    filler.unlink()
    _ok("rebuild", "-r", str(root))
    _ok("verify", "-r", str(root))


def test_a_read_only_checkout_reads_and_refuses_writes_with_exit_9(
    small_disk: Path, tmp_path: Path
) -> None:
    root = small_disk / "registry"
    _setup(root, tmp_path)
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)

    res = _ok("verify", "-r", str(root))
    assert "read without the registry lock" in res.stderr
    assert "churn" in _ok("list", "-r", str(root)).stdout
    assert _ok("path", "models:/churn/Staging", "-r", str(root)).stdout.strip()
    _ok("show", "churn", "1", "-r", str(root))
    _ok("history", "churn", "-r", str(root))

    for args in (
        ("promote", "churn", "2", "--to", "Staging"),
        ("register", "churn", str(tmp_path / "m0.bin"), "--requirements", str(tmp_path / "m0.bin")),
        ("alias", "set", "churn", "champion", "1"),
        ("rebuild",),
    ):
        res = run_proc(*args, "-r", str(root))
        assert res.returncode == 9, (args, res.stderr)
        assert "Read-only file system (EROFS); nothing was recorded." in res.stderr, res.stderr
