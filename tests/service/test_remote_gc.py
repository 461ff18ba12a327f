"""``minireg gc --remote``: what any branch needs stays, young objects stay, --yes deletes.

Every test with the ``remote`` fixture runs against the S3 server (moto) and a shared
folder. Ages come from the remote's own clock (S3's LastModified, a file's mtime);
"old" is reached by moving the registry's clock forward (``reg.clock``) or by
``--grace 0``, never by sleeping.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import minireg
from tests.conftest import git, run_proc
from tests.support.artifacts import key, pickled, two_versions
from tests.support.clones import fresh_clone, publish, remote_registry
from tests.support.remotes import Remote, make_remote

ORPHAN = b"bytes no version needs\n"


def orphan(remote: Remote) -> str:
    """An object on the remote that no event names (uploaded by hand, or by a lost branch)."""
    digest = hashlib.sha256(ORPHAN).hexdigest()
    remote.write(digest, ORPHAN)
    return digest


def later(days: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(days=days)


def test_an_object_only_a_remote_tracking_branch_needs_is_kept(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    main = reg.register("churn", pickled(tmp_path / "a" / "m.pkl", {"n": 1}), requirements=b"")
    publish(repo)
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")

    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    git(work, "checkout", "-q", "-b", "experiment")
    side = minireg.open_registry(work / "registry").register(
        "exp", pickled(tmp_path / "b" / "m.pkl", {"n": 2}), requirements=b"numpy==2\n"
    )
    publish(work)
    git(work, "push", "-q", "origin", "experiment")
    git(work, "checkout", "-q", "main")
    git(work, "branch", "-q", "-D", "experiment")  # only origin/experiment has it now
    lost = orphan(remote)

    here = minireg.open_registry(work / "registry")
    here.clock = lambda: later(30)  # everything on the remote is a month old
    found = here.gc_remote(delete=True)
    assert [e.digest for e in found.unreferenced] == [lost]
    assert found.deleted == [f"sha256/{lost[:2]}/{lost[2:]}"]
    assert remote.read(lost) is None
    for digest in (side.artifact_sha256, side.requirements_sha256, main.artifact_sha256):
        assert remote.read(digest) is not None
    assert found.commits >= 3 and found.in_git

    # The remote-tracking branch is what kept them: without it they are unreferenced.
    git(work, "branch", "-q", "-r", "-d", "origin/experiment")
    dry = here.gc_remote()
    assert sorted(e.digest or "" for e in dry.unreferenced) == sorted(
        [side.artifact_sha256, side.requirements_sha256]
    )
    assert dry.deleted == [] and remote.read(side.artifact_sha256) is not None


def test_young_objects_stay_and_old_ones_go_only_with_yes(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    kept = reg.register("churn", pickled(tmp_path / "a" / "m.pkl", {"n": 1}), requirements=b"")
    publish(repo)
    # Recorded but not committed: the working tree's trail counts too.
    local = reg.register("churn", pickled(tmp_path / "b" / "m.pkl", {"n": 2}), requirements=b"")
    lost = orphan(remote)
    registry = str(reg.root)

    out = run_proc("gc", "--remote", "-r", registry)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert "Kept 1 unreferenced younger than 604800 s" in out.stderr
    assert remote.read(lost) is not None

    dry = run_proc("gc", "--remote", "--grace", "0", "-r", registry)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout == f"{key(remote.url, lost)}\t{len(ORPHAN)}\n"
    assert "Would delete 1 unreferenced object and 0 upload leftovers" in dry.stderr
    assert "run it again with --yes" in dry.stderr
    assert remote.read(lost) is not None

    refused = run_proc("gc", "--remote", "--grace", "0", "--yes", "--dry-run", "-r", registry)
    assert refused.returncode == 2
    assert "--yes deletes and --dry-run only lists; give one of them." in refused.stderr
    assert remote.read(lost) is not None

    done = run_proc("gc", "--remote", "--grace", "0", "--yes", "--json", "-r", registry)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["deleted"] == [f"sha256/{lost[:2]}/{lost[2:]}"] and not result["dry_run"]
    assert remote.read(lost) is None
    for rec in (kept, local):
        assert remote.read(rec.artifact_sha256) is not None
    assert run_proc("verify", "--remote", "--deep", "-r", registry).returncode == 0


def test_a_fresh_clone_keeps_every_file_of_a_folder_artifact(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    _, net = two_versions(reg, tmp_path / "work")
    publish(repo)
    lost = orphan(remote)
    clone = fresh_clone(repo, tmp_path)  # no manifest cached: gc fetches it to learn the files
    out = run_proc("gc", "--remote", "--grace", "0", "--yes", "--json", "-r", str(clone))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["deleted"] == [f"sha256/{lost[:2]}/{lost[2:]}"]
    assert json.loads(out.stdout)["referenced"] == 6
    for entry in reg.manifest(net):
        assert remote.read(str(entry["sha256"])) is not None
    assert run_proc("verify", "--remote", "--deep", "-r", str(clone)).returncode == 0


def test_stale_upload_leftovers_on_a_shared_folder_go_and_fresh_ones_stay(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote = make_remote("file", tmp_path, monkeypatch, None)
    reg = remote_registry(repo, remote)
    reg.register("churn", pickled(tmp_path / "a" / "m.pkl", {"n": 1}), requirements=b"")
    publish(repo)
    assert remote.folder is not None
    shard = remote.folder / "sha256" / "ab"
    shard.mkdir(parents=True, exist_ok=True)
    stale, fresh, foreign = shard / ".tmp-dead-0123", shard / ".tmp-live-4567", shard / "notes"
    for path in (stale, fresh, foreign):
        path.write_bytes(b"half an upload")
    two_hours_ago = time.time() - 7200
    for path in (stale, foreign):
        os.utime(path, (two_hours_ago, two_hours_ago))
    out = run_proc("gc", "--remote", "--grace", "3600", "--yes", "-r", str(reg.root))
    assert out.returncode == 0, out.stderr
    assert "Deleted 0 unreferenced objects and 1 upload leftover (0.0 MiB)" in out.stderr
    assert not stale.exists()
    assert fresh.exists() and foreign.exists()  # too young, and not a name minireg writes


def test_a_shallow_clone_is_refused_and_nothing_is_deleted(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    reg.register("churn", pickled(tmp_path / "a" / "m.pkl", {"n": 1}), requirements=b"")
    publish(repo)
    lost = orphan(remote)
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{repo}", str(shallow))
    out = run_proc("gc", "--remote", "--grace", "0", "--yes", "-r", str(shallow / "registry"))
    assert out.returncode == 8, out.stderr
    assert "This clone is shallow" in out.stderr and "Nothing was deleted." in out.stderr
    assert remote.read(lost) is not None


def test_gc_remote_needs_a_remote(reg: minireg.Registry) -> None:
    out = run_proc("gc", "--remote", "-r", str(reg.root))
    assert out.returncode == 2
    assert "No remote is set for objects" in out.stderr
