"""The adapter's listing (with ages), delete and streamed checksum, on S3 (moto) and a folder."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from minireg.adapters.remote import FsspecRemote
from minireg.errors import InvalidInput, NotFound
from tests.support.remotes import Remote


def _put(store: FsspecRemote, tmp_path: Path, data: bytes) -> str:
    src = tmp_path / f"src-{len(data)}"
    src.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    store.upload(digest, src)
    return digest


def test_the_listing_gives_each_file_its_size_and_age(remote: Remote, tmp_path: Path) -> None:
    store = FsspecRemote(remote.url)
    assert store.listing() == []
    start = time.time()
    one = _put(store, tmp_path, b"one object\n")
    two = _put(store, tmp_path, b"another, longer object\n")
    entries = {e.name: e for e in store.listing()}
    assert set(entries) == {f"sha256/{d[:2]}/{d[2:]}" for d in (one, two)}
    for entry in entries.values():
        assert entry.digest in (one, two)
        assert entry.modified is not None
        # The server's clock and ours agree within a few seconds; S3 keeps whole seconds.
        assert start - 5 <= entry.modified <= time.time() + 5
    assert entries[f"sha256/{one[:2]}/{one[2:]}"].size == len(b"one object\n")


def test_a_leftover_upload_on_a_folder_is_listed_without_a_digest(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / "sha256" / "ab").mkdir(parents=True)
    (folder / "sha256" / "ab" / ".tmp-1234-abcdef").write_bytes(b"half an upload")
    (entry,) = FsspecRemote(f"file://{folder}").listing()
    assert (entry.name, entry.size, entry.digest) == ("sha256/ab/.tmp-1234-abcdef", 14, None)


def test_delete_removes_what_it_is_told_and_nothing_else(remote: Remote, tmp_path: Path) -> None:
    store = FsspecRemote(remote.url)
    keep = _put(store, tmp_path, b"kept\n")
    drop = _put(store, tmp_path, b"dropped\n")
    name = f"sha256/{drop[:2]}/{drop[2:]}"
    store.delete([name])
    assert remote.read(drop) is None
    assert remote.read(keep) == b"kept\n"
    store.delete([name])  # already gone: no error
    store.delete([])
    for bad in ("ledger.csv", "sha256/../../etc/passwd", "../sha256/ab/cd"):
        with pytest.raises(InvalidInput):
            store.delete([bad])
    assert remote.read(keep) == b"kept\n"


def test_checksum_streams_the_remote_bytes(remote: Remote, tmp_path: Path) -> None:
    store = FsspecRemote(remote.url)
    data = hashlib.sha256(b"seed").digest() * ((9 << 20) // 32 + 3)  # more than one part
    digest = _put(store, tmp_path, data)
    seen: list[tuple[int, int]] = []
    assert store.checksum(digest, lambda done, total: seen.append((done, total))) == (
        digest,
        len(data),
    )
    assert seen[-1] == (len(data), len(data)) and len(seen) >= 2
    remote.write(digest, b"x" * len(data))  # same size, other bytes
    found, size = store.checksum(digest)
    assert (found == digest, size) == (False, len(data))
    with pytest.raises(NotFound, match="is not on the remote"):
        store.checksum("cd" * 32)
