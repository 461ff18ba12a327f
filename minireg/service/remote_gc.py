"""``minireg gc --remote``: delete the remote's objects that no commit of any branch needs.

An object on the remote is kept when any event of any commit on any ref (local
and remote-tracking branches, tags, stashes) or of any working tree names it
(artifacts, requirements, and the files a folder artifact's manifest lists),
when it is younger than the grace period (an upload whose registration is not
recorded yet, or not pushed yet from another clone), or when the remote does not
say how old it is. Uploads cut short on a shared folder leave ``.tmp-…`` files;
those older than the grace period go too. A dry run unless ``delete``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from minireg.domain.records import Event
from minireg.errors import IntegrityError, NotFound
from minireg.service.transfers import local_object
from minireg.storage import Storage
from minireg.storage.atomic import TMP_PREFIX
from minireg.storage.remote import Bars, RemoteEntry, RemoteStore

DEFAULT_REMOTE_GRACE = 7 * 24 * 3600.0
"""Seconds an unreferenced remote object is kept: a week, so that a version registered in
another clone on a branch not pushed yet (its objects uploaded, its events not visible
here) survives until its branch is."""

_DIGEST = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


@dataclass
class RemoteCollection:
    """What ``gc --remote`` found and did (or, in a dry run, would do)."""

    url: str
    grace: float
    dry_run: bool = True
    referenced: int = 0
    """Objects on the remote that some event of some commit or working tree needs: kept."""
    commits: int = 0
    """Commits that changed the trail, read on every ref."""
    worktrees: int = 0
    in_git: bool = False
    unreferenced: list[RemoteEntry] = field(default_factory=list)
    """Unreferenced objects older than the grace period: deleted (or, in a dry run, would be)."""
    leftovers: list[RemoteEntry] = field(default_factory=list)
    """``.tmp-…`` files of uploads cut short, older than the grace period."""
    young: list[RemoteEntry] = field(default_factory=list)
    undated: list[RemoteEntry] = field(default_factory=list)
    """Unreferenced, but the remote does not say how old: kept."""
    deleted: list[str] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        """The bytes deleted (or that a run with ``delete`` would delete)."""
        return sum(e.size for e in (*self.unreferenced, *self.leftovers))

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""

        def names(entries: list[RemoteEntry]) -> list[dict[str, Any]]:
            return [{"name": e.name, "bytes": e.size, "modified": e.modified} for e in entries]

        return {
            "remote": self.url,
            "dry_run": self.dry_run,
            "grace_seconds": self.grace,
            "referenced": self.referenced,
            "commits_read": self.commits,
            "worktrees_read": self.worktrees,
            "in_git": self.in_git,
            "unreferenced": names(self.unreferenced),
            "leftovers": names(self.leftovers),
            "bytes": self.bytes,
            "kept_young": names(self.young),
            "kept_undated": names(self.undated),
            "deleted": list(self.deleted),
        }


def needed_by(lines: Iterable[str]) -> tuple[set[str], set[str]]:
    """(every digest the event lines name, the manifests of folder artifacts among them).

    Any 64-hex word counts, in any field of any event: what no event names cannot be
    needed, and an event hash kept by mistake costs nothing.
    """
    digests: set[str] = set()
    folders: set[str] = set()
    for line in lines:
        digests.update(_DIGEST.findall(line))
        if '"register"' not in line:
            continue
        try:
            event = Event.from_line(line)
        except (ValueError, KeyError, TypeError):
            continue
        artifact = event.data.get("artifact_sha256")
        if event.action == "register" and str(event.data.get("artifact", "")).endswith("/"):
            folders.update([artifact] if isinstance(artifact, str) and artifact else [])
    return digests, folders


def _folder_files(storage: Storage, folders: set[str], bars: Bars | None) -> set[str]:
    """The files every folder manifest lists (a manifest not cached is fetched, checked)."""
    files: set[str] = set()
    for digest in sorted(folders):
        what = f"the manifest {digest[:12]}… of a folder artifact"
        try:
            local_object(storage, digest, what, bars)
            entries = storage.objects.read_manifest(digest)
        except (NotFound, IntegrityError) as exc:
            raise IntegrityError(
                f"gc cannot tell which files a folder artifact needs: {exc.message.rstrip('.')}; "
                "nothing was deleted (push the manifest from a machine that has it, or run "
                "`minireg verify --remote`)."
            ) from exc
        files.update(str(entry["sha256"]) for entry in entries)
    return files


def _sort(
    found: RemoteCollection, entries: list[RemoteEntry], needed: set[str], now: float
) -> None:
    """File each remote entry as kept, young, undated, unreferenced or a stale leftover."""
    for entry in entries:
        digest = entry.digest
        leftover = digest is None and entry.name.rsplit("/", 1)[-1].startswith(TMP_PREFIX)
        if digest in needed:
            found.referenced += 1
            continue
        if digest is None and not leftover:
            continue  # a name minireg did not write
        if entry.modified is None:
            found.undated.append(entry)
        elif now - entry.modified < found.grace:
            found.young.append(entry)
        else:
            (found.leftovers if leftover else found.unreferenced).append(entry)


def collect(
    storage: Storage,
    root: Path,
    remote: RemoteStore,
    *,
    delete: bool,
    grace: float,
    now: datetime,
    bars: Bars | None = None,
) -> RemoteCollection:
    """List (or, with ``delete``, delete) the remote's unreferenced objects and leftovers.

    The history is read first, then the remote listed; the local trail is read
    again under the registry lock right before deleting, so a version recorded
    here meanwhile keeps its objects.

    Raises:
        Unsafe: a shallow clone, or git fails (the history cannot be read).
        IntegrityError: a folder artifact's manifest is nowhere to be read.
        RemoteError: the remote is unreachable or refuses.
    """
    from minireg.adapters.git.history import trail_history

    history = trail_history(root)
    found = RemoteCollection(url=remote.url, grace=grace, dry_run=not delete)
    found.commits, found.worktrees, found.in_git = (
        history.commits,
        history.worktrees,
        history.in_git,
    )
    lines = history.lines | set(storage.read_trail().lines)
    digests, folders = needed_by(lines)
    needed = digests | _folder_files(storage, folders, bars)
    _sort(found, remote.listing(), needed, now.timestamp())
    if not delete or not (found.unreferenced or found.leftovers):
        return found
    with storage.lock():
        recorded, late_folders = needed_by(storage.read_trail().lines)
        needed |= recorded | _folder_files(storage, late_folders - folders, bars)
        found.referenced += sum(1 for e in found.unreferenced if e.digest in needed)
        found.unreferenced = [e for e in found.unreferenced if e.digest not in needed]
        names = [e.name for e in (*found.unreferenced, *found.leftovers)]
        remote.delete(names)
    found.deleted = names
    return found
