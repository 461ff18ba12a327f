"""An object is trusted for its bytes, never for its name: planted files and symlinks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import minireg
from tests.conftest import run_cli, run_proc, tree_digest

MODEL = b"the real model bytes\n"
REQS = b"scikit-learn==1.5.0\n"


def _object(reg: minireg.Registry, data: bytes) -> Path:
    return reg.storage.objects.path(hashlib.sha256(data).hexdigest())


def _plant(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o444)


def test_a_planted_object_is_rehashed_and_replaced_when_the_bytes_are_registered(
    reg: minireg.Registry, repo: Path
) -> None:
    art = repo / "model.bin"
    art.write_bytes(MODEL)
    _plant(_object(reg, MODEL), b"planted: not the model\n")
    _plant(_object(reg, REQS), b"planted: not the requirements\n")
    rec = reg.register("churn", art, requirements=REQS, actor="me")
    assert _object(reg, MODEL).read_bytes() == MODEL
    assert _object(reg, REQS).read_bytes() == REQS
    assert minireg.load_model(f"models:/churn/{rec.version}", reg) == _object(reg, MODEL)
    out = run_proc("verify", "--registry", str(reg.root), cwd=repo)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_corrupted_object_is_repaired_by_registering_its_bytes_again(
    reg: minireg.Registry, repo: Path
) -> None:
    art = repo / "model.bin"
    art.write_bytes(MODEL)
    reg.register("churn", art, requirements=REQS, actor="me")
    obj = _object(reg, MODEL)
    obj.chmod(0o644)
    obj.write_bytes(b"bit rot\n")
    assert run_proc("verify", "--registry", str(reg.root), cwd=repo).returncode == 6
    reg.register("churn", art, requirements=REQS, actor="me")
    assert obj.read_bytes() == MODEL
    assert run_proc("verify", "--registry", str(reg.root), cwd=repo).returncode == 0


@pytest.mark.parametrize("what", ["artifact", "requirements"])
def test_a_symlink_at_an_object_s_place_refuses_the_register(
    reg: minireg.Registry, repo: Path, tmp_path: Path, what: str
) -> None:
    art = repo / "model.bin"
    art.write_bytes(MODEL)
    outside = tmp_path / "outside.bin"
    outside.write_bytes(MODEL if what == "artifact" else REQS)
    link = _object(reg, MODEL if what == "artifact" else REQS)
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    reqs = repo / "requirements.txt"
    reqs.write_bytes(REQS)
    before = tree_digest(reg.root)
    res = run_cli("register", "churn", str(art), "--requirements", str(reqs), "-r", str(reg.root))
    assert (res.exit_code, res.stdout) == (8, ""), res.stderr
    assert res.stderr == (
        f"error: {link} is a symlink in the object store; replace it with the real object "
        "(restore objects/ from git) and run `minireg verify`.\n"
    )
    # Nothing is recorded. Objects are stored before the lock is taken (README), so the
    # artifact stored before the requirements were refused may stay, as a sound object.
    after = tree_digest(reg.root)
    assert {k: after[k] for k in before} == before
    assert all(k.startswith("objects/sha256/") for k in set(after) - set(before))
    assert link.is_symlink()


@pytest.fixture
def linked(reg: minireg.Registry, repo: Path, tmp_path: Path) -> tuple[minireg.Registry, Path]:
    """Version 1's object replaced by a symlink to identical bytes outside the registry."""
    art = repo / "model.bin"
    art.write_bytes(MODEL)
    reg.register("churn", art, requirements=REQS, actor="me")
    obj = _object(reg, MODEL)
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes(MODEL)
    obj.unlink()
    obj.symlink_to(outside)
    return reg, obj


def test_verify_reports_a_symlinked_object(linked: tuple[minireg.Registry, Path]) -> None:
    reg, obj = linked
    report = reg.verify()
    digest = hashlib.sha256(MODEL).hexdigest()
    assert report.problems == [
        f"churn v1: object {digest} is reached through a symlink ({obj}); restore the real file"
    ]
    res = run_cli("verify", "--registry", str(reg.root))
    assert res.exit_code == 6


def test_loading_refuses_a_symlinked_object(
    linked: tuple[minireg.Registry, Path], tmp_path: Path
) -> None:
    reg, _ = linked
    for load in (
        lambda: minireg.load_model("models:/churn/1", reg),
        lambda: minireg.resolve("models:/churn/1", reg),
        lambda: minireg.checkout("models:/churn/1", tmp_path / "out.bin", reg),
        lambda: minireg.ModelHandle("models:/churn/1", reg),
    ):
        with pytest.raises(minireg.Unsafe, match="is a symlink in the object store"):
            load()
    assert not (tmp_path / "out.bin").exists()
    res = run_cli("checkout", "models:/churn/1", str(tmp_path / "out.bin"), "-r", str(reg.root))
    assert res.exit_code == 8, res.stderr


def test_loading_refuses_a_symlinked_file_of_a_folder_artifact(
    reg: minireg.Registry, repo: Path, tmp_path: Path
) -> None:
    folder = repo / "bundle"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(MODEL)
    (folder / "config.json").write_text("{}")
    reg.register("bundle", folder, requirements=REQS, actor="me")
    obj = _object(reg, MODEL)
    outside = tmp_path / "elsewhere.bin"
    outside.write_bytes(MODEL)
    obj.unlink()
    obj.symlink_to(outside)
    with pytest.raises(minireg.Unsafe):
        minireg.load_model("models:/bundle/1", reg)
    with pytest.raises(minireg.Unsafe):
        minireg.checkout("models:/bundle/1", tmp_path / "out", reg)
    assert any("symlink" in p for p in reg.verify().problems)


def test_a_symlinked_object_folder_is_refused_too(
    reg: minireg.Registry, repo: Path, tmp_path: Path
) -> None:
    art = repo / "model.bin"
    art.write_bytes(MODEL)
    reg.register("churn", art, requirements=REQS, actor="me")
    sub = _object(reg, MODEL).parent
    moved = tmp_path / "moved"
    os.rename(sub, moved)
    sub.symlink_to(moved)
    with pytest.raises(minireg.Unsafe):
        minireg.load_model("models:/churn/1", reg)
    assert not reg.verify().ok
