"""verify --against-git catches a cut-off trail; a shallow clone reads without history."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import git, run_cli, run_proc


def _registry_with_commits(repo: Path, artifact: Path) -> None:
    assert run_cli("init").exit_code == 0
    git(repo, "add", "registry")
    git(repo, "commit", "-q", "-m", "registry")
    for args in (
        ["register", "churn", str(artifact), "--requirements", str(artifact)],
        ["promote", "churn", "1", "--to", "Staging"],
        ["alias", "set", "churn", "champion", "1"],
        ["describe", "churn", "1", "first"],
        ["tag", "churn", "1", "team=growth"],
    ):
        res = run_cli(*args, "--commit")
        assert res.exit_code == 0, res.stderr


def test_cut_off_events_pass_plain_verify_but_not_against_git(repo: Path, artifact: Path) -> None:
    _registry_with_commits(repo, artifact)
    assert run_cli("verify", "--against-git").exit_code == 0
    events = repo / "registry" / "events.jsonl"
    lines = events.read_text().splitlines(keepends=True)
    events.write_text("".join(lines[:-3]))
    # The matching ledger rows go too: the ledger is regenerated from what is left.
    assert run_cli("rebuild", "--no-commit").exit_code == 0

    # A hash chain cannot see its own tail cut off: plain verify passes. This is why
    # --against-git exists (and why CI should run it).
    plain = run_cli("verify")
    assert plain.exit_code == 0, plain.stderr

    res = run_proc("verify", "--against-git")
    assert res.returncode == 6, res.stderr
    assert "events.jsonl lacks audit head" in res.stderr
    assert "events were cut off or replaced" in res.stderr
    assert "Traceback" not in res.stderr


def test_against_git_needs_a_minireg_commit(repo: Path, artifact: Path) -> None:
    assert run_cli("init").exit_code == 0
    assert run_cli("register", "churn", str(artifact)).exit_code == 0
    res = run_cli("verify", "--against-git")
    assert res.exit_code == 3
    assert "No commit with a Minireg-Audit-Head trailer" in res.stderr


def test_shallow_clone_lists_shows_and_loads_paths(
    repo: Path, artifact: Path, tmp_path: Path
) -> None:
    _registry_with_commits(repo, artifact)
    (repo / "other.pkl").write_bytes(b"second\n")
    assert run_cli("register", "churn", str(repo / "other.pkl"), "--commit").exit_code == 0
    clone = tmp_path / "clone"
    out = subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(clone)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert git(clone, "rev-list", "--count", "HEAD") == "1"
    assert git(clone, "tag") == ""
    listed = run_proc("list", "--json", cwd=clone)
    assert listed.returncode == 0, listed.stderr
    assert '"version": 2' in listed.stdout
    shown = run_proc("show", "models:/churn/Staging", cwd=clone)
    assert shown.returncode == 0, shown.stderr
    path = run_proc("path", "models:/churn@champion", cwd=clone)
    assert path.returncode == 0, path.stderr
    assert Path(path.stdout.strip()).read_bytes() == artifact.read_bytes()
    assert run_proc("verify", cwd=clone).returncode == 0
    # The last commit is a minireg commit, so even a depth-1 clone can check its tail.
    assert run_proc("verify", "--against-git", cwd=clone).returncode == 0
