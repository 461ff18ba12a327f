"""``minireg verify --remote`` (and ``--deep``), from fresh clones with nothing cached.

Every test runs against the S3 server (moto) and against a shared folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import minireg
from tests.conftest import run_proc, tree_digest
from tests.support.artifacts import key as where
from tests.support.artifacts import pickled, two_versions
from tests.support.clones import fresh_clone, publish, remote_registry
from tests.support.remotes import Remote


def cached_files(registry: Path) -> list[Path]:
    return [p for p in (registry / "objects").rglob("*") if p.is_file()]


def test_a_fresh_clone_checks_every_object_on_the_remote(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    _, net = two_versions(reg, tmp_path / "work")
    publish(repo)
    clone = fresh_clone(repo, tmp_path)
    assert cached_files(clone) == []
    out = run_proc("verify", "--remote", "-r", str(clone))
    assert out.returncode == 0, out.stderr
    # churn: artifact + requirements; net: two files + manifest + requirements.
    assert f"OK: 6 objects on {remote.url}, with their recorded sizes." in out.stderr
    deep = run_proc("verify", "--remote", "--deep", "--json", "-r", str(clone))
    assert deep.returncode == 0, deep.stderr
    report = json.loads(deep.stdout)
    assert (report["ok"], report["remote"], report["remote_objects"]) == (True, remote.url, 6)
    assert report["remote_deep"] is True
    assert deep.stderr == ""  # a pipe: no progress bars
    # Only the folder's manifest was fetched (to learn its files); no artifact was downloaded.
    assert [p.name for p in cached_files(clone)] == [net.artifact_sha256[2:]]
    assert minireg.open_registry(clone).verify(remote=True).remote_objects == 6


def test_a_missing_and_a_resized_object_are_named_by_version_and_key(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    churn, net = two_versions(reg, tmp_path / "work")
    publish(repo)
    files = {e["path"]: str(e["sha256"]) for e in reg.manifest(net)}
    remote.delete(churn.artifact_sha256)
    remote.write(files["sub/weights.bin"], b"truncated")
    clone = fresh_clone(repo, tmp_path)
    out = run_proc("verify", "--remote", "-r", str(clone))
    assert out.returncode == 6, out.stderr
    missing = where(remote.url, churn.artifact_sha256)
    assert (
        f"  - remote: churn v1: the artifact model.pkl: {missing} is missing from the remote\n"
        in out.stderr
    )
    resized = where(remote.url, files["sub/weights.bin"])
    assert (
        f"  - remote: net v1: the file sub/weights.bin: {resized} has 9 bytes on the remote, "
        "but 25600 are recorded\n" in out.stderr
    )
    assert out.stderr.count("  - ") == 2
    report = minireg.open_registry(clone).verify(remote=True)
    assert not report.ok and len(report.problems) == 2


def test_deep_catches_a_corruption_that_kept_the_size(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    churn, net = two_versions(reg, tmp_path / "work")
    publish(repo)
    size = churn.artifact_bytes
    remote.write(churn.requirements_sha256, b"scikit-learn==6.6\n")  # same length
    remote.write(churn.artifact_sha256, b"\0" * size)
    clone = fresh_clone(repo, tmp_path)
    assert run_proc("verify", "--remote", "-r", str(clone)).returncode == 0
    out = run_proc("verify", "--remote", "--deep", "-r", str(clone))
    assert out.returncode == 6, out.stderr
    bad = where(remote.url, churn.artifact_sha256)
    assert f"churn v1: the artifact model.pkl: {bad} does not match its name" in out.stderr
    reqs = where(remote.url, churn.requirements_sha256)
    assert f"churn v1: the requirements: {reqs} does not match its name" in out.stderr
    # Read as streams: nothing kept but the folder's manifest (fetched to learn its files).
    assert [p.name for p in cached_files(clone)] == [net.artifact_sha256[2:]]


def test_an_object_registered_offline_is_missing_with_the_way_out(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = remote_registry(repo, remote)
    v = reg.register("churn", pickled(tmp_path / "m.pkl", {"n": 1}), requirements=b"", upload=False)
    out = run_proc("verify", "--remote", "-r", str(reg.root))
    assert out.returncode == 6
    assert (
        f"{where(remote.url, v.artifact_sha256)} is missing from the remote (it is in the local "
        "cache: `minireg push` uploads it)" in out.stderr
    )
    assert run_proc("push", "-r", str(reg.root)).returncode == 0
    assert run_proc("verify", "--remote", "--deep", "-r", str(reg.root)).returncode == 0


def test_remote_checks_need_a_remote_and_deep_needs_remote(
    reg: minireg.Registry, artifact: Path
) -> None:
    reg.register("churn", artifact, requirements=b"", actor="me")
    before = tree_digest(reg.root)
    out = run_proc("verify", "--remote", "-r", str(reg.root))
    assert out.returncode == 2
    assert out.stderr == (
        "error: No remote is set for objects (they live in git), so there is nothing to check "
        "with --remote; set one with `minireg remote set s3://bucket/prefix`.\n"
    )
    out = run_proc("verify", "--deep", "-r", str(reg.root))
    assert out.returncode == 2
    assert "--deep re-hashes the remote's objects; add --remote" in out.stderr
    assert tree_digest(reg.root) == before
