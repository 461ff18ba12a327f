"""minireg checkout: the artifact as ordinary writable files, checked on the way out."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest

import minireg
from tests.conftest import run_cli, tree_digest

FILES = {
    "weights.bin": bytes(range(256)) * 40,
    "config.json": b'{"layers": 2}\n',
    "tokenizer/vocab.txt": b"a\nb\nc\n",
}


@pytest.fixture
def stocked(reg: minireg.Registry, repo: Path) -> minireg.Registry:
    """churn v1 (a file) in Production; bundle v1 (a folder) with @champion."""
    (repo / "model.joblib").write_bytes(b"joblib bytes of a model\n" * 100)
    reg.register("churn", repo / "model.joblib", requirements=b"", actor="ds")
    reg.promote("churn", 1, "Production", actor="ci")
    folder = repo / "bundle"
    for rel, data in FILES.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    reg.register("bundle", folder, requirements=b"", actor="ds")
    reg.set_alias("bundle", "champion", 1, actor="ci")
    return reg


def writable(path: Path) -> bool:
    return bool(path.stat().st_mode & stat.S_IWUSR) and os.access(path, os.W_OK)


def test_file_to_a_file_path(stocked: minireg.Registry, repo: Path) -> None:
    dest = repo / "out" / "mine.joblib"
    dest.parent.mkdir()
    res = run_cli("checkout", "models:/churn/Production", str(dest))
    assert res.exit_code == 0, res.stderr
    assert res.stdout.strip() == str(dest)
    assert "Checked out churn version 1" in res.stderr
    assert dest.read_bytes() == (repo / "model.joblib").read_bytes()
    assert writable(dest)
    # An ordinary file: writing it leaves the stored object alone.
    dest.write_bytes(b"edited")
    assert minireg.open_registry(stocked.root).verify().ok


def test_file_into_a_folder_keeps_its_name(stocked: minireg.Registry, repo: Path) -> None:
    dest = repo / "build"
    dest.mkdir()
    res = run_cli("checkout", "models:/churn/1", str(dest), "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["version"] == 1
    assert data["checkout"] == str(dest / "model.joblib")
    assert (dest / "model.joblib").read_bytes() == (repo / "model.joblib").read_bytes()
    assert writable(dest / "model.joblib")


def test_folder_to_a_new_folder(stocked: minireg.Registry, repo: Path) -> None:
    dest = repo / "checked"
    res = run_cli("checkout", "models:/bundle@champion", str(dest))
    assert res.exit_code == 0, res.stderr
    found = {p.relative_to(dest).as_posix(): p for p in dest.rglob("*") if p.is_file()}
    assert {rel: p.read_bytes() for rel, p in found.items()} == FILES
    assert all(writable(p) for p in found.values())
    # Writable and independent of the registry (no hard links into objects/).
    (dest / "weights.bin").write_bytes(b"changed")
    assert minireg.open_registry(stocked.root).verify().ok


def test_folder_into_an_empty_folder(stocked: minireg.Registry, repo: Path) -> None:
    dest = repo / "empty"
    dest.mkdir()
    done = minireg.checkout("models:/bundle/latest", dest, stocked)
    assert done.path == dest
    assert (dest / "tokenizer" / "vocab.txt").read_bytes() == FILES["tokenizer/vocab.txt"]


def test_existing_destinations_are_kept_unless_forced(
    stocked: minireg.Registry, repo: Path
) -> None:
    dest = repo / "taken.joblib"
    dest.write_bytes(b"mine")
    res = run_cli("checkout", "models:/churn/1", str(dest))
    assert res.exit_code == 2
    assert "already exists; choose another path or add --force" in res.stderr
    assert dest.read_bytes() == b"mine"
    full = repo / "full"
    full.mkdir()
    (full / "keep.txt").write_text("keep")
    res = run_cli("checkout", "models:/bundle/1", str(full))
    assert res.exit_code == 2
    assert "is not empty" in res.stderr
    assert sorted(p.name for p in full.iterdir()) == ["keep.txt"]
    assert run_cli("checkout", "models:/churn/1", str(dest), "--force").exit_code == 0
    assert dest.read_bytes() == (repo / "model.joblib").read_bytes()
    assert run_cli("checkout", "models:/bundle/1", str(full), "--force").exit_code == 0
    assert (full / "keep.txt").read_text() == "keep"
    assert (full / "weights.bin").read_bytes() == FILES["weights.bin"]


def test_a_tampered_object_is_not_checked_out(stocked: minireg.Registry, repo: Path) -> None:
    digest = hashlib.sha256(FILES["config.json"]).hexdigest()
    obj = stocked.storage.object_path(digest)
    os.chmod(obj, 0o644)
    obj.write_bytes(b'{"layers": 3}\n')
    dest = repo / "checked"
    res = run_cli("checkout", "models:/bundle/1", str(dest))
    assert res.exit_code == 6, res.stderr
    assert "does not match its recorded sha256" in res.stderr
    assert "config.json" in res.stderr
    assert not dest.exists()
    assert not [p for p in repo.iterdir() if p.name.startswith(".tmp-")]


def test_bad_uris_exit_with_their_codes_and_change_nothing(
    stocked: minireg.Registry, repo: Path
) -> None:
    before = tree_digest(stocked.root)
    for uri, code in (
        ("churn", 2),
        ("models:/churn", 2),
        ("models:/churn/Staging", 3),
        ("models:/nope/1", 3),
        ("models:/churn@missing", 3),
    ):
        res = run_cli("checkout", uri, str(repo / "x"))
        assert res.exit_code == code, (uri, res.stderr)
        assert res.stderr.startswith("error: ")
    assert not (repo / "x").exists()
    assert tree_digest(stocked.root) == before
    res = run_cli("checkout", "models:/churn/1", str(repo / "no" / "such" / "dir" / "m.joblib"))
    assert res.exit_code == 2
    assert "does not exist; create it first" in res.stderr
