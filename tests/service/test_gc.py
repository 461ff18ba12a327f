"""gc: list and remove objects no version references, keeping young ones."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import minireg
from tests.conftest import git, run_cli, tree_digest


def _populate(reg: minireg.Registry, repo: Path, artifact: Path) -> set[str]:
    """Two versions (a file and a folder) plus objects nobody references; return those."""
    folder = repo / "model_dir"
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.bin").write_bytes(b"weights\n")
    (folder / "sub" / "config.json").write_bytes(b"{}\n")
    reg.register("churn", artifact, requirements=b"scikit-learn==1.5.0\n")
    reg.register("churn", folder, requirements=b"scikit-learn==1.5.0\n")
    store = reg.storage.objects
    junk = {store.put_bytes(b"an artifact of a registration that failed\n")}
    abandoned = repo / "abandoned_dir"
    abandoned.mkdir()
    (abandoned / "a.bin").write_bytes(b"abandoned file a\n")
    (abandoned / "b.bin").write_bytes(b"abandoned file b\n")
    stored = store.put_path(abandoned)
    junk.add(stored.sha256)
    junk.update(str(e["sha256"]) for e in store.read_manifest(stored.sha256))
    return junk


def _age(reg: minireg.Registry, seconds: float) -> None:
    """Make every object look ``seconds`` old (instead of sleeping)."""
    past = time.time() - seconds
    for digest in reg.storage.objects.all_digests():
        os.utime(reg.storage.objects.path(digest), (past, past))


def test_gc_dry_run_lists_exactly_the_unreferenced_objects(
    reg: minireg.Registry, repo: Path, artifact: Path
) -> None:
    junk = _populate(reg, repo, artifact)
    assert len(junk) == 4  # a file, a manifest and the manifest's two files
    before = tree_digest(reg.root)
    res = run_cli("gc", "--dry-run", "--grace", "0")
    assert res.exit_code == 0, res.stderr
    assert set(res.stdout.split()) == junk
    assert "Would remove 4 unreferenced objects" in res.stderr
    assert tree_digest(reg.root) == before

    res = run_cli("gc", "--grace", "0", "--json")
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out["removed"]) == junk
    remaining = set(reg.storage.objects.all_digests())
    assert not remaining & junk
    assert len(remaining) == 5  # file, manifest + 2 files, one requirements object
    assert run_cli("verify").exit_code == 0
    # Every version still loads.
    for rec in reg.versions("churn"):
        assert reg.artifact_path(rec).exists()
    assert run_cli("gc", "--dry-run", "--grace", "0").stdout == ""


def test_gc_keeps_objects_younger_than_the_grace_period(
    reg: minireg.Registry, repo: Path, artifact: Path
) -> None:
    junk = _populate(reg, repo, artifact)
    before = tree_digest(reg.root)
    # Just stored, as by a register still in flight: the default hour keeps them.
    res = run_cli("gc")
    assert res.exit_code == 0
    assert res.stdout == ""
    assert "Kept 4 unreferenced objects younger than 3600 s" in res.stderr
    assert tree_digest(reg.root) == before
    _age(reg, 7200)
    result = reg.gc(grace=3600)
    assert set(result.removed) == junk


def test_gc_commit_removes_objects_in_one_commit(
    repo: Path, reg: minireg.Registry, artifact: Path
) -> None:
    junk = _populate(reg, repo, artifact)
    git(repo, "add", "registry")
    git(repo, "commit", "-q", "-m", "registry with leftovers")
    count = git(repo, "rev-list", "--count", "HEAD")
    res = run_cli("gc", "--grace", "0", "--commit")
    assert res.exit_code == 0, res.stderr
    assert int(git(repo, "rev-list", "--count", "HEAD")) == int(count) + 1
    assert git(repo, "log", "-1", "--format=%s") == "minireg: gc removed 4 unreferenced objects"
    files = set(git(repo, "show", "--name-only", "--format=", "HEAD").splitlines())
    assert files == {f"registry/objects/sha256/{d[:2]}/{d[2:]}" for d in junk}
    assert git(repo, "status", "--porcelain", "--", "registry") == ""


def test_gc_refuses_on_a_broken_trail(reg: minireg.Registry, artifact: Path) -> None:
    reg.register("churn", artifact)
    events = reg.root / "events.jsonl"
    events.write_text(events.read_text().replace('"churn"', '"other"'))
    before = tree_digest(reg.root)
    res = run_cli("gc", "--grace", "0")
    assert res.exit_code == 6
    assert "does not check out, so nothing was written" in res.stderr
    assert tree_digest(reg.root) == before
