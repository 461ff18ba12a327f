"""The fsspec adapter against a real S3 API server (moto) and a real shared folder."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from minireg.adapters.remote import FsspecRemote
from minireg.errors import InvalidInput, NotFound, RemoteError
from tests.support.remotes import CREDENTIALS, Remote, free_port


def _blob(path: Path, size: int, seed: bytes = b"x") -> str:
    block = hashlib.sha256(seed).digest() * (1 << 15)  # 1 MiB of bytes that do not compress
    with open(path, "wb") as fh:
        left = size
        while left > 0:
            fh.write(block[: min(left, len(block))])
            left -= len(block)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_object_goes_up_and_comes_back(remote: Remote, tmp_path: Path) -> None:
    src = tmp_path / "model.bin"
    digest = _blob(src, 3 * (1 << 20) + 17)
    store = FsspecRemote(remote.url)
    assert store.size(digest) is None
    seen: list[tuple[int, int]] = []
    store.upload(digest, src, lambda done, total: seen.append((done, total)))
    assert store.size(digest) == src.stat().st_size
    assert store.inventory() == {digest: src.stat().st_size}
    assert remote.read(digest) == src.read_bytes()
    assert seen and seen[-1] == (src.stat().st_size, src.stat().st_size)
    # Nothing but the final key under the prefix: no temporary name left behind.
    assert remote.names() == [f"sha256/{digest[:2]}/{digest[2:]}"]
    dest = tmp_path / "back.bin"
    store.download(digest, dest)
    assert dest.read_bytes() == src.read_bytes()


def test_a_missing_object_is_not_found_naming_its_key(remote: Remote, tmp_path: Path) -> None:
    digest = "ab" * 32
    with pytest.raises(NotFound) as caught:
        FsspecRemote(remote.url).download(digest, tmp_path / "nothing")
    assert f"{remote.url}/sha256/ab/{'ab' * 31}" in caught.value.message


def test_the_remote_answers_or_says_what_is_missing(remote: Remote, tmp_path: Path) -> None:
    FsspecRemote(remote.url).check()
    if remote.kind == "s3":
        absent = remote.url.replace(remote.bucket, remote.bucket + "-nope")
        words = "bucket"
    else:
        absent = f"file://{tmp_path / 'unmounted'}"
        words = "is the share mounted"
    with pytest.raises(RemoteError, match=words) as caught:
        FsspecRemote(absent).check()
    assert caught.value.exit_code == 7


def test_a_missing_shared_folder_is_never_created_by_an_upload(tmp_path: Path) -> None:
    src = tmp_path / "a.bin"
    digest = _blob(src, 1000)
    target = tmp_path / "unmounted" / "models"
    with pytest.raises(RemoteError, match="does not exist"):
        FsspecRemote(f"file://{target}").upload(digest, src)
    assert not target.exists()


def test_an_unreachable_s3_server_is_a_remote_error_without_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    src = tmp_path / "a.bin"
    digest = _blob(src, 1000)
    with pytest.raises(RemoteError) as caught:
        FsspecRemote("s3://bucket/models").upload(digest, src)
    message = caught.value.message
    assert message.startswith(f"The remote s3://bucket/models/sha256/{digest[:2]}/")
    assert caught.value.url == "s3://bucket/models"
    assert CREDENTIALS["AWS_SECRET_ACCESS_KEY"] not in message
    assert CREDENTIALS["AWS_ACCESS_KEY_ID"] not in message


def test_a_backend_that_is_not_installed_names_the_install_command(tmp_path: Path) -> None:
    for protocol, extra in (("gs", "minireg[gcs]"), ("az", "minireg[azure]")):
        package = "gcsfs" if protocol == "gs" else "adlfs"
        if importlib.util.find_spec(package) is not None:
            continue
        with pytest.raises(InvalidInput) as caught:
            FsspecRemote(f"{protocol}://bucket/models").size("ab" * 32)
        assert f"pip install '{extra}'" in caught.value.message
        assert caught.value.exit_code == 2
    with pytest.raises(InvalidInput, match="not a protocol fsspec knows"):
        FsspecRemote("nosuchproto://bucket/models").size("ab" * 32)


_PEAK = """
import hashlib, json, resource, sys
from pathlib import Path
from minireg.adapters.remote import FsspecRemote

src = Path(sys.argv[2])
digest = sys.argv[3]
store = FsspecRemote(sys.argv[1])
store.size(digest)  # connect first: the client's own memory is not the upload's
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
store.upload(digest, src)
after_up = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
back = Path(sys.argv[4])
store.download(digest, back)
after_down = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"up": (after_up - before) * 1024, "down": (after_down - before) * 1024}))
"""


@pytest.mark.slow
def test_uploads_and_downloads_stream(remote: Remote, tmp_path: Path) -> None:
    """Peak memory of a 96 MiB round trip stays far below the artifact's size."""
    size = 96 << 20
    src = tmp_path / "big.bin"
    digest = _blob(src, size, b"big")
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_PEAK), remote.url, str(src), digest,
         str(tmp_path / "back.bin")],
        capture_output=True, text=True, timeout=300, check=False, env={**os.environ},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    grown = json.loads(out.stdout)
    assert grown["up"] < size // 2, grown
    assert grown["down"] < size // 2, grown
    assert hashlib.sha256((tmp_path / "back.bin").read_bytes()).hexdigest() == digest
