"""Registering bytes the store already holds: one hash pass, no copy, and still no blind trust.

A large file is read beside the stored objects of its size; an object equal to it
byte for byte, whose name is the file's digest, is proven intact and nothing is
written. Anything else (other bytes of the same size, a corrupted object, a
difference deep inside the file) falls back to the copy, which stays correct.
``MATCH_FROM`` is lowered so that small files take the large-file path, and
``THREAD_FROM`` set to hash them in this thread or in a second one.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import minireg
from minireg.storage import objects as objects_module
from tests.conftest import run_proc

MIB = 1 << 20


def blob(path: Path, size: int, seed: bytes) -> bytes:
    block = hashlib.sha256(seed).digest() * (MIB // 32)
    data = (block * (size // MIB + 1))[:size]
    path.write_bytes(data)
    return data


def stored(reg: minireg.Registry, data: bytes) -> Path:
    return reg.storage.objects.path(hashlib.sha256(data).hexdigest())


@pytest.fixture(params=["hashed in this thread", "hashed in a second thread"])
def small_threshold(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    monkeypatch.setattr(objects_module, "MATCH_FROM", MIB)
    threaded = request.param == "hashed in a second thread"
    monkeypatch.setattr(objects_module, "THREAD_FROM", MIB if threaded else 1 << 40)


REGISTER_UNDER_LIMIT = textwrap.dedent(
    """
    import resource, signal, sys
    import minireg
    from minireg.storage import objects

    objects.MATCH_FROM = 1 << 20
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too large write fails with EFBIG
    limit = int(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    reg = minireg.open_registry(sys.argv[1])
    rec = reg.register("churn", sys.argv[2], requirements=b"x==1\\n", actor="me")
    print(rec.version)
    """
)


def test_known_bytes_are_registered_without_writing_a_copy(
    reg: minireg.Registry, repo: Path
) -> None:
    art = repo / "model.bin"
    data = blob(art, 4 * MIB, b"model")
    first = reg.register("churn", art, requirements=b"x==1\n", actor="me")
    obj = stored(reg, data)
    before = obj.stat()
    # A process that cannot write any file of 2 MiB still registers the 4 MiB artifact
    # again: it compares the source with the stored object instead of copying it.
    out = subprocess.run(
        [sys.executable, "-c", REGISTER_UNDER_LIMIT, str(reg.root), str(art), str(2 * MIB)],
        capture_output=True,
        text=True,
        check=False,
        cwd=repo,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(first.version + 1)
    after = obj.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_ctime_ns) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_ctime_ns,
    )
    assert obj.read_bytes() == data
    assert run_proc("verify", "--registry", str(reg.root), cwd=repo).returncode == 0


def test_new_bytes_still_need_the_copy_under_the_same_limit(
    reg: minireg.Registry, repo: Path
) -> None:
    # The other half of the proof above: the limit does stop a registration that copies.
    art = repo / "model.bin"
    blob(art, 4 * MIB, b"never stored")
    limit = 2 * MIB
    out = subprocess.run(
        [sys.executable, "-c", REGISTER_UNDER_LIMIT, str(reg.root), str(art), str(limit)],
        capture_output=True,
        text=True,
        check=False,
        cwd=repo,
    )
    assert out.returncode != 0
    assert "File too large" in out.stderr or "EFBIG" in out.stderr, out.stderr


@pytest.mark.usefixtures("small_threshold")
@pytest.mark.parametrize("where", [0, 2 * MIB + 5, 3 * MIB - 1])
def test_same_size_other_bytes_make_their_own_object(
    reg: minireg.Registry, repo: Path, where: int
) -> None:
    art = repo / "model.bin"
    data = blob(art, 3 * MIB, b"model")
    reg.register("churn", art, requirements=b"x==1\n", actor="me")
    # The same size, one byte different: at the start, deep inside (after two whole
    # chunks were compared and must be copied after all), or the very last byte.
    other = bytearray(data)
    other[where] ^= 0xFF
    art.write_bytes(bytes(other))
    rec = reg.register("churn", art, requirements=b"x==1\n", actor="me")
    assert rec.artifact_sha256 == hashlib.sha256(other).hexdigest()
    assert stored(reg, bytes(other)).read_bytes() == bytes(other)
    assert stored(reg, data).read_bytes() == data
    assert reg.verify().ok


@pytest.mark.usefixtures("small_threshold")
def test_a_corrupted_object_of_the_same_size_is_repaired_not_trusted(
    reg: minireg.Registry, repo: Path
) -> None:
    art = repo / "model.bin"
    data = blob(art, 2 * MIB + 17, b"model")
    reg.register("churn", art, requirements=b"x==1\n", actor="me")
    obj = stored(reg, data)
    obj.chmod(0o644)
    rotten = bytearray(data)
    rotten[MIB + 3] ^= 0x01  # bit rot: same size, same name, wrong bytes
    obj.write_bytes(bytes(rotten))
    assert not reg.verify().ok
    reg.register("churn", art, requirements=b"x==1\n", actor="me")
    assert obj.read_bytes() == data
    assert reg.verify().ok


@pytest.mark.usefixtures("small_threshold")
def test_a_symlinked_object_of_the_same_size_is_never_trusted(
    reg: minireg.Registry, repo: Path, tmp_path: Path
) -> None:
    art = repo / "model.bin"
    data = blob(art, 2 * MIB, b"model")
    reg.register("churn", art, requirements=b"x==1\n", actor="me")
    obj = stored(reg, data)
    outside = tmp_path / "outside.bin"
    outside.write_bytes(data)
    obj.unlink()
    obj.symlink_to(outside)
    with pytest.raises(minireg.Unsafe):
        reg.register("churn", art, requirements=b"x==1\n", actor="me")


@pytest.mark.usefixtures("small_threshold")
def test_a_folder_of_large_files_registered_again_stores_nothing_new(
    reg: minireg.Registry, repo: Path
) -> None:
    folder = repo / "model"
    folder.mkdir()
    blob(folder / "a.bin", 2 * MIB, b"a")
    blob(folder / "b.bin", 2 * MIB, b"b")  # the same size as a.bin: two candidates each
    first = reg.register("bert", folder, requirements=b"x==1\n", actor="me")
    names = sorted(p.name for p in (reg.root / "objects").rglob("*") if p.is_file())
    second = reg.register("bert", folder, requirements=b"x==1\n", actor="me")
    assert second.artifact_sha256 == first.artifact_sha256
    assert sorted(p.name for p in (reg.root / "objects").rglob("*") if p.is_file()) == names
    assert reg.verify().ok


@pytest.mark.usefixtures("small_threshold")
def test_a_source_that_changes_while_it_is_read_is_refused(
    reg: minireg.Registry, repo: Path
) -> None:
    art = repo / "model.bin"
    blob(art, 3 * MIB, b"model")
    changed = []

    def touch(done: int, total: int) -> None:
        if not changed:
            changed.append(done)
            with open(art, "ab") as fh:
                fh.write(b"appended while it was read")

    with pytest.raises(minireg.IntegrityError, match="changed while it was copied"):
        reg.storage.objects.put_file(art, touch, 0, art.stat().st_size)
    assert not [p for p in (reg.root / "objects").rglob("*") if p.is_file()]


def test_a_small_source_that_grows_past_its_buffer_while_it_is_read_is_refused(
    reg: minireg.Registry, repo: Path
) -> None:
    art = repo / "small.bin"
    art.write_bytes(b"small model\n")  # its buffers are sized for a small file
    changed = []

    def grow(done: int, total: int) -> None:
        if not changed:
            changed.append(done)
            with open(art, "ab") as fh:
                fh.write(b"x" * (MIB // 2))  # several buffers more

    with pytest.raises(minireg.IntegrityError, match="changed while it was copied"):
        reg.storage.objects.put_file(art, grow, 0, art.stat().st_size)
    assert changed == [len(b"small model\n")]
    assert not [p for p in (reg.root / "objects").rglob("*") if p.is_file()]


@pytest.mark.parametrize("size", [0, 1, MIB - 1, MIB, MIB + 1, 3 * MIB + 5])
@pytest.mark.parametrize("threaded", [False, True])
def test_every_size_is_hashed_and_copied_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int, threaded: bool
) -> None:
    monkeypatch.setattr(objects_module, "THREAD_FROM", 0 if threaded else 1 << 40)
    src = tmp_path / "src.bin"
    data = os.urandom(size)
    src.write_bytes(data)
    store = objects_module.ObjectStore(tmp_path / "objects")
    assert store.put_file(src) == (hashlib.sha256(data).hexdigest(), size)
    assert store.path(hashlib.sha256(data).hexdigest()).read_bytes() == data
