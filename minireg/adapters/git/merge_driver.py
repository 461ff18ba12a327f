"""The minireg git merge driver: installing it, and what git runs for each registry file.

git runs one driver per conflicting file, with the base, ours and theirs versions
in temp files; the result goes into the ours file, and a non-zero exit makes git
report a conflict. minireg merges ``events.jsonl`` with :func:`minireg.domain.merge.merge_events`.

Which side is published (its version numbers must not change) comes from git:
during a rebase (``git pull --rebase``) "ours" is the upstream being rebased onto
and "theirs" the local commit being replayed, so ours is published. In a merge,
the published side is the one holding events of the main branch (``[git]
main_branch``, else the remote's default branch, else ``main``; its remote-tracking
ref when there is one) beyond those both sides share. When that branch cannot be
found, the driver refuses rather than guess.
``ledger.csv`` is a view of the events: its driver renders the view of the same
merged events, which it reads from the two commits being merged (git merges
``ledger.csv`` before ``events.jsonl``, so it cannot wait for that file's result).
On failure the ours file is left as it is: never conflict markers in registry files.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from minireg.adapters.git.commit import CONFLICT_NOTE, GitError, git_dir_of, open_repo, run_git
from minireg.adapters.git.info import current_actor, find_git_root
from minireg.domain.config import Config
from minireg.domain.ledger import render_csv
from minireg.domain.merge import (
    MergeResult,
    Side,
    event_lines,
    merge_events,
    moved_published,
    one_extends_the_other,
    parse_side,
    published_side,
)
from minireg.domain.records import Event
from minireg.domain.state import fold
from minireg.errors import InvalidInput
from minireg.storage.atomic import atomic_write
from minireg.storage.files import CONFIG_NAME, CSV_NAME, EVENTS_NAME

DRIVER = "minireg"
ATTRIBUTES = (f"{EVENTS_NAME} merge={DRIVER}", f"{CSV_NAME} merge={DRIVER}")


def driver_command() -> str:
    """The driver line for git config: this interpreter, so a venv's minireg is the one run."""
    return f"{shlex.quote(sys.executable)} -m minireg merge-driver %O %A %B %P"


@dataclass(frozen=True)
class Installed:
    """What ``install-merge-driver`` did."""

    config: Path
    command: str
    attributes_added: list[str]


def install_merge_driver(root: Path) -> Installed:
    """Write the minireg merge driver into the git config of the clone holding ``root``.

    git does not version ``.git/config``: every clone and CI runner runs this once.
    If the registry's ``.gitattributes`` lacks the driver's lines (a registry made
    before they existed), they are added; commit that file.

    Raises:
        Refused: ``root`` is not inside a git repository.
    """
    repo = open_repo(root, "run `git init` first")
    with repo:
        command = driver_command()
        run_git(repo, "config", "--local", f"merge.{DRIVER}.name", "minireg events and ledger")
        run_git(repo, "config", "--local", f"merge.{DRIVER}.driver", command)
        config = Path(str(repo.git_dir)) / "config"
    path = root / ".gitattributes"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    missing = [line for line in ATTRIBUTES if line not in text.splitlines()]
    if missing:
        if text and not text.endswith("\n"):
            text += "\n"
        text += "# minireg: merge events and ledger with the minireg merge driver.\n"
        text += "".join(line + "\n" for line in missing)
        atomic_write(path, text.encode("utf-8"))
    return Installed(config, command, missing)


def _config(registry: Path) -> Config:
    from minireg.storage.layout import read_config

    if (registry / CONFIG_NAME).is_file():
        return read_config(registry)
    return Config()


def _merge(top: Path, events_rel: str, ours: bytes, theirs: bytes, config: Config) -> MergeResult:
    ours_events, problems = parse_side(ours, "this branch's")
    theirs_events, more = parse_side(theirs, "the other branch's")
    if problems or more:
        return MergeResult(problems=problems + more)
    from minireg._version import TOOL

    main = _main_trail(top, events_rel, config.main_branch)
    rebasing = _rebasing(top)
    # Most often main is a prefix of one side or of both: then no need to read it all.
    in_ours, in_theirs = main.prefix_of(ours_events), main.prefix_of(theirs_events)
    published: Side | None
    if rebasing:
        published = "ours"  # the upstream being rebased onto
    elif main.lines is not None and (in_ours or in_theirs):
        published = None if in_ours and in_theirs else "ours" if in_ours else "theirs"
    elif main.lines is not None and main.events() is not None:
        published = published_side(ours_events, theirs_events, main.events() or [])
    elif one_extends_the_other(ours_events, theirs_events):
        published = None  # the longer trail keeps every event as it is
    else:
        return MergeResult(problems=[f"could not tell which side is published: {main.why}"])
    from minireg.domain.values import utc_text

    result = merge_events(
        ours_events,
        theirs_events,
        published=published,
        initial_stage=config.initial_stage,
        exclusive=config.exclusive,
        actor=current_actor(),
        time=utc_text(datetime.now(timezone.utc)),
        tool=TOOL,
    )
    if not result.ok or main.lines is None:
        return result
    # Check that no version of main got another number. When the kept trail starts with
    # main's and renumbers nothing after it, that holds by construction.
    kept, kept_has_main = (
        (theirs_events, in_theirs) if published == "theirs" else (ours_events, in_ours)
    )
    if kept_has_main and not any(
        e.action == "renumber" and not e.data.get("rewritten") for e in kept[len(main.lines) :]
    ):
        return result
    main_events = main.events()
    if main_events is None:
        return MergeResult(problems=[f"could not tell which side is published: {main.why}"])
    moved = moved_published(main_events, result.events)
    if moved:
        return MergeResult(
            problems=[
                f"{model} version {old} of {main.name} would become version {new}; "
                "published numbers never change: rebase the branch that renumbered it onto "
                f"{main.name} (git rebase {main.name}), then merge again"
                for model, old, new in moved
            ]
        )
    return result


def _rebasing(top: Path) -> bool:
    """True during a rebase: git replays commits from rebase-merge/ or rebase-apply/."""
    git_dir = git_dir_of(top)
    return git_dir is not None and any(
        (git_dir / name).is_dir() for name in ("rebase-merge", "rebase-apply")
    )


@dataclass
class _Main:
    """The main branch as this clone knows it: its trail's lines, parsed when needed."""

    name: str
    ref: str = ""
    lines: list[str] | None = None
    """None when the branch is not here."""
    why: str = ""
    _events: list[Event] | None = None

    def prefix_of(self, trail: list[Event]) -> bool:
        """True when ``trail`` starts with main's whole trail (the last hashes agree)."""
        if self.lines is None:
            return False
        if not self.lines:
            return True
        n = len(self.lines)
        if n > len(trail):
            return False
        try:
            last = json.loads(self.lines[-1]).get("hash")
        except (ValueError, AttributeError):
            return False
        return bool(trail[n - 1].hash == last)

    def events(self) -> list[Event] | None:
        """Main's events (only hashes and identities are used: main checks its own
        chain), or None when they cannot be read."""
        if self._events is None and self.lines is not None:
            try:
                self._events = [Event.from_line(line) for line in self.lines]
            except (ValueError, KeyError, TypeError):
                self.why = f"the events.jsonl of {self.ref} cannot be read; fix it first"
        return self._events


def _main_trail(top: Path, events_rel: str, configured: str) -> _Main:
    """The main branch's trail: from its remote-tracking ref when there is one (local
    commits on main are not published until pushed), else from the local branch."""
    repo = open_repo(top, "the merge driver runs inside a git repository")
    with repo:
        name = configured
        if not name:
            try:
                target = run_git(repo, "symbolic-ref", "-q", "refs/remotes/origin/HEAD").strip()
            except GitError:
                target = ""
            name = target.removeprefix("refs/remotes/origin/") if target else "main"
        try:
            remote = run_git(repo, "config", "--get", f"branch.{name}.remote").strip()
        except GitError:
            remote = ""
        refs: tuple[str, ...] = (f"refs/heads/{name}",)
        if remote != ".":
            refs = (f"refs/remotes/{remote or 'origin'}/{name}", *refs)
        for ref in refs:
            try:
                run_git(repo, "rev-parse", "--verify", "-q", f"{ref}^{{commit}}")
            except GitError:
                continue
            return _Main(name, ref, event_lines(_events_at(top, ref, events_rel)))
    looked = " and ".join(ref.split("/", 2)[2] for ref in refs)
    return _Main(
        name,
        why=f"there is no branch {name!r} here (looked for {looked}); set [git] main_branch "
        "in minireg.toml to the branch whose version numbers are published (or fetch it), "
        "then merge again",
    )


