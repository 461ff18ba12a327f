"""The minireg git merge driver: installing it, and what git runs for each registry file.

git runs one driver per conflicting file, with the base, ours and theirs versions
in temp files; the result goes into the ours file, and a non-zero exit makes git
report a conflict. minireg merges ``events.jsonl`` with :func:`minireg.domain.merge.merge_events`.
``ledger.csv`` is a view of the events: its driver renders the view of the same
merged events, which it reads from the two commits being merged (git merges
``ledger.csv`` before ``events.jsonl``, so it cannot wait for that file's result).
On failure the ours file is left as it is: never conflict markers in registry files.
"""

from __future__ import annotations

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
from minireg.domain.merge import MergeResult, merge_events, parse_side
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


def _merge(ours: bytes, theirs: bytes, config: Config) -> MergeResult:
    ours_events, problems = parse_side(ours, "this branch's")
    theirs_events, more = parse_side(theirs, "the other branch's")
    if problems or more:
        return MergeResult(problems=problems + more)
    from minireg._version import TOOL
    from minireg.domain.values import utc_text

    return merge_events(
        ours_events,
        theirs_events,
        initial_stage=config.initial_stage,
        exclusive=config.exclusive,
        actor=current_actor(),
        time=utc_text(datetime.now(timezone.utc)),
        tool=TOOL,
    )


def _other_commit(top: Path) -> str | None:
    """The commit being merged in: git names it in GITHEAD_<sha> for a merge;
    a rebase lists the commit it is picking last in rebase-merge/done."""
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
    if rel.name == EVENTS_NAME:
        result = _merge(ours.read_bytes(), theirs.read_bytes(), config)
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
            events_rel = (rel.parent / EVENTS_NAME).as_posix()
            result = _merge(
                _events_at(top, "HEAD", events_rel), _events_at(top, other, events_rel), config
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
