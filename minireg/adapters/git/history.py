"""Every event any branch ever held: the registry's trail across the whole git history.

``gc --remote`` may delete an object only when no commit of any branch (local or
remote-tracking, tags and stashes too) needs it, nor any working tree of the
repository. Reading ``events.jsonl`` at every commit would cost the trail's size
times the number of commits; instead one ``git log --all -p`` lists the lines
each commit that changed the trail added. Every line of every version of the file
was added by some commit (against one of its parents, merges included with
``--diff-merges=separate``), so the union of the added lines is every event any
commit holds, read in one pass over the diffs.

Plain ``git`` processes (no GitPython): this runs once per ``gc --remote``.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from minireg.adapters.git.info import find_git_root
from minireg.errors import Unsafe


@dataclass
class TrailHistory:
    """The event lines found across the history, and where they were looked for."""

    lines: set[str] = field(default_factory=set)
    commits: int = 0
    """Commits that changed the trail, on any ref."""
    worktrees: int = 0
    """Working trees whose uncommitted trail was read too."""
    in_git: bool = False
    """False: the registry is not in a git repository; only its own trail counts."""


def _git(root: Path, *args: str) -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise Unsafe(
            f"git is not usable here ({exc}), so it cannot be told which objects other "
            "branches need; nothing was deleted."
        ) from exc
    if out.returncode != 0:
        raise Unsafe(
            f"git {args[0]} failed ({out.stderr.strip()}), so it cannot be told which objects "
            "other branches need; nothing was deleted."
        )
    return out.stdout


def trail_history(root: Path, name: str = "events.jsonl") -> TrailHistory:
    """Every event line of the trail ``root/name`` on any ref and in any working tree.

    Raises:
        Unsafe: the clone is shallow (older commits are not here to read), or git fails.
    """
    found = TrailHistory()
    if find_git_root(root) is None:
        return found
    found.in_git = True
    if _git(root, "rev-parse", "--is-shallow-repository").strip() == "true":
        raise Unsafe(
            "This clone is shallow, so the commits that are not here may need objects; "
            "fetch the whole history (git fetch --unshallow) first. Nothing was deleted."
        )
    top = Path(_git(root, "rev-parse", "--show-toplevel").strip())
    rel = (root.resolve() / name).relative_to(top.resolve()).as_posix()
    found.commits = _added_lines(top, rel, found.lines)
    for tree in _worktrees(top):
        path = tree / rel
        if path.is_file():
            found.worktrees += 1
            found.lines.update(_event_lines(path.read_bytes()))
    return found


def _added_lines(top: Path, rel: str, lines: set[str]) -> int:
    """Add to ``lines`` every event line a commit of any ref added to ``rel``; the commits."""
    args = [
        "git",
        "-C",
        str(top),
        "-c",
        "core.quotepath=off",
        "log",
        "--all",
        "--full-history",
        "--diff-merges=separate",
        "--no-renames",
        "--no-ext-diff",
        "--no-textconv",
        "--text",
        "-p",
        "-U0",
        "--format=%x00%H",
        "--",
        rel,
    ]
    commits: set[str] = set()
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            if raw.startswith(b"\0"):
                commits.add(raw[1:].strip().decode("ascii", "replace"))
            elif raw.startswith(b"+{"):
                lines.add(raw[1:].rstrip(b"\r\n").decode("utf-8", "replace"))
        error = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise Unsafe(
            f"git log failed ({error.strip()}), so it cannot be told which objects other "
            "branches need; nothing was deleted."
        )
    return len(commits)


def _worktrees(top: Path) -> list[Path]:
    out = _git(top, "worktree", "list", "--porcelain")
    prefix = "worktree "
    return [Path(line[len(prefix) :]) for line in out.splitlines() if line.startswith(prefix)]


def _event_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8", "replace")
    return [line for line in text.splitlines() if line.startswith("{")]
