"""Shared fixtures: an isolated HOME and git config, temp git repos, registries, CLI runs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import minireg
from minireg.cli import app

# Remotes for objects (an S3 API server on 127.0.0.1, a shared folder) for any test asking.
from tests.support.remotes import moto_server, remote  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True, scope="session")
def _isolated_git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One HOME with its own gitconfig for the whole run; no system or developer config leaks in."""
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text(
        "[user]\n\tname = Test User\n\temail = tester@example.com\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n"
    )
    saved = {
        k: os.environ.get(k)
        for k in (
            "HOME",
            "GIT_CONFIG_NOSYSTEM",
            "MINIREG_REGISTRY",
            "MINIREG_ACTOR",
            "XDG_CONFIG_HOME",
            "MINIREG_LOCK_TIMEOUT",
        )
    }
    os.environ["HOME"] = str(home)
    os.environ["XDG_CONFIG_HOME"] = str(home / ".config")
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    for key in ("MINIREG_REGISTRY", "MINIREG_ACTOR", "MINIREG_LOCK_TIMEOUT"):
        os.environ.pop(key, None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` and return its stdout; fail the test on error."""
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert out.returncode == 0, f"git {' '.join(args)} failed: {out.stderr}"
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real git repository with one commit; the current folder for the test."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    (path / "train.py").write_text("print('training')\n")
    git(path, "add", "train.py")
    git(path, "commit", "-q", "-m", "initial")
    monkeypatch.chdir(path)
    return path


@pytest.fixture
def reg(repo: Path) -> minireg.Registry:
    """A fresh registry at ``repo/registry``."""
    registry = minireg.init_registry(repo / "registry")
    assert registry.created
    return registry


@pytest.fixture
def artifact(repo: Path) -> Path:
    """A small model file."""
    path = repo / "model.pkl"
    path.write_bytes(b"not really a model, but bytes to store\n")
    return path


def tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, to prove nothing changed.

    The lock file and ``.cache/`` (git-ignored, derived: reads may fill it) are left aside.
    """
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != ".minireg.lock" and p.relative_to(root).parts[0] != ".cache"
    }


class Result:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.exit_code = code
        self.stdout = stdout
        self.stderr = stderr


def run_cli(*args: str) -> Result:
    """Run the Typer app in-process with CliRunner; stdout and stderr apart."""
    runner = CliRunner()
    res = runner.invoke(app, list(args), catch_exceptions=False)
    return Result(res.exit_code, res.stdout, res.stderr)


def run_proc(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m minireg`` in a real subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "minireg", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )
