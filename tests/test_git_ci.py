"""The README's CI job: promote with --commit in a shallow clone, push, retry with pull --rebase."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import git, run_proc


def _ok(cwd: Path, *args: str) -> str:
    res = run_proc(*args, cwd=cwd)
    assert res.returncode == 0, res.stderr
    return res.stdout


def test_ci_push_retries_with_pull_rebase(repo: Path, tmp_path: Path) -> None:
    _ok(repo, "init")
    (repo / "m1.pkl").write_bytes(b"model one\n")
    _ok(repo, "register", "churn", "m1.pkl", "--requirements", "m1.pkl")
    git(repo, "add", "registry", "m1.pkl")
    git(repo, "commit", "-q", "-m", "first model")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(remote))

    # CI: a shallow checkout, the driver installed once, a promotion committed.
    ci = tmp_path / "ci"
    git(tmp_path, "clone", "-q", "--depth", "1", f"file://{remote}", str(ci))
    _ok(ci, "install-merge-driver")
    _ok(ci, "promote", "churn", "1", "--to", "Production", "--approver", "alice@corp", "--commit")

    # Meanwhile a colleague pushes a new registration.
    dev = tmp_path / "dev"
    git(tmp_path, "clone", "-q", f"file://{remote}", str(dev))
    (dev / "m2.pkl").write_bytes(b"model two\n")
    _ok(dev, "register", "churn", "m2.pkl", "--requirements", "m2.pkl", "--commit")
    git(dev, "push", "-q", "origin", "HEAD:main")

    # The CI push is rejected; pull --rebase (the driver re-chains our events) and push again.
    push = subprocess.run(
        ["git", "push", "-q", "origin", "HEAD:main"], cwd=ci, capture_output=True, text=True
    )
    assert push.returncode != 0
    git(ci, "pull", "-q", "--rebase", "origin", "main")
    _ok(ci, "verify")
    _ok(ci, "verify", "--against-git")
    git(ci, "push", "-q", "origin", "HEAD:main")

    git(dev, "pull", "-q", "--ff-only", "origin", "main")
    listed = _ok(dev, "list")
    assert "Production" in listed
    _ok(dev, "verify", "--against-git")
    assert git(dev, "log", "-1", "--format=%s") == (
        "minireg: promote churn v1 to Production (approver alice@corp)"
    )