def _other_commit(top: Path) -> str | None:
    """The commit being merged in: git names it in GITHEAD_<sha> for a merge;
    a rebase lists the commit it is picking last in rebase-merge/done (the apply
    backend names it in REBASE_HEAD)."""
    for key in os.environ:
        if key.startswith("GITHEAD_") and len(key) == len("GITHEAD_") + 40:
            return key[len("GITHEAD_") :]
    git_dir = git_dir_of(top)
    done = git_dir / "rebase-merge" / "done" if git_dir else None
    if done is not None and done.is_file():
        lines = [line.split() for line in done.read_text(encoding="utf-8").splitlines()]
        picks = [parts[1] for parts in lines if len(parts) >= 2 and not parts[0].startswith("#")]
        if picks:
            return picks[-1]
    rebase_head = git_dir / "REBASE_HEAD" if git_dir else None
    if rebase_head is not None and rebase_head.is_file():
        return rebase_head.read_text(encoding="utf-8").strip() or None
    return None


def _events_at(top: Path, commit: str, rel: str) -> bytes:
    repo = open_repo(top, "the merge driver runs inside a git repository")
    with repo:
        try:
            return run_git(repo, "cat-file", "blob", f"{commit}:{rel}").encode("utf-8")
        except GitError:
            return b""  # no events file in that commit: an empty trail


def _note(top: Path, path: str, problems: list[str]) -> None:
    """Keep the driver's reasons in the git dir, for ``minireg verify`` to repeat."""
    git_dir = git_dir_of(top)
    if git_dir is None:
        return
    note = git_dir / CONFLICT_NOTE
    head = ""
    try:
        repo = open_repo(top, "")
        with repo:
            head = run_git(repo, "rev-parse", "HEAD").strip()
    except Exception:  # the note is a courtesy; never fail the driver over it
        head = ""
    lines = note.read_text(encoding="utf-8").splitlines() if note.is_file() else []
    if not lines or lines[0] != f"HEAD {head}":
        lines = [f"HEAD {head}"]
    lines += [f"{path}: {p}" for p in problems]
    note.write_text("\n".join(lines) + "\n", encoding="utf-8")


def merge_driver(
    base: Path, ours: Path, theirs: Path, path: str, cwd: Path | None = None
) -> list[str]:
    """Merge registry file ``path`` (relative to the repository top) as git's driver.

    ``ours`` receives the result. Returns the problems that stopped the merge
    (``ours`` is then left untouched); an empty list means merged.
    """
    del base  # the shared events are found by hash; see minireg.domain.merge
    top = find_git_root(cwd or Path.cwd()) or (cwd or Path.cwd())
    rel = PurePosixPath(path)
    registry = top / rel.parent
    try:
        config = _config(registry)
    except InvalidInput as exc:
        config = Config()
        del exc
    events_rel = (rel.parent / EVENTS_NAME).as_posix()
    if rel.name == EVENTS_NAME:
        result = _merge(top, events_rel, ours.read_bytes(), theirs.read_bytes(), config)
        if result.ok:
            ours.write_bytes(result.text())
            return []
        problems = result.problems
    elif rel.name == CSV_NAME and config.format == "csv":
        other = _other_commit(top)
        if other is None:
            problems = [
                "could not tell which commit is being merged; after the merge run "
                "`minireg rebuild` and `git add` the ledger"
            ]
        else:
            result = _merge(
                top,
                events_rel,
                _events_at(top, "HEAD", events_rel),
                _events_at(top, other, events_rel),
                config,
            )
            if result.ok:
                state = fold(result.events, config.initial_stage)
                ours.write_bytes(render_csv(state.records()))
                return []
            problems = result.problems
    else:
        problems = [
            f"the minireg merge driver merges only {EVENTS_NAME} and {CSV_NAME}; "
            "merge this file by hand"
        ]
    _note(top, path, problems)
    return problems
