"""``minireg gc``: remove objects that no version references."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from minireg.domain.records import Event
from minireg.domain.state import fold
from minireg.errors import IntegrityError, NotFound
from minireg.storage.objects import ObjectStore

DEFAULT_GRACE = 3600.0
"""Seconds an unreferenced object is kept. ``register`` stores objects before it takes
the lock, so an object younger than this may belong to a registration still in flight."""


@dataclass
class Collection:
    """What ``gc`` found and did."""

    unreferenced: list[str] = field(default_factory=list)
    """Unreferenced and older than the grace period: removed (or, in a dry run, would be)."""
    young: list[str] = field(default_factory=list)
    """Unreferenced but younger than the grace period: kept."""
    removed: list[str] = field(default_factory=list)
    bytes: int = 0
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "unreferenced": self.unreferenced,
            "kept_young": self.young,
            "removed": self.removed,
            "bytes": self.bytes,
            "dry_run": self.dry_run,
        }


def referenced(objects: ObjectStore, events: list[Event], *, missing_ok: bool = False) -> set[str]:
    """Every object a version needs: artifacts, folder manifests and their files, requirements.

    Register events count even for versions a later event dropped, so gc never
    takes what an audit may still ask for.

    ``missing_ok``: ``objects/`` caches a remote, where a manifest missing here is fine.

    Raises:
        IntegrityError: a folder artifact's manifest is missing, so its files are unknown.
    """
    needed: set[str] = set()
    folders: set[str] = set()
    for event in events:
        if event.action != "register":
            continue
        for key in ("artifact_sha256", "requirements_sha256"):
            digest = event.data.get(key)
            if isinstance(digest, str) and digest:
                needed.add(digest)
        if str(event.data.get("artifact", "")).endswith("/"):
            folders.add(str(event.data.get("artifact_sha256", "")))
    for rec in fold(events).records():
        needed.update(d for d in (rec.artifact_sha256, rec.requirements_sha256) if d)
        if rec.is_dir:
            folders.add(rec.artifact_sha256)
    for digest in sorted(folders - {""}):
        try:
            entries = objects.read_manifest(digest)
        except NotFound as exc:
            if missing_ok:
                continue
            raise IntegrityError(
                f"The manifest {digest} of a folder artifact is missing, so gc cannot tell "
                "which files it needs; restore it from git (minireg verify lists it)."
            ) from exc
        needed.update(str(entry["sha256"]) for entry in entries)
    return needed


def sweep(
    objects: ObjectStore, needed: set[str], *, dry_run: bool, grace: float, now: datetime
) -> Collection:
    """List (``dry_run``) or remove the stored objects not in ``needed``; call under the lock.

    Objects modified less than ``grace`` seconds before ``now`` are kept: a
    ``register`` in flight stores its objects before it takes the lock.
    """
    moment = now.timestamp()
    result = Collection(dry_run=dry_run)
    for digest in objects.all_digests():
        if digest in needed:
            continue
        path = objects.path(digest)
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if moment - stat.st_mtime < grace:
            result.young.append(digest)
            continue
        result.unreferenced.append(digest)
        result.bytes += stat.st_size
        if dry_run:
            continue
        path.unlink()
        result.removed.append(digest)
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only succeeds when the shard folder is empty
    return result
