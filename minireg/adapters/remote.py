"""The remote object store through fsspec: S3 (s3fs), GCS (gcsfs), Azure (adlfs), a folder.

The only module that imports fsspec, and only when a remote is used: opening a
registry with a remote costs nothing until an object has to cross. Objects
keep the local layout under the URL's prefix (``<prefix>/sha256/ab/cdef…``).

Credentials are never passed by minireg: each backend finds its own (for S3,
botocore's chain: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``,
``~/.aws``, instance roles; ``AWS_ENDPOINT_URL`` for S3-compatible stores). A
backend's error is turned into :class:`~minireg.errors.RemoteError` (exit 7)
with the URL shown without secrets.

An upload lands atomically: object stores (S3, GCS, Azure Blob) make an object
visible only once its PUT (or multipart upload) completes, so the final key is
written directly, streamed from the file in parts; any other filesystem (a
shared folder) gets the bytes under a temporary name beside the final one,
then a rename.
"""

from __future__ import annotations

import errno
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minireg.domain.remotes import (
    BACKENDS,
    OBJECT_STORES,
    digest_of_key,
    object_key,
    protocol_of,
    scrub,
    shown,
)
from minireg.errors import InvalidInput, MiniregError, NotFound, RemoteError, local_io_error
from minireg.storage.objects import Progress
from minireg.storage.remote import RemoteEntry

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

_PART = 8 << 20
_PARTS_AT_ONCE = 4
"""S3 uploads go in parts of 8 MiB, 4 in flight, so memory stays near 32 MiB whatever
the artifact's size (s3fs' defaults, 50 MiB × 10, hold up to 500 MiB; a file below two
parts goes in one PUT). Downloads are one streamed GET written as it arrives (64 KiB
reads): s3fs' ranged download holds a whole batch of parts in memory, and a server that
reads the whole object for each range (moto does) makes ranges several times slower."""
_CHUNK = 1 << 20
# Local disk errors met while writing a download: the cache's fault, not the remote's.
_LOCAL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


def check_backend(url: str) -> None:
    """Raise InvalidInput (with the install command) unless ``url``'s backend is installed."""
    protocol = protocol_of(url)
    backend = BACKENDS.get(protocol)
    install = f"pip install '{backend.extra}'" if backend else "pip install fsspec"
    try:
        import fsspec
    except ImportError as exc:
        raise InvalidInput(
            f"The remote {shown(url)} needs fsspec, which is not installed; install it with "
            f"`{install}`."
        ) from exc
    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError as exc:
        if backend is not None:
            raise InvalidInput(
                f"The remote {shown(url)} needs {backend.package}, which is not installed; "
                f"install it with `{install}`."
            ) from exc
        raise InvalidInput(
            f"The remote {shown(url)} needs a package that is not installed ({exc})."
        ) from exc
    except ValueError as exc:
        raise InvalidInput(
            f"{protocol}:// is not a protocol fsspec knows; use s3://, gs://, az:// or file://."
        ) from exc


def backend_of(url: str) -> tuple[str, str, bool]:
    """(package, install command, installed) for ``url``'s protocol."""
    protocol = protocol_of(url)
    backend = BACKENDS.get(protocol)
    try:
        check_backend(url)
        installed = True
    except InvalidInput:
        installed = False
    package = backend.package if backend else f"fsspec ({protocol})"
    return package, f"pip install '{backend.extra}'" if backend else "pip install fsspec", installed


