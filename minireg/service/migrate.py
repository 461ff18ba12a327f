"""``minireg remote migrate``: an in-git registry's objects move to the remote; git forgets them.

In order, so that a failure anywhere leaves a registry that works and a re-run
that resumes:

1. refuse early when the commit could not be made (changes already staged, no
   git identity), or when a version needs an object that is neither here nor on
   the remote;
2. re-hash each local object the remote lacks (a damaged one is never sent),
   upload it, then list the remote again: every object must be there with its
   size;
3. under the registry lock, add ``/objects/`` to ``.gitignore``, remove
   ``objects/`` from git's index and commit that (with ``minireg.toml``).

No event and no version changes: ``events.jsonl`` and the ledger are not written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from minireg.domain.state import State
from minireg.errors import IntegrityError, NotFound
from minireg.service.transfers import version_items
from minireg.storage import Storage
from minireg.storage.layout import ignore_objects
from minireg.storage.objects import hash_file
from minireg.storage.remote import Bars, RemoteStore, upload_missing


@dataclass
class Migration:
    """What ``remote migrate`` did."""

    url: str
    objects: int = 0
    """Objects the versions need, or the local cache holds: all on the remote now."""
    uploaded: list[str] = field(default_factory=list)
    bytes: int = 0
    ignore_added: bool = False
    in_git: bool = False
    untracked: int = 0
    """Object files git stopped tracking."""
    commit: str = ""
    subject: str = ""

    @property
    def changed(self) -> bool:
        """False for a run that found everything already done."""
        return bool(self.uploaded or self.ignore_added or self.untracked or self.commit)

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {
            "remote": self.url,
            "objects": self.objects,
            "uploaded": list(self.uploaded),
            "bytes": self.bytes,
            "ignore_added": self.ignore_added,
            "in_git": self.in_git,
            "untracked": self.untracked,
            "commit": self.commit or None,
            "subject": self.subject or None,
        }


def _items(
    storage: Storage, state: State, known: dict[str, int]
) -> tuple[list[tuple[str, str]], list[str]]:
    """Every object to have on the remote (versions' needs, then the rest of the cache),
    and the labels of those that are neither here nor there."""
    items: dict[str, str] = {}
    for rec in state.records():
        for digest, label in version_items(storage, rec, known):
            items.setdefault(digest, label)
    for digest in storage.objects.all_digests():
        items.setdefault(digest, f"object {digest[:12]}…")
    absent = [label for d, label in items.items() if d not in known and not storage.objects.has(d)]
    return list(items.items()), absent


def _to_send(storage: Storage, items: list[tuple[str, str]], known: dict[str, int]) -> list[str]:
    """The local objects the remote lacks (or holds with another size), each re-hashed first.

    Raises:
        IntegrityError: a local object does not match its name; nothing was uploaded.
    """
    send, damaged = [], []
    for digest, label in items:
        path = storage.object_path(digest)
        if not path.is_file() or known.get(digest) == path.stat().st_size:
            continue
        if hash_file(path)[0] != digest:
            damaged.append(f"{label} ({path})")
        send.append(digest)
    if damaged:
        raise IntegrityError(
            f"{len(damaged)} local object(s) do not match their names, so they were not "
            "uploaded and nothing was changed; restore them from git (`minireg verify` lists "
            "them).",
            damaged,
        )
    return send


def upload_all(storage: Storage, remote: RemoteStore, state: State, bars: Bars | None) -> Migration:
    """Steps 1 and 2: every object on the remote with its size, checked by a new listing.

    Raises:
        NotFound: a version needs an object that is neither here nor on the remote.
        IntegrityError: a local object is damaged, or the remote lacks an object after
            the upload; git was not changed.
        RemoteError: the remote is unreachable or refuses; re-running resumes.
    """
    done = Migration(url=remote.url)
    known = remote.inventory()
    items, absent = _items(storage, state, known)
    if absent:
        raise NotFound(
            f"{len(absent)} object(s) the versions need are neither in {storage.objects.root} "
            f"nor on {remote.url} ({'; '.join(absent[:3])}); nothing was changed: restore them "
            "(git checkout, or `minireg push` from a machine that has them) and run it again."
        )
    send = set(_to_send(storage, items, known))
    done.uploaded = upload_missing(
        storage.objects, remote, [i for i in items if i[0] in send], known=known, bars=bars
    )
    done.bytes = sum(storage.object_path(d).stat().st_size for d in done.uploaded)
    done.objects = len(items)
    after = remote.inventory()
    short = [
        label
        for digest, label in items
        if digest not in after
        or (storage.objects.has(digest) and after[digest] != _size(storage, digest))
    ]
    if short:
        raise IntegrityError(
            f"After the upload, {remote.url} lacks {len(short)} object(s) or holds them with "
            "another size; git was not changed: run `minireg remote migrate` again.",
            short,
        )
    return done


def _size(storage: Storage, digest: str) -> int:
    return storage.object_path(digest).stat().st_size


def stop_tracking(root: Path, done: Migration, head: str) -> None:
    """Step 3, under the registry lock: ``.gitignore``, then the index and the commit."""
    from minireg.adapters.git.untrack import untrack_objects

    done.ignore_added = ignore_objects(root)
    rel = f"{root.name}/objects/"
    subject = f"minireg: move the objects to {done.url}; git no longer tracks {rel}"
    body = (
        f"{done.objects} objects are in {done.url} under the same content-addressed names "
        f"({len(done.uploaded)} uploaded now, {done.bytes} bytes), each checked by its size "
        f"after the upload. From this commit on, {rel} is a git-ignored local cache that "
        "minireg fills on demand. No event and no version changed.\n\n"
        "Earlier commits still hold the objects; shrinking the repository's history is a "
        "rewrite (git filter-repo) left to you."
    )
    untracked = untrack_objects(root, subject, body, head)
    done.in_git, done.untracked = untracked.in_git, untracked.untracked
    done.commit, done.subject = untracked.sha, untracked.subject
