"""Writers and a remote for objects, for real: killed writers, a killed server, writers at once.

Real ``minireg register`` processes, a real S3 API server (moto) that the test
may kill, and a real shared folder. An upload is part of the write, before the
commit point: whatever dies mid-upload, no version is recorded and no partial
object appears under a real name.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import minireg
from minireg.adapters.remote import FsspecRemote
from tests.conftest import ROOT, git
from tests.support.clones import fresh_clone, publish, remote_registry
from tests.support.registry import checked_events
from tests.support.remotes import MotoServer, Remote, free_port, make_remote

pytestmark = pytest.mark.slow


def blob(path: Path, size: int, seed: str) -> str:
    """Write ``size`` incompressible bytes; their sha256."""
    block = hashlib.sha256(seed.encode()).digest() * (1 << 15)
    digest = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            chunk = block[: min(left, len(block))]
            fh.write(chunk)
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def register(registry: Path, model: str, artifact: Path) -> subprocess.Popen[str]:
    """``minireg register`` as its own process, started now."""
    return subprocess.Popen(
        [sys.executable, "-m", "minireg", "register", model, str(artifact), "--requirements",
         str(artifact.with_suffix(".txt")), "--json", "-r", str(registry)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "MINIREG_ACTOR": "ci@example.com"},
    )  # fmt: skip


def artifact_at(path: Path, size: int, seed: str) -> str:
    """An artifact of ``size`` bytes at ``path``, its requirements beside it; its sha256."""
    digest = blob(path, size, seed)
    path.with_suffix(".txt").write_text("numpy==2.0\n")
    return digest


def wait_until(check: object, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    """Poll ``check()`` until true; fail if ``proc`` ends first (the moment was missed)."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc.poll() is not None:
            raise AssertionError(f"the writer ended before the upload was seen: {proc.stderr}")
        time.sleep(0.002)
    raise AssertionError("the upload never started")


def all_finish(procs: list[subprocess.Popen[str]]) -> list[tuple[str, str]]:
    """Wait for every writer; each one's stdout and stderr, all asserted to exit 0."""
    results = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * len(procs), [err for _, err in results]
    return results


def uploading(remote: Remote, digest: str) -> object:
    """A check: true while an upload of ``digest`` is in flight (not yet under its name)."""
    if remote.kind == "s3":
        assert remote.server is not None
        client = remote.server.client()

        def multipart() -> bool:
            found = client.list_multipart_uploads(Bucket=remote.bucket).get("Uploads", [])
            return any(item["Key"] == remote.key(digest) for item in found)

        return multipart
    assert remote.folder is not None
    shard = remote.folder / "sha256" / digest[:2]

    def temp_file() -> bool:
        try:
            return any(
                name.startswith(".tmp-") and (shard / name).stat().st_size > 0
                for name in os.listdir(shard)
            )
        except FileNotFoundError:
            return False

    return temp_file


def mid_upload(
    registry: Path, remote: Remote, artifact: Path, digest: str
) -> subprocess.Popen[str]:
    """A ``minireg register`` of ``artifact`` as model big, once its upload is under way."""
    proc = register(registry, "big", artifact)
    wait_until(uploading(remote, digest), proc)
    return proc


def test_a_writer_killed_mid_upload_records_nothing_and_leaves_no_object(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    registry = remote_registry(repo, remote).root
    artifact = tmp_path / "work" / "big.bin"
    digest = artifact_at(artifact, 96 << 20, "killed writer")
    proc = mid_upload(registry, remote, artifact, digest)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert checked_events(registry) == []
    assert remote.read(digest) is None
    assert digest not in FsspecRemote(remote.url).inventory()
    # The retry finishes the job; the object is whole.
    reg = minireg.open_registry(registry)
    v = reg.register("big", artifact, requirements=b"")
    assert v.version == 1
    assert hashlib.sha256(remote.read(digest) or b"").hexdigest() == digest
    assert reg.verify().ok


def test_a_server_killed_mid_upload_records_nothing(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = MotoServer(tmp_path, free_port())
    server.start()
    try:
        remote = make_remote("s3", tmp_path, monkeypatch, server)
        registry = remote_registry(repo, remote).root
        artifact = tmp_path / "work" / "big.bin"
        digest = artifact_at(artifact, 96 << 20, "killed server")
        proc = mid_upload(registry, remote, artifact, digest)
        server.stop(signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 7, err
        assert remote.url in err and "nothing was recorded" in err
        assert checked_events(registry) == []
        # The server comes back (empty: it kept its buckets in memory); re-running resumes.
        server.start()
        server.client().create_bucket(Bucket=remote.bucket)
        assert remote.read(digest) is None
        rerun = register(registry, "big", artifact)
        out, err = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, err
        assert json.loads(out)["version"] == 1
        assert hashlib.sha256(remote.read(digest) or b"").hexdigest() == digest
    finally:
        server.stop()


def test_two_writers_upload_the_same_bytes_at_once(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    registry = remote_registry(repo, remote).root
    artifact = tmp_path / "work" / "same.bin"
    digest = artifact_at(artifact, 24 << 20, "same bytes")
    results = all_finish([register(registry, model, artifact) for model in ("left", "right")])
    assert {json.loads(out)["artifact_sha256"] for out, _ in results} == {digest}
    assert hashlib.sha256(remote.read(digest) or b"").hexdigest() == digest
    assert not [name for name in remote.names() if ".tmp-" in name]
    assert minireg.open_registry(registry).verify().ok


def test_four_writers_at_once_then_a_fresh_clone_fetches_every_version(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    registry = remote_registry(repo, remote).root
    artifacts = []
    for n in range(4):
        path = tmp_path / f"work{n}" / "weights.bin"
        artifact_at(path, (3 << 20) + n, f"writer {n}")
        artifacts.append(path)
    results = all_finish([register(registry, "shared", path) for path in artifacts])
    acknowledged = {json.loads(out)["version"]: json.loads(out) for out, _ in results}
    assert sorted(acknowledged) == [1, 2, 3, 4]
    publish(repo)
    assert "objects" not in git(repo, "ls-files", "registry")

    clone = fresh_clone(repo, tmp_path)
    for number, record in acknowledged.items():
        path = minireg.load_model(f"models:/shared/{number}", clone)
        assert isinstance(path, Path)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == record["artifact_sha256"]
    assert minireg.open_registry(clone).verify().ok
