"""The README's CI job: promote with --commit in a shallow clone, push, retry with pull --rebase."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import ROOT, git, run_proc


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


def _readme_loop() -> str:
    """The push/retry loop of the README's CI job, as the job's shell runs it."""
    text = (ROOT / "README.md").read_text()
    job = text.split("# .github/workflows/promote.yml", 1)[1].split("```", 1)[0]
    lines = job.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("for attempt"))
    end = next(i for i in range(start, len(lines)) if lines[i].strip() == "exit 1")
    return textwrap.dedent("\n".join(lines[start : end + 1])) + "\n"


def test_readme_loop_lands_while_a_colleague_keeps_pushing(repo: Path, tmp_path: Path) -> None:
    """The README's loop, run by bash: twice a colleague's registration lands between our
    fetch and our push, so our registration is rebased twice before it lands."""
    _ok(repo, "init")
    git(repo, "add", "registry")
    git(repo, "commit", "-q", "-m", "registry")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(remote))
    ci, dev = tmp_path / "ci", tmp_path / "dev"
    for clone in (ci, dev):
        git(tmp_path, "clone", "-q", f"file://{remote}", str(clone))
        _ok(clone, "install-merge-driver")
    (tmp_path / "ci.bin").write_bytes(b"trained in CI\n")
    _ok(
        ci,
        "register",
        "churn",
        str(tmp_path / "ci.bin"),
        "--requirements",
        str(tmp_path / "ci.bin"),
        "--commit",
    )
    _ok(ci, "promote", "churn", "1", "--to", "Staging", "--commit")

    # The colleague pushes from CI's pre-push hook: after CI read the remote, before it
    # updates it, as a real race would. Twice; then CI's push goes through.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "minireg"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m minireg "$@"\n')
    shim.chmod(0o755)
    hook = ci / ".git" / "hooks" / "pre-push"
    hook.write_text(
        "#!/bin/sh\n"
        "unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE\n"
        f"count={shlex.quote(str(tmp_path / 'count'))}\n"
        'n=$(cat "$count" 2>/dev/null || echo 0)\n'
        '[ "$n" -ge 2 ] && exit 0\n'
        'echo $((n + 1)) > "$count"\n'
        f"cd {shlex.quote(str(dev))} || exit 1\n"
        "git pull -q --rebase origin main || exit 1\n"
        'printf "dev model %s\\n" "$n" > ../dev.bin\n'
        "minireg register churn ../dev.bin --requirements ../dev.bin --commit >/dev/null\n"
        "git push -q origin HEAD:main\n"
    )
    hook.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    loop = subprocess.run(
        ["bash", "-e", "-c", _readme_loop()], cwd=ci, env=env, capture_output=True, text=True
    )
    assert loop.returncode == 0, loop.stdout + loop.stderr
    assert (tmp_path / "count").read_text().strip() == "2"

    git(dev, "pull", "-q", "--ff-only", "origin", "main")
    listed = json.loads(_ok(dev, "list", "--json"))
    # The colleague's two registrations were published first and keep 1 and 2; ours is 3.
    assert [(v["version"], v["stage"]) for v in listed] == [
        (1, "None"),
        (2, "None"),
        (3, "Staging"),
    ]
    _ok(dev, "verify", "--against-git")
