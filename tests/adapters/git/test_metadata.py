"""Git metadata of `register`: commit, branch, dirty flag, actor — real repos, real processes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import minireg
from tests.conftest import git, run_proc


def register_json(reg_root: Path, artifact: Path, cwd: Path, *extra: str) -> dict[str, object]:
    out = run_proc(
        "register", "churn", str(artifact), "--json", "--registry", str(reg_root), *extra, cwd=cwd
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert isinstance(data, dict)
    return data


def test_clean_repo_records_commit_branch_and_clean_tree(
    reg: minireg.Registry, artifact: Path, repo: Path
) -> None:
    head = git(repo, "rev-parse", "HEAD")
    rec = register_json(reg.root, artifact, repo)
    assert rec["git_commit"] == head
    assert rec["git_branch"] == "main"
    assert rec["git_dirty"] is False
    # The ledger shows the same values as the JSON.
    ledger = (reg.root / "ledger.csv").read_text()
    assert f",{head},main,false," in ledger


def test_editing_a_tracked_file_makes_the_tree_dirty(
    reg: minireg.Registry, artifact: Path, repo: Path
) -> None:
    assert register_json(reg.root, artifact, repo)["git_dirty"] is False
    (repo / "train.py").write_text("print('training, changed')\n")
    rec = register_json(reg.root, artifact, repo)
    assert rec["git_dirty"] is True
    assert rec["version"] == 2
    git(repo, "checkout", "--", "train.py")
    assert register_json(reg.root, artifact, repo)["git_dirty"] is False


def test_untracked_files_and_a_committed_registry_do_not_make_it_dirty(
    reg: minireg.Registry, artifact: Path, repo: Path
) -> None:
    (repo / "notes.txt").write_text("untracked scratch\n")
    register_json(reg.root, artifact, repo)
    # Commit the registry: the next register rewrites tracked registry files,
    # which must not count as a dirty working tree.
    git(repo, "add", "registry")
    git(repo, "commit", "-q", "-m", "registry v1")
    rec = register_json(reg.root, artifact, repo)
    assert rec["git_dirty"] is False
    assert rec["git_commit"] == git(repo, "rev-parse", "HEAD")
    assert git(repo, "status", "--porcelain", "--untracked-files=no") != ""


def test_outside_any_git_repo_fields_are_empty_with_a_note(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert (
        subprocess.run(
            ["git", "rev-parse", "--git-dir"], cwd=plain, capture_output=True, check=False
        ).returncode
        != 0
    ), "the temp folder must not be inside a git repository"
    out = run_proc("init", "--registry", "registry", cwd=plain)
    assert out.returncode == 0, out.stderr
    (plain / "model.bin").write_bytes(b"bytes\n")
    out = run_proc("register", "churn", "model.bin", "--json", "--registry", "registry", cwd=plain)
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert (rec["git_commit"], rec["git_branch"], rec["git_dirty"]) == ("", "", None)
    assert out.stderr == (
        f"note: {plain.resolve()} is not inside a git repository; git fields are empty.\n"
    )
    row = (plain / "registry" / "ledger.csv").read_text().splitlines()[1].split(",")
    header = (plain / "registry" / "ledger.csv").read_text().splitlines()[0].split(",")
    cells = dict(zip(header, row))
    assert (cells["git_commit"], cells["git_branch"], cells["git_dirty"]) == ("", "", "")


def test_detached_head_records_the_commit_and_no_branch(
    reg: minireg.Registry, artifact: Path, repo: Path
) -> None:
    (repo / "train.py").write_text("print('second')\n")
    git(repo, "commit", "-q", "-am", "second")
    first = git(repo, "rev-parse", "HEAD~1")
    git(repo, "checkout", "-q", "--detach", first)
    rec = register_json(reg.root, artifact, repo)
    assert rec["git_commit"] == first
    assert rec["git_branch"] == ""
    assert rec["git_dirty"] is False


def test_code_dir_names_the_repo_when_run_from_elsewhere(
    reg: minireg.Registry, artifact: Path, repo: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    rec = register_json(reg.root, artifact, elsewhere, "--code-dir", str(repo))
    assert rec["git_commit"] == git(repo, "rev-parse", "HEAD")
    assert rec["git_branch"] == "main"


def test_a_repo_without_commits_gives_empty_fields_and_a_note(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    git(fresh, "init", "-q")
    assert run_proc("init", cwd=fresh).returncode == 0
    (fresh / "m.bin").write_bytes(b"m\n")
    out = run_proc("register", "churn", "m.bin", "--json", cwd=fresh)
    assert out.returncode == 0, out.stderr
    rec = json.loads(out.stdout)
    assert (rec["git_commit"], rec["git_branch"], rec["git_dirty"]) == ("", "", None)
    assert "has no commits yet; git fields are empty." in out.stderr


def test_actor_is_env_then_git_email(reg: minireg.Registry, artifact: Path, repo: Path) -> None:
    assert register_json(reg.root, artifact, repo)["registered_by"] == "tester@example.com"
    out = run_proc(
        "register",
        "churn",
        str(artifact),
        "--json",
        "--registry",
        str(reg.root),
        cwd=repo,
        env={"MINIREG_ACTOR": "ci-bot"},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["registered_by"] == "ci-bot"
    assert [e.actor for e in reg.events()] == ["tester@example.com", "ci-bot"]


def test_api_register_records_git_of_the_current_folder(
    reg: minireg.Registry, artifact: Path, repo: Path
) -> None:
    rec = reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    assert rec.git_commit == git(repo, "rev-parse", "HEAD")
    assert (rec.git_branch, rec.git_dirty, rec.registered_by) == ("main", False, "me")


def test_dirty_anywhere_in_the_repo_counts_from_a_subfolder(repo: Path) -> None:
    from minireg.adapters.git.info import describe

    (repo / "src").mkdir()
    (repo / "docs").mkdir()
    (repo / "src" / "a.py").write_text("a\n")
    (repo / "docs" / "b.md").write_text("b\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "more")
    clean = describe(repo / "src", exclude=repo / "registry")
    assert (clean.commit, clean.branch, clean.dirty) == (
        git(repo, "rev-parse", "HEAD"),
        "main",
        False,
    )
    (repo / "docs" / "b.md").write_text("changed\n")
    assert describe(repo / "src", exclude=repo / "registry").dirty is True
    # The excluded folder (the registry) never counts.
    assert describe(repo / "src", exclude=repo / "docs").dirty is False


def test_a_bogus_git_folder_is_a_note_not_an_error(tmp_path: Path) -> None:
    from minireg.adapters.git.info import describe

    (tmp_path / "odd" / ".git").mkdir(parents=True)
    info = describe(tmp_path / "odd")
    assert (info.commit, info.branch, info.dirty) == ("", "", None)
    assert info.note == f"{tmp_path / 'odd'} is not inside a git repository; git fields are empty."
