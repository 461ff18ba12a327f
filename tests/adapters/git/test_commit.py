"""--commit and `commit = true`: one commit of exactly the registry's changed files."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import minireg
from tests.conftest import git, run_cli, run_proc, tree_digest


def _setup(repo: Path, artifact: Path) -> None:
    assert run_cli("init").exit_code == 0
    git(repo, "add", "registry")
    git(repo, "commit", "-q", "-m", "registry")


def _count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--count", "HEAD"))


def _files_in_head(repo: Path) -> set[str]:
    return set(git(repo, "show", "--name-only", "--format=", "HEAD").splitlines())


def test_register_commit_makes_one_commit_of_the_changed_registry_files(
    repo: Path, artifact: Path
) -> None:
    _setup(repo, artifact)
    (repo / "notes.txt").write_text("an unrelated, unstaged change\n")
    before = _count(repo)
    res = run_cli("register", "churn", str(artifact), "--requirements", str(artifact), "--commit")
    assert res.exit_code == 0, res.stderr
    assert _count(repo) == before + 1
    digest = minireg.open_registry().get("churn", 1).artifact_sha256
    assert _files_in_head(repo) == {
        "registry/events.jsonl",
        "registry/ledger.csv",
        f"registry/objects/sha256/{digest[:2]}/{digest[2:]}",
    }
    # Nothing of the registry is left uncommitted; the unrelated file is untouched.
    assert git(repo, "status", "--porcelain", "--", "registry") == ""
    assert git(repo, "status", "--porcelain", "--", "notes.txt") == "?? notes.txt"
    message = git(repo, "log", "-1", "--format=%B")
    assert message.splitlines()[0] == "minireg: register churn v1"
    head = minireg.open_registry().events()[-1].hash
    assert git(repo, "log", "-1", "--format=%(trailers:key=Minireg-Audit-Head,valueonly)") == head
    assert "Committed" in res.stderr


def test_promote_commit_message_names_version_stage_and_approver(
    repo: Path, artifact: Path
) -> None:
    _setup(repo, artifact)
    assert run_cli("register", "churn", str(artifact), "--commit").exit_code == 0
    before = _count(repo)
    res = run_cli(
        "promote", "churn", "1", "--to", "production", "--approver", "alice@corp", "--commit"
    )
    assert res.exit_code == 0, res.stderr
    assert _count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s") == (
        "minireg: promote churn v1 to Production (approver alice@corp)"
    )
    assert _files_in_head(repo) == {"registry/events.jsonl", "registry/ledger.csv"}
    # A no-op write makes no commit.
    res = run_cli("promote", "churn", "1", "--to", "Production", "--commit")
    assert res.exit_code == 0
    assert _count(repo) == before + 1
    assert "no commit made" in res.stderr


def test_every_write_command_commits(repo: Path, artifact: Path) -> None:
    _setup(repo, artifact)
    commands = [
        ["register", "churn", str(artifact)],
        ["promote", "churn", "1", "--to", "Staging"],
        ["alias", "set", "churn", "champion", "1"],
        ["alias", "delete", "churn", "champion"],
        ["describe", "churn", "1", "first try"],
        ["tag", "churn", "1", "team=growth"],
    ]
    for args in commands:
        before = _count(repo)
        res = run_cli(*args, "--commit")
        assert res.exit_code == 0, (args, res.stderr)
        assert _count(repo) == before + 1, args
        assert git(repo, "status", "--porcelain", "--", "registry") == ""
    subjects = git(repo, "log", "-6", "--format=%s").splitlines()
    assert subjects == [
        "minireg: tag churn v1 team=growth",
        "minireg: describe churn v1",
        "minireg: delete alias churn@champion",
        "minireg: set alias churn@champion to v1",
        "minireg: promote churn v1 to Staging",
        "minireg: register churn v1",
    ]
    # rebuild commits the regenerated ledger (a spreadsheet had broken the committed one).
    (repo / "registry" / "ledger.csv").write_text("model,version\n")
    git(repo, "commit", "-q", "-am", "a spreadsheet saved over the ledger")
    before = _count(repo)
    assert run_cli("rebuild", "--commit").exit_code == 0
    assert _count(repo) == before + 1
    assert _files_in_head(repo) == {"registry/ledger.csv"}


def test_commit_refuses_when_other_changes_are_staged(repo: Path, artifact: Path) -> None:
    _setup(repo, artifact)
    assert run_cli("register", "churn", str(artifact), "--commit").exit_code == 0
    (repo / "train.py").write_text("print('changed')\n")
    git(repo, "add", "train.py")
    index = (repo / ".git" / "index").read_bytes()
    head = git(repo, "rev-parse", "HEAD")
    before = tree_digest(repo / "registry")
    other = repo / "other.pkl"
    other.write_bytes(b"another model\n")
    for args in (
        ["register", "churn", str(other), "--commit"],
        ["promote", "churn", "1", "--to", "Staging", "--commit"],
    ):
        res = run_cli(*args)
        assert res.exit_code == 4, res.stderr
        assert res.stderr.strip() == (
            "error: Other changes are already staged in git (train.py); commit or unstage "
            "them first, or run without --commit."
        )
        assert tree_digest(repo / "registry") == before
        assert (repo / ".git" / "index").read_bytes() == index
        assert git(repo, "rev-parse", "HEAD") == head
        assert git(repo, "diff", "--cached", "--name-only") == "train.py"


def test_commit_outside_git_is_refused(tmp_path: Path, monkeypatch: object) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    reg = minireg.init_registry(folder / "registry")
    model = folder / "m.pkl"
    model.write_bytes(b"m\n")
    before = tree_digest(reg.root)
    res = run_cli("register", "churn", str(model), "--registry", str(reg.root), "--commit")
    assert res.exit_code == 4
    assert "is not inside a git repository; run without --commit." in res.stderr
    assert tree_digest(reg.root) == before


def test_commit_true_in_settings_is_the_default(repo: Path, artifact: Path) -> None:
    _setup(repo, artifact)
    toml = repo / "registry" / "minireg.toml"
    toml.write_text(toml.read_text().replace("commit = false", "commit = true"))
    git(repo, "commit", "-q", "-am", "commit by default")
    before = _count(repo)
    assert run_cli("register", "churn", str(artifact)).exit_code == 0
    assert _count(repo) == before + 1
    assert run_cli("promote", "churn", "1", "--to", "Staging", "--no-commit").exit_code == 0
    assert _count(repo) == before + 1
    assert git(repo, "status", "--porcelain", "--", "registry") != ""


def test_pre_commit_hook_running_verify_does_not_deadlock(repo: Path, artifact: Path) -> None:
    """The README's hook: `minireg verify` runs while minireg --commit holds the lock."""
    _setup(repo, artifact)
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.parent.mkdir(exist_ok=True)
    marker = repo.parent / "hook-ran"
    hook.write_text(f"#!/bin/sh\n{sys.executable} -m minireg verify && echo ok > {marker}\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    res = run_proc(
        "register", "churn", str(artifact), "--commit", env={"MINIREG_LOCK_TIMEOUT": "3"}
    )
    assert res.returncode == 0, res.stderr
    assert marker.read_text() == "ok\n"  # the hook's verify ran and passed
    assert git(repo, "log", "-1", "--format=%s") == "minireg: register churn v1"
    # A hook that fails stops the commit; the registry stays written and says so.
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
    res = run_proc("promote", "churn", "1", "--to", "Staging", "--commit")
    assert res.returncode == 9  # the environment refused, not a bug; the change stands
    assert "The registry was written but the git commit failed" in res.stderr
    assert "Traceback" not in res.stderr
    assert os.environ.get("MINIREG_LOCK_HELD") is None


