"""Objects crossing to and from the remote: the upload a registration makes, fetch on demand.

Two rules, each kept in one function here:

- :func:`upload_new_objects` is the registration's upload, made right after its
  objects are stored and *before* the lock is taken and the event appended, so an
  acknowledged version is fetchable by anyone who has the ledger. A failure there
  is "nothing was recorded".
- :func:`local_object` is the one place an object is fetched into the local cache
  (``objects/``) when it is missing: every read of an artifact (``path``,
  ``load_model``, ``ModelHandle``, ``checkout``, the MLflow export) goes through it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from minireg.domain.records import VersionRecord
from minireg.errors import NotFound, RemoteError
from minireg.storage import Storage
from minireg.storage.objects import Stored
from minireg.storage.remote import Bars, fetch, upload_missing

Item = tuple[str, str]
"""An object to move: (digest, label for messages and progress bars)."""


def upload_new_objects(
    storage: Storage,
    stored: Stored,
    requirements_sha256: str,
    *,
    name: str,
    upload: bool = True,
    bars: Bars | None = None,
) -> None:
    """Upload what a registration just stored (a folder's files, its manifest, requirements).

    A no-op without a remote, or with ``upload`` False (``--no-upload``: the version
    stays local until ``minireg push``). Objects the remote already holds with the
    same size are not sent again.

    Raises:
        RemoteError: the remote is unreachable or refuses; nothing was recorded.
    """
    if storage.remote is None or not upload:
        return
    items = artifact_items(storage, stored.sha256, stored.is_dir, name, fetch_manifest=False)
    if requirements_sha256:
        items.append((requirements_sha256, f"the requirements of {name}"))
    _upload_unrecorded(storage, items, bars)


def upload_registered(
    storage: Storage, bodies: list[dict[str, Any]], *, upload: bool = True, bars: Bars | None = None
) -> None:
    """Upload the objects of a batch's registrations (their events' ``bodies``) in one pass.

    As :func:`upload_new_objects`, once the batch's objects are all stored.

    Raises:
        RemoteError: the remote is unreachable or refuses; nothing was recorded.
    """
    if storage.remote is None or not upload:
        return
    items: list[Item] = []
    for body in bodies:
        name = str(body["artifact"])
        digest, is_dir = str(body["artifact_sha256"]), name.endswith("/")
        items += artifact_items(storage, digest, is_dir, name, fetch_manifest=False)
        if body.get("requirements_sha256"):
            items.append((str(body["requirements_sha256"]), f"the requirements of {name}"))
    _upload_unrecorded(storage, list(dict(items).items()), bars)


def _upload_unrecorded(storage: Storage, items: list[Item], bars: Bars | None) -> None:
    """Upload ``items`` before anything is recorded; a failure says so."""
    remote = storage.remote
    assert remote is not None
    try:
        upload_missing(storage.objects, remote, items, bars=bars)
    except RemoteError as exc:
        raise RemoteError(
            f"{exc.message}; nothing was recorded: run the command again once the remote "
            "answers, or register with --no-upload and run `minireg push` later.",
            url=exc.url,
            recorded=False,
        ) from exc


def artifact_items(
    storage: Storage,
    digest: str,
    is_dir: bool,
    name: str,
    *,
    fetch_manifest: bool = True,
    known: dict[str, int] | None = None,
) -> list[Item]:
    """An artifact's objects in upload order: a folder's files first, its manifest last.

    The manifest goes last so that a remote holding a manifest holds its files.
    A folder's manifest missing from the cache is fetched when ``fetch_manifest``
    and the remote has it (``known``: its inventory); otherwise its files are unknown
    and only the manifest is listed.
    """
    if not is_dir:
        return [(digest, name)]
    objects = storage.objects
    if not objects.has(digest):
        if not (fetch_manifest and storage.remote and (known is None or digest in known)):
            return [(digest, name)]
        try:
            local_object(storage, digest, f"the manifest of {name}")
        except NotFound:
            return [(digest, name)]
    files = [(str(e["sha256"]), f"{name}{e['path']}") for e in objects.read_manifest(digest)]
    return [*files, (digest, name)]


def version_items(storage: Storage, rec: VersionRecord, known: dict[str, int]) -> list[Item]:
    """Every object a version needs, in upload order (artifact, then requirements)."""
    what = f"{rec.model} version {rec.version}"
    items = artifact_items(storage, rec.artifact_sha256, rec.is_dir, f"{rec.artifact}", known=known)
    items = [(digest, f"{label} ({what})") for digest, label in items]
    if rec.requirements_sha256:
        items.append((rec.requirements_sha256, f"the requirements of {what}"))
    return items


def local_object(storage: Storage, digest: str, what: str, bars: Bars | None = None) -> Path:
    """The local path of object ``digest``, fetched from the remote and checked when missing.

    Without a remote, or when the object is cached, it is the path as it is (the
    caller checks it exists). ``what`` names it in messages.

    Raises:
        NotFound: neither the cache nor the remote has it (the key is named).
        IntegrityError: the remote's bytes do not match the digest; nothing is kept.
        RemoteError: the remote is unreachable or refuses.
    """
    remote = storage.remote
    if remote is None or storage.objects.has(digest):
        return storage.object_path(digest)
    return fetch(storage.objects, remote, digest, what, bars)


def local_artifact(storage: Storage, rec: VersionRecord, bars: Bars | None = None) -> int:
    """Fetch a version's artifact (a folder: its manifest, then each file) into the cache.

    Returns the number of objects downloaded (0 when all were cached).
    """
    if storage.remote is None:
        return 0
    what = f"the artifact of {rec.model} version {rec.version}"
    missing = 0 if storage.objects.has(rec.artifact_sha256) else 1
    local_object(storage, rec.artifact_sha256, what, bars)
    if rec.is_dir:
        for entry in storage.objects.read_manifest(rec.artifact_sha256):
            digest = str(entry["sha256"])
            if not storage.objects.has(digest):
                missing += 1
                label = f"{entry['path']} of {rec.model} version {rec.version}"
                local_object(storage, digest, label, bars)
    return missing


def is_cached(storage: Storage, rec: VersionRecord) -> bool:
    """True without a remote; with one, when the artifact's every object is in the cache."""
    objects = storage.objects
    if storage.remote is None:
        return True
    if not objects.has(rec.artifact_sha256):
        return False
    if not rec.is_dir:
        return True
    return all(objects.has(str(e["sha256"])) for e in objects.read_manifest(rec.artifact_sha256))
