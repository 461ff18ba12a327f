"""``minireg remote migrate``'s git side: stop tracking ``objects/`` and commit that.

The objects stay in the working tree (a git-ignored local cache from then on);
the index forgets them (``git rm -r --cached``), and the registry's
``.gitignore`` (its ``/objects/`` line) and ``minireg.toml`` (its remote) go in
the same commit, whose message says what moved where. The commit carries the
audit-head trailer like every minireg commit, so ``verify --against-git`` keeps
working. Earlier commits keep their objects: shrinking the history is a rewrite
(``git filter-repo``) minireg leaves to its users.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from minireg.adapters.git.commit import (
    LOCK_HELD_ENV,
    TRAILER,
    GitError,
    open_repo,
    run_git,
    staged_paths,
)
from minireg.adapters.git.info import find_git_root
from minireg.errors import Refused

_WAY_OUT = "nothing was changed; commit or unstage them first"


@dataclass
class Untracked:
    """What the git side did: files git stopped tracking, and the commit (sha "" if none)."""

    in_git: bool = False
    untracked: int = 0
    sha: str = ""
    subject: str = ""


def check_ready(root: Path) -> bool:
    """Refuse before anything is uploaded when a commit could not be made; False outside git.

    Raises:
        Refused: other changes are staged, or git has no author identity.
    """
    if find_git_root(root) is None:
        return False
    repo = open_repo(root)
    with repo:
        staged = staged_paths(repo)
        if staged:
            shown = ", ".join(staged[:3]) + (f" and {len(staged) - 3} more" if staged[3:] else "")
            raise Refused(f"Other changes are already staged in git ({shown}); {_WAY_OUT}.")
        try:
            run_git(repo, "var", "GIT_AUTHOR_IDENT")
        except GitError as exc:
            raise Refused(
                "git has no author identity; set user.name and user.email "
                "(git config user.email you@example.com); nothing was changed."
            ) from exc
    return True


def untrack_objects(root: Path, subject: str, body: str, head: str) -> Untracked:
    """Remove ``root/objects`` from git's index and commit it with the settings files.

    ``head`` is the audit head for the commit's trailer. Nothing to change (a
    second run): no commit. Outside a git repository: nothing at all.

    Raises:
        Refused: other changes are staged, or git has no author identity.
        GitError: a git command failed.
    """
    if not check_ready(root):
        return Untracked()
    repo = open_repo(root)
    with repo:
        top = Path(str(repo.working_dir)).resolve()
        rel = root.resolve().relative_to(top).as_posix()
        objects = f"{rel}/objects" if rel != "." else "objects"
        env = {"GIT_LITERAL_PATHSPECS": "1"}
        listed = run_git(repo, "ls-files", "-z", "--", objects, env=env).split("\0")
        tracked = [p for p in listed if p]
        run_git(repo, "rm", "-r", "-q", "--cached", "--ignore-unmatch", "--", objects, env=env)
        settings = [f"{rel}/{name}" for name in (".gitignore", "minireg.toml")]
        run_git(repo, "add", "--", *[p for p in settings if (top / p).exists()], env=env)
        done = Untracked(in_git=True, untracked=len(tracked))
        if not staged_paths(repo):
            return done
        note = root / f".tmp-{os.getpid()}-commit-message"  # the registry's .gitignore covers it
        note.write_text(f"{subject}\n\n{body}\n\n{TRAILER}: {head}\n", encoding="utf-8")
        try:
            held = {LOCK_HELD_ENV: str(root.resolve())}  # a pre-commit verify must not wait
            run_git(repo, "commit", "-q", "-F", str(note.resolve()), env=held)
        finally:
            note.unlink(missing_ok=True)
        done.sha, done.subject = run_git(repo, "rev-parse", "HEAD").strip(), subject
    return done
