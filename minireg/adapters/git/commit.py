"""The git side of the git-native workflow: --commit, the audit-head trailer, merge state.

GitPython is imported inside the functions (importing ``git`` runs ``git version``).
Plain reads that need no git (``list``, ``show``, ``path``) never come here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from minireg.adapters.git.info import find_git_root
from minireg.domain.merge import known_hashes
from minireg.domain.records import Event
from minireg.errors import MiniregError, NotFound, Refused

if TYPE_CHECKING:
    from git import Repo

    from minireg.service.writer import AfterWrite
    from minireg.storage import Storage
    from minireg.storage.objects import ObjectStore

TRAILER = "Minireg-Audit-Head"
_TRAILER_RE = re.compile(rf"^{TRAILER}:\s*([0-9a-f]{{64}})\s*$", re.MULTILINE)
CONFLICT_NOTE = "minireg-merge-conflict.txt"
"""Inside the git dir: why the merge driver refused, for ``minireg verify`` to repeat."""
LOCK_HELD_ENV = "MINIREG_LOCK_HELD"
"""Set for the ``git commit`` child: a pre-commit hook's ``minireg verify`` must not wait
for the registry lock that the committing minireg process holds (and cannot release)."""


class GitError(MiniregError):
    """A git command failed (exit 9, the environment): the message names the command, git's
    words and, after a write, that the change WAS recorded."""

    exit_code = 9


def open_repo(path: Path, way_out: str = "run without --commit") -> Repo:
    """The git repository holding ``path``.

    Raises:
        Refused: ``path`` is not inside a git repository, or git is not usable.
    """
    if find_git_root(path) is None:
        raise Refused(f"{path} is not inside a git repository; {way_out}.")
    try:
        import git
    except ImportError as exc:
        raise Refused(f"git is not usable here ({exc}); {way_out}.") from exc
    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise Refused(f"{path} is not inside a git repository; {way_out}.") from exc


def run_git(repo: Repo, *args: str, env: dict[str, str] | None = None) -> str:
    """Run one git command in ``repo``; a failure becomes :class:`GitError`."""
    return _run(repo, *args, env=env)


def _run(repo: Repo, *args: str, env: dict[str, str] | None = None) -> str:
    import git

    try:
        out = repo.git.execute(
            ["git", "-C", str(repo.working_dir), *args],
            env=env,
            strip_newline_in_stdout=False,
        )
    except git.GitCommandError as exc:
        stderr = str(exc.stderr or "").strip().replace("\n", " ")
        raise GitError(f"git {args[0]} failed: {stderr or exc}") from exc
    return str(out)


def _rel(repo: Repo, path: Path) -> str:
    return path.resolve().relative_to(Path(str(repo.working_dir)).resolve()).as_posix()


def _status_paths(repo: Repo, root: Path) -> dict[str, tuple[int, int] | None]:
    """Registry paths that differ from HEAD (or are new), with (size, mtime_ns) or None if gone."""
    # --no-optional-locks: a status never takes index.lock away from a concurrent commit.
    out = _run(
        repo,
        "--no-optional-locks",
        "-c",
        "core.quotepath=off",
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--",
        _rel(repo, root),
    )
    found: dict[str, tuple[int, int] | None] = {}
    top = Path(str(repo.working_dir))
    for entry in out.split("\0"):
        if len(entry) < 4:
            continue
        rel = entry[3:]
        try:
            st = (top / rel).stat()
            found[rel] = (st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            found[rel] = None
    return found


def staged_paths(repo: Repo) -> list[str]:
    """Paths whose changes are staged in the index now."""
    out = _run(repo, "-c", "core.quotepath=off", "diff", "--cached", "--name-only", "-z")
    return [p for p in out.split("\0") if p]


def event_subject(events: list[Event]) -> str:
    """A commit subject for what a write did, e.g. ``minireg: promote churn v7 to Production``."""
    if not events:
        return "minireg: update the registry"
    main = events[-1]
    where = f"{main.model} v{main.version}"
    data = main.data
    if main.action == "register":
        if len(events) > 1:  # a batch: only registrations
            return f"minireg: register {len(events)} versions"
        return f"minireg: register {where}"
    if main.action == "transition":
        text = f"minireg: promote {where} to {data.get('to')}"
        if main.approver:
            text += f" (approver {main.approver})"
        return text
    if main.action == "alias_set":
        return f"minireg: set alias {main.model}@{data.get('alias')} to v{main.version}"
    if main.action == "alias_delete":
        return f"minireg: delete alias {main.model}@{data.get('alias')}"
    if main.action == "describe":
        return f"minireg: describe {where}"
    if main.action == "tag":
        value = data.get("value")
        if value is None:
            return f"minireg: remove tag {data.get('key')} from {where}"
        return f"minireg: tag {where} {data.get('key')}={value}"
    return f"minireg: {main.action} {where}"


def _body(events: list[Event]) -> str:
    lines = []
    for event in events:
        line = f"- {event.action} {event.model} v{event.version}"
        if event.action == "transition":
            line += f": {event.data.get('from')} -> {event.data.get('to')}"
        if event.reason:
            line += f" ({event.reason})"
        lines.append(line)
    return "\n".join(lines)


@dataclass
class CommitOutcome:
    """What ``--commit`` did: the commit made (empty when nothing changed) and its subject."""

    sha: str = ""
    subject: str = ""
    paths: list[str] = field(default_factory=list)


def _commit_changes(
    repo: Repo,
    root: Path,
    before: dict[str, tuple[int, int] | None],
    subject: str,
    body: str,
    head: Event | None,
    objects: set[str] | None = None,
) -> CommitOutcome:
    after = _status_paths(repo, root)
    changed = sorted(path for path, stat in after.items() if before.get(path, ()) != stat)
    if objects is not None:
        # Objects another writer stored meanwhile (before taking the lock) are its to commit.
        prefix = _rel(repo, root / "objects") + "/"
        changed = [p for p in changed if not p.startswith(prefix) or p in objects]
    if not changed:
        return CommitOutcome()
    env = {"GIT_LITERAL_PATHSPECS": "1"}
    for start in range(0, len(changed), 500):
        _run(repo, "add", "-A", "--", *changed[start : start + 500], env=env)
    message = subject + "\n"
    if body:
        message += "\n" + body + "\n"
    message += f"\n{TRAILER}: {head.hash if head else '0' * 64}\n"
    note = root / f".tmp-{os.getpid()}-commit-message"
    # A temp name the registry's .gitignore covers, so it never shows up in the commit.
    note.write_text(message, encoding="utf-8")
    try:
        _run(
            repo,
            "commit",
            "-q",
            "-F",
            str(note.resolve()),
            env={LOCK_HELD_ENV: str(root.resolve())},
        )
    finally:
        note.unlink(missing_ok=True)
    sha = _run(repo, "rev-parse", "HEAD").strip()
    return CommitOutcome(sha=sha, subject=subject, paths=changed)


def _object_paths(repo: Repo, objects: ObjectStore, events: list[Event]) -> set[str]:
    """The object files the register events among ``events`` stored."""
    paths: set[str] = set()
    for event in events:
        if event.action != "register":
            continue
        digests = [str(event.data.get(k) or "") for k in ("artifact_sha256", "requirements_sha256")]
        if str(event.data.get("artifact", "")).endswith("/") and objects.has(digests[0]):
            digests += [str(e["sha256"]) for e in objects.read_manifest(digests[0])]
        paths.update(_rel(repo, objects.path(d)) for d in digests if d)
    return paths


def _refuse_unready(repo: Repo) -> None:
    staged = staged_paths(repo)
    if staged:
        shown = ", ".join(staged[:3]) + (f" and {len(staged) - 3} more" if len(staged) > 3 else "")
        raise Refused(
            f"Other changes are already staged in git ({shown}); commit or unstage them "
            "first, or run without --commit."
        )
    try:
        _run(repo, "var", "GIT_AUTHOR_IDENT")
    except GitError as exc:
        raise Refused(
            "git has no author identity; set user.name and user.email "
            "(git config user.email you@example.com), or run without --commit."
        ) from exc


@contextmanager
def commit_hook(
    root: Path, storage: Storage, message: str = ""
) -> Iterator[tuple[AfterWrite, CommitOutcome]]:
    """A hook that commits the registry files a write changed, and the outcome it fills.

    Before anything is written it refuses when other changes are already staged
    (the index stays as it is) or when git has no author identity. The service
    runs the hook under the registry lock, right after the write
    (:meth:`minireg.Registry.committing`), so concurrent writers commit in turn.
    It never pushes.

    Raises:
        Refused: not in a git repository, changes already staged, or no git identity.
    """
    outcome = CommitOutcome()
    repo = open_repo(root)
    with repo:
        # Under the lock: another minireg --commit stages and commits while holding it,
        # so its staged files are never mistaken for someone else's changes.
        with storage.lock():
            _refuse_unready(repo)
        before = _status_paths(repo, root)

        def after_write(events: list[Event], head: Event | None, text: str) -> None:
            subject = text or message or event_subject(events)
            if staged_paths(repo):
                raise GitError(
                    "The registry was written but other changes were staged in git meanwhile, "
                    "so no commit was made; commit the registry folder by hand."
                )
            objects = _object_paths(repo, storage.objects, events) if events else None
            try:
                done = _commit_changes(repo, root, before, subject, _body(events), head, objects)
            except GitError as exc:
                raise GitError(
                    f"The registry was written but the git commit failed ({exc.message}); "
                    "commit the registry folder by hand."
                ) from exc
            outcome.sha, outcome.subject, outcome.paths = done.sha, done.subject, done.paths

        yield after_write, outcome


# -- verify ------------------------------------------------------------------


def git_dir_of(top: Path) -> Path | None:
    dot = top / ".git"
    if dot.is_dir():
        return dot
    if dot.is_file():
        text = dot.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            found = Path(text.split(":", 1)[1].strip())
            return found if found.is_absolute() else (top / found)
    return None


def _merging(git_dir: Path) -> bool:
    return any(
        (git_dir / name).exists()
        for name in (
            "MERGE_HEAD",
            "CHERRY_PICK_HEAD",
            "REVERT_HEAD",
            "rebase-merge",
            "rebase-apply",
        )
    )


def git_problems(root: Path, events: list[Event], *, against_git: bool = False) -> list[str]:
    """What git knows that the files cannot show: an unfinished merge, a cut-off trail.

    Outside a git repository there is nothing to add (and ``against_git`` is refused).

    Raises:
        NotFound: ``against_git`` and there is no git repository or minireg commit.
    """
    top = find_git_root(root)
    problems: list[str] = []
    if top is None:
        if against_git:
            raise NotFound(f"{root} is not inside a git repository; drop --against-git.")
        return problems
    git_dir = git_dir_of(top)
    if git_dir is not None and _merging(git_dir):
        problems.extend(_conflict_problems(root, git_dir))
    if against_git:
        problems.extend(_audit_head_problems(root, events))
    return problems


def _conflict_problems(root: Path, git_dir: Path) -> list[str]:
    repo = open_repo(root)
    with repo:
        out = _run(repo, "-c", "core.quotepath=off", "ls-files", "-u", "-z", "--", _rel(repo, root))
        head = _run(repo, "rev-parse", "--verify", "-q", "HEAD").strip()
    unmerged = sorted({entry.split("\t", 1)[1] for entry in out.split("\0") if "\t" in entry})
    if not unmerged:
        return []
    problems = []
    for path in unmerged:
        if path.endswith("/events.jsonl") or path == "events.jsonl":
            problems.append(
                f"{path}: unresolved git merge conflict; keep one branch's events (git checkout "
                f"--ours {path}), redo the other branch's changes with minireg, run "
                "`minireg rebuild`, then `git add` the registry"
            )
        else:
            problems.append(
                f"{path}: unresolved git merge conflict; once the events are resolved run "
                "`minireg rebuild`, then `git add` it"
            )
    problems.extend(
        f"the merge driver stopped: {reason}" for reason in driver_reasons(git_dir, head)
    )
    return problems


def driver_reasons(git_dir: Path, head: str) -> list[str]:
    """Why the merge driver refused in the merge under way at ``head`` (each reason once)."""
    note = git_dir / CONFLICT_NOTE
    if not note.is_file():
        return []
    lines = note.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] != f"HEAD {head}":
        return []  # left by an earlier merge
    reasons: list[str] = []
    for line in lines[1:]:
        reason = line.split(": ", 1)[1] if ": " in line else line
        if reason.strip() and reason not in reasons:
            reasons.append(reason)
    return reasons


def last_audit_head(root: Path) -> tuple[str, str, str] | None:
    """(commit, subject, audit head) of the newest commit with a minireg trailer, or None."""
    repo = open_repo(root)
    with repo:
        try:
            _run(repo, "rev-parse", "--verify", "-q", "HEAD^{commit}")
        except GitError:
            return None  # no commit yet (an unborn branch): no minireg commit either
        out = _run(
            repo,
            "log",
            "-n",
            "1",
            "--format=%H%x00%s%x00%B",
            f"--grep=^{TRAILER}: ",
            "--",
            _rel(repo, root),
        )
    if not out.strip():
        return None
    sha, subject, body = out.split("\0", 2)
    heads = _TRAILER_RE.findall(body)
    if not heads:
        return None
    return sha.strip(), subject, heads[-1]


def _audit_head_problems(root: Path, events: list[Event]) -> list[str]:
    found = last_audit_head(root)
    if found is None:
        raise NotFound(
            f"No commit with a {TRAILER} trailer touches {root} in the git history; make "
            "writes with --commit (in a shallow clone, fetch more history)."
        )
    sha, subject, head = found
    if head == "0" * 64 and not events:
        return []
    if head in known_hashes(events):
        return []
    return [
        f"events.jsonl lacks audit head {head[:12]} recorded by commit {sha[:12]} "
        f"({subject!r}): events were cut off or replaced; restore the file with "
        f"`git checkout {sha[:12]} -- {root.as_posix()}/events.jsonl` and run `minireg rebuild`"
    ]