def test_commit_takes_only_the_objects_of_its_own_registration(repo: Path, artifact: Path) -> None:
    _setup(repo, artifact)
    reg = minireg.open_registry()
    # An object another writer stored before taking the lock: not ours to commit.
    stray = reg.storage.objects.put_bytes(b"stored by a registration still in flight\n")
    folder = repo / "model_dir"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"weights\n")
    res = run_cli("register", "churn", str(folder), "--requirements", str(artifact), "--commit")
    assert res.exit_code == 0, res.stderr
    rec = reg.get("churn", 1)
    files = _files_in_head(repo)
    wanted = {rec.artifact_sha256, rec.requirements_sha256}
    wanted |= {str(e["sha256"]) for e in reg.storage.objects.read_manifest(rec.artifact_sha256)}
    assert files == {"registry/events.jsonl", "registry/ledger.csv"} | {
        f"registry/objects/sha256/{d[:2]}/{d[2:]}" for d in wanted
    }
    left = git(repo, "status", "--porcelain", "--untracked-files=all", "--", "registry")
    assert left == f"?? registry/objects/sha256/{stray[:2]}/{stray[2:]}"


def test_convert_commit_records_the_format_switch(repo: Path, artifact: Path) -> None:
    _setup(repo, artifact)
    assert run_cli("register", "churn", str(artifact), "--commit").exit_code == 0
    before = _count(repo)
    res = run_cli("convert", "--to", "xlsx", "--commit")
    assert res.exit_code == 0, res.stderr
    assert _count(repo) == before + 1
    assert git(repo, "log", "-1", "--format=%s") == "minireg: convert the ledger to xlsx"
    assert _files_in_head(repo) == {
        "registry/ledger.csv",
        "registry/ledger.xlsx",
        "registry/minireg.toml",
    }
    assert git(repo, "status", "--porcelain", "--", "registry") == ""


def test_concurrent_commits_each_make_their_own_commit(repo: Path, artifact: Path) -> None:
    import subprocess

    _setup(repo, artifact)
    before = _count(repo)
    procs = []
    for n in range(4):
        model = repo / f"m{n}.pkl"
        model.write_bytes(f"model {n}\n".encode())
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "minireg", "register", "churn", str(model), "--commit"],
                cwd=repo,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        _out, errs = proc.communicate(timeout=120)
        assert proc.returncode == 0, errs
    assert _count(repo) == before + 4
    subjects = sorted(git(repo, "log", "-4", "--format=%s").splitlines())
    assert subjects == [f"minireg: register churn v{n}" for n in (1, 2, 3, 4)]
    assert git(repo, "status", "--porcelain", "--", "registry") == ""
    assert run_proc("verify", "--against-git").returncode == 0


def test_every_write_command_offers_commit() -> None:
    writes = [
        ["register"],
        ["promote"],
        ["transition"],
        ["alias", "set"],
        ["alias", "delete"],
        ["describe"],
        ["tag"],
        ["rebuild"],
        ["convert"],
        ["gc"],
    ]
    for args in writes:
        res = run_cli(*args, "--help")
        assert res.exit_code == 0, args
        assert "--commit" in res.stdout and "--no-commit" in res.stdout, args
