"""The only module that imports GitPython: commit, branch and dirty state of the code."""

from __future__ import annotations

import getpass
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from minireg.errors import InvalidInput


@dataclass(frozen=True)
class GitInfo:
    """Where the code came from; empty fields and a ``note`` when that is unknown."""

    commit: str = ""
    branch: str = ""
    dirty: bool | None = None
    note: str = ""


def find_git_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``.git`` (no git process needed)."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def describe(code_dir: Path, exclude: Path | None = None) -> GitInfo:
    """Commit, branch (empty when detached) and dirty flag of the repo holding ``code_dir``.

    ``exclude`` (the registry folder) does not count toward dirtiness: registering
    changes the registry itself, which would otherwise make every next version dirty.
    Outside a repository the fields stay empty and ``note`` says why.
    """
    if find_git_root(code_dir) is None:
        return GitInfo(note=f"{code_dir} is not inside a git repository; git fields are empty.")
    try:
        import git
    except ImportError as exc:
        return GitInfo(note=f"git is not usable here ({exc}); git fields are empty.")
    try:
        repo = git.Repo(code_dir, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return GitInfo(note=f"{code_dir} is not inside a git repository; git fields are empty.")
    with repo:
        try:
            commit = repo.head.commit.hexsha
        except ValueError:
            return GitInfo(
                note=f"the git repository at {repo.working_dir} has no commits yet; "
                "git fields are empty."
            )
        try:
            branch = repo.active_branch.name
        except TypeError:
            branch = ""  # detached HEAD, as in most CI checkouts
        args = ["--porcelain", "--untracked-files=no", "--", "."]
        if exclude is not None and repo.working_dir:
            try:
                rel = exclude.resolve().relative_to(Path(repo.working_dir).resolve())
                args.append(f":(exclude){rel.as_posix()}")
            except ValueError:
                pass
        try:
            status = repo.git.execute(["git", "-C", str(repo.working_dir), "status", *args])
        except git.GitCommandError as exc:
            raise InvalidInput(
                f"git status failed in {repo.working_dir}: {exc.stderr.strip()}"
            ) from exc
        dirty = bool(str(status).strip())
        return GitInfo(commit=commit, branch=branch, dirty=dirty)


def current_actor(cwd: Path | None = None) -> str:
    """Who is acting: ``MINIREG_ACTOR``, else git's ``user.email``, else the OS user."""
    actor = os.environ.get("MINIREG_ACTOR", "").strip()
    if actor:
        return actor
    try:
        out = subprocess.run(
            ["git", "config", "--get", "user.email"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        email = out.stdout.strip()
        if out.returncode == 0 and email:
            return email
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