class FsspecRemote:
    """A remote for objects at ``url`` (checked: no credentials), reached through fsspec."""

    def __init__(self, url: str) -> None:
        self._raw = url
        self.url = shown(url)
        self.protocol = protocol_of(url)
        self.atomic_put = self.protocol in OBJECT_STORES
        self._lock = threading.Lock()
        self._fs: AbstractFileSystem | None = None
        self._root = ""
        self._pid = 0

    # -- the connection --------------------------------------------------------

    def _filesystem(self) -> tuple[AbstractFileSystem, str]:
        """The fsspec filesystem and the prefix path, made on first use (and after a fork)."""
        with self._lock:
            if self._fs is None or self._pid != os.getpid():
                check_backend(self._raw)
                import fsspec

                with self._translated("connect"):
                    # A fresh instance: fsspec's cache keys on arguments, not on the
                    # environment (AWS_ENDPOINT_URL, AWS_PROFILE) the backend reads.
                    fs, root = fsspec.core.url_to_fs(self._raw, skip_instance_cache=True)
                self._fs, self._root, self._pid = fs, str(root).rstrip("/"), os.getpid()
            return self._fs, self._root

    def _parts(self, *, download: bool = False) -> dict[str, Any]:
        """s3fs' part size and parallelism (memory: their product); one stream down."""
        if "s3" not in self.protocol:
            return {}
        if download:
            return {"max_concurrency": 1}
        return {"chunksize": _PART, "max_concurrency": _PARTS_AT_ONCE}

    def _key(self, digest: str) -> str:
        return f"{self._filesystem()[1]}/{object_key(digest)}"

    @contextmanager
    def _translated(self, doing: str, digest: str = "") -> Iterator[None]:
        """Turn a backend's failure into RemoteError, naming the URL (credentials stripped)."""
        try:
            yield
        except MiniregError:
            raise
        except Exception as exc:
            where = self.where(digest) if digest else self.url
            reason = scrub(str(exc), self._raw) or type(exc).__name__
            raise RemoteError(
                f"The remote {where} could not {doing} ({type(exc).__name__}: {reason})",
                url=self.url,
            ) from exc

    # -- RemoteStore ------------------------------------------------------------

    def where(self, digest: str) -> str:
        """The URL of object ``digest`` on the remote."""
        return f"{self.url}/{object_key(digest)}"

    def check(self) -> None:
        """Raise RemoteError unless the bucket (or, for a folder, the folder) exists."""
        fs, root = self._filesystem()
        with self._translated("be reached"):
            if self.atomic_put:
                bucket = root.split("/", 1)[0]
                if not fs.exists(bucket):
                    raise RemoteError(
                        f"The bucket {bucket} of the remote {self.url} does not exist (or is "
                        "not visible with these credentials); create it first.",
                        url=self.url,
                    )
            else:
                self._require_folder(fs, root)

    def _require_folder(self, fs: AbstractFileSystem, root: str) -> None:
        # Never create the remote's root: an unmounted share would fill the mount point.
        if not fs.isdir(root):
            raise RemoteError(
                f"The remote folder {self.url} does not exist (is the share mounted?); "
                "create it first.",
                url=self.url,
            )

    def size(self, digest: str) -> int | None:
        """The object's size on the remote, None when it is not there."""
        fs, _ = self._filesystem()
        key = self._key(digest)
        with self._translated("be asked for an object", digest):
            try:
                info = fs.info(key)
            except FileNotFoundError:
                return None
        return int(info["size"]) if info.get("type", "file") == "file" else None

    def _files(self, *, check_bucket: bool) -> tuple[str, dict[str, Any]]:
        """The prefix and every file under ``<prefix>/sha256/`` (path → fsspec's details);
        with ``check_bucket``, a missing bucket is an error rather than no files."""
        fs, root = self._filesystem()
        with self._translated("list its objects"):
            if not self.atomic_put:
                self._require_folder(fs, root)
            try:
                found: dict[str, Any] = fs.find(f"{root}/sha256", detail=True)
            except FileNotFoundError:
                if check_bucket and self.atomic_put:
                    self.check()  # no bucket: says so; else the prefix is just empty
                return root, {}
        return root, found

    def inventory(self) -> dict[str, int]:
        """Every object under the prefix: digest → size."""
        _, found = self._files(check_bucket=True)
        sizes: dict[str, int] = {}
        for path, info in found.items():
            digest = digest_of_key(str(path))
            if digest is not None and info.get("type", "file") == "file":
                sizes[digest] = int(info["size"])
        return sizes

    def listing(self) -> list[RemoteEntry]:
        """Every file under ``<prefix>/sha256/``, temporary names included, with its age."""
        root, found = self._files(check_bucket=False)
        return [
            RemoteEntry(str(path)[len(root) + 1 :], int(info.get("size") or 0), _modified(info))
            for path, info in found.items()
            if info.get("type", "file") == "file" and str(path).startswith(f"{root}/")
        ]

    def delete(self, names: list[str]) -> None:
        """Remove the files ``names`` (relative to the prefix, under ``sha256/``).

        A name already gone is no error. Raises InvalidInput for a name outside
        ``sha256/`` (a bug in the caller, never a user's input).
        """
        if not names:
            return
        fs, root = self._filesystem()
        for name in names:
            if not name.startswith("sha256/") or ".." in name.split("/"):
                raise InvalidInput(f"{name!r} is not an object's name on the remote.")
        paths = [f"{root}/{name}" for name in names]
        with self._translated("delete objects"):
            if self.atomic_put:
                fs.rm(paths)  # batched: one request per thousand keys on S3
                return
            for path in paths:
                try:
                    fs.rm_file(path)
                except FileNotFoundError:
                    pass

    def checksum(self, digest: str, progress: Progress | None = None) -> tuple[str, int]:
        """The sha256 and size of object ``digest``'s bytes, read as a stream (nothing kept).

        Raises:
            NotFound: the remote has no such object.
            RemoteError: the remote is unreachable or refuses.
        """
        import hashlib

        fs, _ = self._filesystem()
        key = self._key(digest)
        hasher = hashlib.sha256()
        size = 0
        with self._translated("send an object", digest):
            try:
                with fs.open(key, "rb", block_size=_PART) as fin:
                    total = int(getattr(fin, "size", 0) or 0)
                    while chunk := fin.read(_PART):
                        hasher.update(chunk)
                        size += len(chunk)
                        if progress is not None:
                            progress(size, total)
            except FileNotFoundError as exc:
                raise NotFound(f"{self.where(digest)} is not on the remote.") from exc
        return hasher.hexdigest(), size

    def upload(self, digest: str, src: Path, progress: Progress | None = None) -> None:
        """Upload ``src`` as object ``digest``: whole under its key, or not at all."""
        fs, root = self._filesystem()
        key = self._key(digest)
        with self._translated("accept an upload", digest):
            if self.atomic_put:
                fs.put_file(str(src), key, callback=_callback(progress), **self._parts())
                return
            self._require_folder(fs, root)
            parent = key.rsplit("/", 1)[0]
            fs.makedirs(parent, exist_ok=True)
            tmp = f"{parent}/.tmp-{uuid.uuid4().hex}-{digest[2:14]}"
            try:
                with open(src, "rb") as fin, fs.open(tmp, "wb") as fout:
                    _copy(fin, fout, src.stat().st_size, progress)
                fs.mv(tmp, key)
            except BaseException:
                try:
                    fs.rm(tmp)
                except Exception:
                    pass
                raise

    def download(self, digest: str, dest: Path, progress: Progress | None = None) -> None:
        """Write object ``digest`` to the new file ``dest``; NotFound when it is not there.

        Raises:
            NotFound: the remote has no such object.
            RemoteError: the remote is unreachable or refuses.
            LocalIOError: ``dest`` cannot be written (disk full, read-only).
        """
        fs, _ = self._filesystem()
        key = self._key(digest)
        with self._translated("send an object", digest):
            try:
                if self.atomic_put:
                    parts = self._parts(download=True)
                    fs.get_file(key, str(dest), callback=_callback(progress), **parts)
                    return
                with fs.open(key, "rb") as fin, open(dest, "xb") as fout:
                    _copy(fin, fout, int(fs.size(key) or 0), progress)
            except FileNotFoundError as exc:
                raise NotFound(f"{self.where(digest)} is not on the remote.") from exc
            except OSError as exc:
                if exc.errno in _LOCAL_ERRNOS:
                    raise local_io_error(exc, dest, None, "write the download to") from exc
                raise


def _modified(info: dict[str, Any]) -> float | None:
    """When a listed file was last written (seconds since the epoch), None when not said.

    Each backend names it its own way: S3 ``LastModified``, Azure ``last_modified``,
    GCS ``updated``, a folder ``mtime``.
    """
    from datetime import datetime, timezone

    for name in ("LastModified", "last_modified", "updated", "mtime", "timeCreated", "created"):
        value = info.get(name)
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()
    return None


def _copy(fin: Any, fout: Any, total: int, progress: Progress | None) -> None:
    done = 0
    while chunk := fin.read(_CHUNK):
        fout.write(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done, total)


def _callback(progress: Progress | None) -> Any:
    """An fsspec callback that reports (done, total) to ``progress``."""
    from fsspec.callbacks import Callback, NoOpCallback

    if progress is None:
        return NoOpCallback()

    def report(size: int | None, value: int, **_: Any) -> None:
        if size:
            progress(int(value), int(size))

    return Callback(hooks={"progress": report})
