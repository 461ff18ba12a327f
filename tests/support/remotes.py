"""Remotes for objects, for real: an S3 API server (moto) on 127.0.0.1, and a shared folder.

The S3 server is moto's server mode, a real subprocess on a free loopback
port; the real s3fs/botocore client reaches it through ``AWS_ENDPOINT_URL``
with fake credentials, exactly as a user points minireg at MinIO or Ceph.
Import the fixtures into a test module to use them::

    from tests.support.remotes import moto_server, remote  # noqa: F401
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing-key-id",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-do-not-print",
    "AWS_DEFAULT_REGION": "us-east-1",
    # An unreachable server is reported after two tries, not after botocore's five.
    "AWS_MAX_ATTEMPTS": "2",
    "AWS_RETRY_MODE": "standard",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MotoServer:
    """``python -m moto.server`` on 127.0.0.1:``port``, in its own process group."""

    folder: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        with open(self.folder / f"moto-{self.port}.log", "ab") as log:  # the child keeps it
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer: {self.log()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGKILL: as a crash would); its in-memory buckets are gone."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self.proc = None

    def log(self) -> str:
        path = self.folder / f"moto-{self.port}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self) -> Any:
        """A boto3 S3 client for this server (for the test's own checks)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        )

    def bucket(self) -> str:
        """A new, empty bucket."""
        name = f"minireg-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One S3 API server for the session; each test takes its own bucket."""
    server = MotoServer(tmp_path_factory.mktemp("moto"), free_port())
    server.start()
    yield server
    server.stop()


def s3_environment(monkeypatch: pytest.MonkeyPatch, server: MotoServer) -> None:
    """Point botocore (in this process and its children) at ``server`` with fake credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(key, raising=False)


@dataclass
class Remote:
    """A remote for one test: its URL, and direct access to its objects (not via minireg)."""

    kind: str
    url: str
    folder: Path | None = None
    server: MotoServer | None = None
    bucket: str = ""

    def key(self, digest: str) -> str:
        prefix = self.url.split("://", 1)[1].split("/", 1)[1]
        return f"{prefix}/sha256/{digest[:2]}/{digest[2:]}"

    def read(self, digest: str) -> bytes | None:
        """The bytes stored under object ``digest``, None when absent."""
        if self.folder is not None:
            path = self.folder / "sha256" / digest[:2] / digest[2:]
            return path.read_bytes() if path.is_file() else None
        assert self.server is not None
        try:
            got = self.server.client().get_object(Bucket=self.bucket, Key=self.key(digest))
        except Exception as exc:
            if "NoSuchKey" in str(exc) or "Not Found" in str(exc):
                return None
            raise
        data: bytes = got["Body"].read()
        return data

    def write(self, digest: str, data: bytes) -> None:
        """Put ``data`` under object ``digest``'s key, bypassing minireg (a corruption)."""
        if self.folder is not None:
            path = self.folder / "sha256" / digest[:2] / digest[2:]
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                path.chmod(0o644)
            path.write_bytes(data)
            return
        assert self.server is not None
        self.server.client().put_object(Bucket=self.bucket, Key=self.key(digest), Body=data)

    def delete(self, digest: str) -> None:
        if self.folder is not None:
            (self.folder / "sha256" / digest[:2] / digest[2:]).unlink()
            return
        assert self.server is not None
        self.server.client().delete_object(Bucket=self.bucket, Key=self.key(digest))

    def names(self) -> list[str]:
        """Every name under the prefix, relative to it (temporary names included)."""
        if self.folder is not None:
            return sorted(
                str(p.relative_to(self.folder)) for p in self.folder.rglob("*") if p.is_file()
            )
        assert self.server is not None
        prefix = self.url.split("://", 1)[1].split("/", 1)[1]
        listing = self.server.client().list_objects_v2(Bucket=self.bucket, Prefix=prefix + "/")
        return sorted(item["Key"][len(prefix) + 1 :] for item in listing.get("Contents", []))


def make_remote(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: MotoServer | None
) -> Remote:
    """A fresh remote of ``kind`` ("s3": a new bucket on ``server``; "file": a new folder)."""
    if kind == "file":
        folder = tmp_path / "shared-models"
        folder.mkdir()
        return Remote("file", f"file://{folder}", folder=folder)
    assert server is not None
    s3_environment(monkeypatch, server)
    bucket = server.bucket()
    return Remote("s3", f"s3://{bucket}/models", server=server, bucket=bucket)


@pytest.fixture(params=["s3", "file"])
def remote(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Remote:
    """Each test runs against the S3 server and against a shared folder."""
    server = request.getfixturevalue("moto_server") if request.param == "s3" else None
    return make_remote(request.param, tmp_path, monkeypatch, server)
