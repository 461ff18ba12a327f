"""Objects in a remote store, with ``objects/`` as their local cache: upload, fetch, check.

The remote itself (fsspec: S3, GCS, Azure Blob, a shared folder) is reached
through :class:`RemoteStore`, implemented by :mod:`minireg.adapters.remote`;
this module owns what touches the registry folder. A fetched object is
downloaded to a temporary name in ``objects/``, hashed, and renamed to its
real name only when its bytes hash to that name, so a remote object that does
not match is never used (and never unpickled), and a download cut short
leaves nothing under a real name.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from minireg.domain.remotes import digest_of_key
from minireg.errors import IntegrityError, LocalIOError, NotFound
from minireg.storage.atomic import temp_name
from minireg.storage.objects import ObjectStore, Progress, hash_file

Bars = Callable[[str], "tuple[Progress | None, Callable[[], None]]"]
"""Makes a progress bar for one transfer from its label: (update, finish). The CLI's
shows one on a terminal for a transfer that lasts; the library passes none."""


@dataclass(frozen=True)
class RemoteEntry:
    """A file under the remote's ``sha256/``: an object, or an upload's leftover."""

    name: str
    """Relative to the prefix: ``sha256/ab/cdef…`` (or ``sha256/ab/.tmp-…`` on a folder)."""
    size: int
    modified: float | None
    """When it was written, in seconds since the epoch; None when the backend does not say."""

    @property
    def digest(self) -> str | None:
        """The object it is, None for anything else (a temporary name)."""
        return digest_of_key(self.name)


class RemoteStore(Protocol):
    """What minireg needs from an object store holding ``<prefix>/sha256/ab/cdef…``."""

    url: str
    """The remote's URL as it may be shown (it never carries credentials)."""

    def where(self, digest: str) -> str:
        """The URL of object ``digest`` on the remote (``s3://bucket/prefix/sha256/ab/cd…``)."""
        ...

    def size(self, digest: str) -> int | None:
        """The size of object ``digest`` on the remote, None when it is not there."""
        ...

    def inventory(self) -> dict[str, int]:
        """Every object on the remote: digest → size (one listing, not one request each)."""
        ...

    def upload(self, digest: str, src: Path, progress: Progress | None = None) -> None:
        """Upload ``src`` as object ``digest``; it appears whole under its key or not at all."""
        ...

    def download(self, digest: str, dest: Path, progress: Progress | None = None) -> None:
        """Write object ``digest`` to the new local file ``dest`` (NotFound when absent)."""
        ...

    def check(self) -> None:
        """Raise RemoteError unless the remote answers (its bucket or folder exists)."""
        ...

    def listing(self) -> list[RemoteEntry]:
        """Every file under ``<prefix>/sha256/`` with its size and age (leftovers included)."""
        ...

    def delete(self, names: list[str]) -> None:
        """Remove the files ``names`` (``RemoteEntry.name``); one already gone is no error."""
        ...

    def checksum(self, digest: str, progress: Progress | None = None) -> tuple[str, int]:
        """The sha256 and size of object ``digest``, read as a stream (NotFound when absent)."""
        ...


def _no_bar(label: str) -> tuple[Progress | None, Callable[[], None]]:
    return None, lambda: None


def upload_missing(
    objects: ObjectStore,
    remote: RemoteStore,
    items: Iterable[tuple[str, str]],
    *,
    known: dict[str, int] | None = None,
    bars: Bars | None = None,
) -> list[str]:
    """Upload each local object of ``items`` (digest, label) the remote lacks, in order.

    An object already on the remote with the same size is not sent again
    (``known`` is an inventory taken before, else each is asked for). Returns the
    digests uploaded.

    Raises:
        RemoteError: the remote is unreachable or refuses the upload.
        NotFound: an object to upload is not in the local cache.
    """
    sent: list[str] = []
    for digest, label in items:
        path = objects.path(digest)
        try:
            size = path.stat().st_size
        except FileNotFoundError as exc:
            raise NotFound(
                f"{label} ({digest[:12]}…) is not in {objects.root}, so it cannot be uploaded."
            ) from exc
        there = known.get(digest) if known is not None else remote.size(digest)
        if there == size:
            continue
        update, finish = (bars or _no_bar)(f"uploading {label}")
        try:
            remote.upload(digest, path, update)
        finally:
            finish()
        sent.append(digest)
    return sent


def fetch(
    objects: ObjectStore, remote: RemoteStore, digest: str, what: str, bars: Bars | None = None
) -> Path:
    """The local path of object ``digest``, downloaded and checked first when not cached.

    ``what`` names the object in messages ("the artifact of churn version 3").

    Raises:
        NotFound: neither the cache nor the remote has it (the message names the key).
        IntegrityError: the remote's bytes do not hash to ``digest``; nothing is kept.
        RemoteError: the remote is unreachable or refuses.
        LocalIOError: the cache cannot be written (disk full, read-only).
        Unsafe: a symlink sits where the object belongs in the cache.
    """
    objects.refuse_links(digest)
    final = objects.path(digest)
    if final.is_file():
        return final
    tmp = temp_name(objects.root / "object")
    try:
        try:
            objects.root.mkdir(parents=True, exist_ok=True)
            _download(remote, digest, tmp, what, bars)
            found, _ = hash_file(tmp)
            if found != digest:
                raise IntegrityError(
                    f"The remote object {remote.where(digest)} ({what}) does not match its name "
                    f"(its bytes hash to {found[:12]}…); it was not used and nothing was loaded: "
                    "upload the right bytes again with `minireg push` from a machine that has them."
                )
            objects.adopt(tmp, digest)
        except OSError as exc:
            raise LocalIOError(
                f"Could not store {what} in the local cache {objects.root}: "
                f"{exc.strerror or exc}; nothing was loaded.",
                path=str(objects.root),
                errno_code=exc.errno,
                recorded=None,
            ) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return final


def _download(remote: RemoteStore, digest: str, tmp: Path, what: str, bars: Bars | None) -> None:
    update, finish = (bars or _no_bar)(f"downloading {what}")
    try:
        remote.download(digest, tmp, update)
    except NotFound as exc:
        raise NotFound(
            f"{what} is not in the local cache, and the remote has no {remote.where(digest)} "
            "(registered with --no-upload and never pushed, or removed from the remote): run "
            "`minireg push` on a machine that has it."
        ) from exc
    finally:
        finish()
