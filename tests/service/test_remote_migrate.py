"""``minireg remote migrate``: the objects leave git for the remote, not one event changes.

Every test with the ``remote`` fixture runs against the S3 server (moto) and a shared folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import minireg
from tests.conftest import git, run_proc, tree_digest
from tests.support.artifacts import two_versions
from tests.support.clones import fresh_clone
from tests.support.remotes import Remote


def in_git_registry(repo: Path, work: Path) -> minireg.Registry:
    """A registry whose objects git tracks (no remote), with a file and a folder version."""
    reg = minireg.init_registry(repo / "registry")
    two_versions(reg, work)
    reg.set_alias("net", "champion", 1)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "registry with its objects in git")
    assert [p for p in git(repo, "ls-files", "registry/objects").split() if p]
    return reg


def served(registry: Path, uri: str) -> dict[str, bytes]:
    """The bytes ``minireg path URI`` gives, by relative file name ("" for a file)."""
    out = run_proc("path", uri, "-r", str(registry))
    assert out.returncode == 0, out.stderr
    path = Path(out.stdout.strip())
    if path.is_file():
        return {"": path.read_bytes()}
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in path.rglob("*") if p.is_file()}


URIS = ["models:/churn/1", "models:/churn/Production", "models:/net/1", "models:/net@champion"]


def test_migrate_moves_every_object_and_keeps_every_event_byte(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = in_git_registry(repo, tmp_path / "work")
    events = (reg.root / "events.jsonl").read_bytes()
    ledger = (reg.root / "ledger.csv").read_bytes()
    before = {uri: served(reg.root, uri) for uri in URIS}
    local = sorted(p.name for p in (reg.root / "objects").rglob("*") if p.is_file())

    assert run_proc("remote", "set", remote.url, "-r", str(reg.root)).returncode == 0
    out = run_proc("remote", "migrate", "--json", "-r", str(reg.root))
    assert out.returncode == 0, out.stderr
    done = json.loads(out.stdout)
    # churn: artifact, requirements; net: two files, its manifest, requirements.
    assert done["objects"] == len(local) == 6
    assert sorted(d[2:] for d in done["uploaded"]) == local
    assert done["untracked"] == len(local) and done["commit"]

    # Not one event, not one ledger byte changed; git tracks no object any more.
    assert (reg.root / "events.jsonl").read_bytes() == events
    assert (reg.root / "ledger.csv").read_bytes() == ledger
    assert git(repo, "ls-files", "registry/objects") == ""
    assert "/objects/" in (reg.root / ".gitignore").read_text()
    assert git(repo, "status", "--porcelain") == ""
    message = git(repo, "log", "-1", "--format=%B")
    assert message.startswith(
        f"minireg: move the objects to {remote.url}; git no longer tracks registry/objects/"
    )
    assert "No event and no version changed." in message
    changed = git(repo, "show", "--name-status", "--format=", "HEAD").splitlines()
    assert sorted(line.split("\t")[0] for line in changed) == ["D"] * 6 + ["M", "M"]
    for digest in done["uploaded"]:
        assert remote.read(digest) is not None

    # A fresh clone has no objects at all, and every URI serves the same bytes as before.
    clone = fresh_clone(repo, tmp_path)
    assert not (clone / "objects").exists()
    assert {uri: served(clone, uri) for uri in URIS} == before
    assert minireg.load_model("models:/churn/Production", clone) == {"weights": [1, 2, 3]}
    for check in (["--remote", "--deep"], ["--against-git"]):
        verify = run_proc("verify", *check, "-r", str(clone))
        assert verify.returncode == 0, verify.stderr


def test_migrate_again_does_nothing(repo: Path, remote: Remote, tmp_path: Path) -> None:
    reg = in_git_registry(repo, tmp_path / "work")
    reg.set_remote(remote.url)
    assert run_proc("remote", "migrate", "-r", str(reg.root)).returncode == 0
    head = git(repo, "rev-parse", "HEAD")
    files = tree_digest(reg.root)
    out = run_proc("remote", "migrate", "-r", str(reg.root))
    assert out.returncode == 0, out.stderr
    assert "Nothing left to do: the objects were already migrated." in out.stderr
    assert "0 uploaded now" in out.stderr
    assert git(repo, "rev-parse", "HEAD") == head
    assert tree_digest(reg.root) == files


def test_migrate_without_a_remote_exits_2_and_changes_nothing(repo: Path, tmp_path: Path) -> None:
    reg = in_git_registry(repo, tmp_path / "work")
    head, files = git(repo, "rev-parse", "HEAD"), tree_digest(reg.root)
    out = run_proc("remote", "migrate", "-r", str(reg.root))
    assert out.returncode == 2
    assert out.stderr == (
        "error: No remote is set for objects (they live in git); set one with "
        "`minireg remote set s3://bucket/prefix`.\n"
    )
    assert (git(repo, "rev-parse", "HEAD"), tree_digest(reg.root)) == (head, files)


def test_a_damaged_local_object_is_never_sent(repo: Path, remote: Remote, tmp_path: Path) -> None:
    reg = in_git_registry(repo, tmp_path / "work")
    reg.set_remote(remote.url)
    churn = reg.versions("churn")[0]
    obj = reg.storage.objects.path(churn.artifact_sha256)
    obj.chmod(0o644)
    obj.write_bytes(b"bit rot" + obj.read_bytes()[7:])
    head = git(repo, "rev-parse", "HEAD")
    out = run_proc("remote", "migrate", "-r", str(reg.root))
    assert out.returncode == 6, out.stderr
    assert "1 local object(s) do not match their names, so they were not uploaded" in out.stderr
    assert remote.names() == []
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "ls-files", "registry/objects") != ""


def test_staged_changes_are_refused_before_anything_is_uploaded(
    repo: Path, remote: Remote, tmp_path: Path
) -> None:
    reg = in_git_registry(repo, tmp_path / "work")
    reg.set_remote(remote.url)
    (repo / "notes.txt").write_text("work in progress\n")
    git(repo, "add", "notes.txt")
    out = run_proc("remote", "migrate", "-r", str(reg.root))
    assert out.returncode == 4, out.stderr
    assert "Other changes are already staged in git (notes.txt)" in out.stderr
    assert remote.names() == []
    assert git(repo, "diff", "--cached", "--name-only") == "notes.txt"
