"""Remotes for objects, for real: an S3 API server (moto) on 127.0.0.1, and a shared folder.

The S3 server is moto's server mode, a real subprocess on a free loopback
port; the real s3fs/botocore client reaches it through ``AWS_ENDPOINT_URL``
with fake credentials, exactly as a user points minireg at MinIO or Ceph.
Import the fixtures into a test module to use them::

    from tests.support.remotes import moto_server, remote  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.s3server import CREDENTIALS, MotoServer, free_port

__all__ = [
    "CREDENTIALS",
    "MotoServer",
    "Remote",
    "free_port",
    "make_remote",
    "moto_server",
    "remote",
    "s3_environment",
]


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
