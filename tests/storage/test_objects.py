"""Content-addressed objects: stored once, read-only, folders back byte for byte."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import minireg
from tests.conftest import run_proc
from tests.support.registry import assert_objects_sound, checked_events, ledger_rows


def object_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "objects").rglob("*") if p.is_file())


def test_same_bytes_twice_store_one_object(
    reg: minireg.Registry, artifact: Path, repo: Path
) -> None:
    for _ in range(2):
        out = run_proc("register", "churn", str(artifact), "--registry", str(reg.root), cwd=repo)
        assert out.returncode == 0, out.stderr
    # A copy of the same bytes under another name is the same object too.
    copy = repo / "copy.pkl"
    copy.write_bytes(artifact.read_bytes())
    out = run_proc("register", "other", str(copy), "--registry", str(reg.root), cwd=repo)
    assert out.returncode == 0, out.stderr
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    holders = [p for p in object_files(reg.root) if p.read_bytes() == artifact.read_bytes()]
    assert holders == [reg.root / "objects" / "sha256" / digest[:2] / digest[2:]]
    records = reg.versions()
    assert [r.artifact_sha256 for r in records] == [digest] * 3
    # One artifact object and one requirements object (the same environment each time).
    assert len(object_files(reg.root)) == 2
    assert assert_objects_sound(reg.root) == []


def test_objects_are_read_only(reg: minireg.Registry, artifact: Path) -> None:
    rec = reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    mode = reg.artifact_path(rec).stat().st_mode
    assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def make_folder(base: Path) -> dict[str, bytes]:
    files = {
        "model/weights.bin": os.urandom(300_000),
        "model/config.json": b'{"layers": 3}\n',
        "model/sub/deeper/vocab.txt": "a\nb\n\u00e9\n".encode(),
        "model/empty.txt": b"",
        "model/same-as-config.json": b'{"layers": 3}\n',
    }
    for rel, data in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {rel.split("/", 1)[1]: data for rel, data in files.items()}


def test_folder_artifact_comes_back_byte_for_byte_through_path(
    reg: minireg.Registry, repo: Path
) -> None:
    files = make_folder(repo)
    out = run_proc("register", "bert", "model", "--json", "--registry", str(reg.root), cwd=repo)
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert (rec["flavor"], rec["artifact"]) == ("dir", "model/")
    assert rec["artifact_bytes"] == sum(len(d) for d in files.values())
    out = run_proc("path", "bert", "1", "--registry", str(reg.root), cwd=repo)
    assert out.returncode == 0, out.stderr
    back = Path(out.stdout.strip())
    assert back.is_dir()
    got = {p.relative_to(back).as_posix(): p.read_bytes() for p in back.rglob("*") if p.is_file()}
    assert got == files
    # The URI form names the same folder, and a second `path` reuses it.
    out = run_proc("path", "models:/bert/latest", "--registry", str(reg.root), cwd=repo)
    assert Path(out.stdout.strip()) == back
    # The cache is git-ignored and the objects re-hash to their names.
    assert ".cache/" in (reg.root / ".gitignore").read_text()
    assert assert_objects_sound(reg.root) == []
    assert run_proc("verify", "--registry", str(reg.root), cwd=repo).returncode == 0


def test_folder_with_same_files_is_one_manifest(reg: minireg.Registry, repo: Path) -> None:
    make_folder(repo)
    a = reg.register("bert", repo / "model", requirements=b"x==1\n", actor="me")
    before = object_files(reg.root)
    b = reg.register("bert", repo / "model", requirements=b"x==1\n", actor="me")
    assert a.artifact_sha256 == b.artifact_sha256
    assert object_files(reg.root) == before


def test_register_writes_events_ledger_and_chain(reg: minireg.Registry, artifact: Path) -> None:
    reg.register(
        "churn",
        artifact,
        metrics={"auc_roc": 0.91},
        params={"C": 1.0},
        tags={"team": "growth"},
        requirements=b"x==1\n",
        actor="me",
    )
    events = checked_events(reg.root)
    assert [e.action for e in events] == ["register"]
    (row,) = ledger_rows(reg.root)
    assert (row["model"], row["version"], row["metric.auc_roc"], row["param.C"]) == (
        "churn",
        "1",
        "0.91",
        "1.0",
    )
    assert row["tag.team"] == "growth"
    assert (reg.root / "ledger.csv").read_bytes().count(b"\r") == 0


def test_a_deferred_block_renames_objects_into_place_only_at_its_end(tmp_path: Path) -> None:
    from minireg.storage.objects import ObjectStore

    store = ObjectStore(tmp_path / "objects")
    kept = store.put_bytes(b"stored before the batch\n")
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "w.bin").write_bytes(b"weights\n")
    single = tmp_path / "single.bin"
    single.write_bytes(b"one file\n")
    with store.deferred():
        file_digest, size = store.put_file(single)
        again = store.put_bytes(b"one file\n")  # the same bytes twice in one batch
        stored = store.put_path(folder)
        same = store.put_bytes(b"stored before the batch\n")
        # Nothing new under a real name yet: only temporary copies.
        assert not store.has(file_digest) and not store.has(stored.sha256)
        assert store.has(kept) and same == kept
        assert len([p for p in object_files(tmp_path) if p.name.startswith(".tmp-")]) == 4
    assert (again, size) == (file_digest, len(b"one file\n"))
    assert store.path(file_digest).read_bytes() == b"one file\n"
    assert store.read_manifest(stored.sha256)[0]["path"] == "sub/w.bin"
    assert store.check(stored.sha256, True) == []
    assert not stat.S_IWUSR & store.path(file_digest).stat().st_mode, "objects are read-only"
    assert assert_objects_sound(tmp_path) == []


def test_an_error_inside_a_deferred_block_leaves_no_object_and_no_temp_file(
    tmp_path: Path,
) -> None:
    from minireg.storage.objects import ObjectStore

    store = ObjectStore(tmp_path / "objects")
    before = store.put_bytes(b"an older object\n")
    try:
        with store.deferred():
            store.put_bytes(b"a new object\n")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert object_files(tmp_path) == [store.path(before)]
