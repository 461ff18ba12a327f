"""Git facts about the code: commit, branch, dirty state, actor (git CLI; no GitPython here)."""

from __future__ import annotations

import getpass
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from minireg.domain.names import check_person
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

    One ``git status --porcelain=v2 --branch`` answers all three. It runs git
    directly rather than through GitPython: importing ``git`` starts a
    ``git version`` process and cost a ``register`` more than the status itself.
    """
    root = find_git_root(code_dir)
    if root is None:
        return GitInfo(note=f"{code_dir} is not inside a git repository; git fields are empty.")
    args = _status_args(root, exclude)
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return GitInfo(note=f"git is not usable here ({exc}); git fields are empty.")
    if out.returncode != 0:
        if "not a git repository" in out.stderr:
            return GitInfo(note=f"{code_dir} is not inside a git repository; git fields are empty.")
        raise InvalidInput(f"git status failed in {root}: {out.stderr.strip()}")
    return _parse_status(out.stdout, root)


def _status_args(root: Path, exclude: Path | None) -> list[str]:
    # --no-optional-locks: never hold index.lock while a concurrent `--commit` stages files.
    args = ["git", "-C", str(root), "--no-optional-locks", "status", "--porcelain=v2", "--branch"]
    args += ["--untracked-files=no", "--", "."]
    if exclude is not None:
        try:
            rel = exclude.resolve().relative_to(root.resolve())
        except ValueError:
            return args
        if rel.parts:
            args.append(f":(exclude){rel.as_posix()}")
    return args


def _parse_status(text: str, root: Path) -> GitInfo:
    """Commit, branch and dirty flag from ``git status --porcelain=v2 --branch``."""
    commit = branch = ""
    dirty = False
    for line in text.splitlines():
        if line.startswith("# branch.oid "):
            commit = line[len("# branch.oid ") :]
        elif line.startswith("# branch.head "):
            branch = line[len("# branch.head ") :]
        elif line and not line.startswith("#"):
            dirty = True
    if commit in ("", "(initial)"):
        return GitInfo(
            note=f"the git repository at {root} has no commits yet; git fields are empty."
        )
    if branch == "(detached)":
        branch = ""  # detached HEAD, as in most CI checkouts
    return GitInfo(commit=commit, branch=branch, dirty=dirty)


def current_actor(cwd: Path | None = None) -> str:
    """Who is acting: ``MINIREG_ACTOR``, else git's ``user.email``, else the OS user.

    Raises:
        InvalidInput: the name holds a control character (a newline, say).
    """
    actor = os.environ.get("MINIREG_ACTOR", "").strip()
    if actor:
        return check_person("actor (MINIREG_ACTOR)", actor)
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
            return check_person("actor (git's user.email)", email)
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
