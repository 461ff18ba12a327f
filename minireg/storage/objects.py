"""Content-addressed objects: ``objects/sha256/ab/cdef…``, immutable, written once."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minireg.domain.canonical import canonical_json, sha256_hex
from minireg.errors import IntegrityError, InvalidInput, NotFound, Unsafe
from minireg.storage.atomic import TMP_PREFIX, fsync_dir, remove_orphans, temp_name

Progress = Callable[[int, int], None]
"""Called with (bytes done, bytes in all) while artifacts are copied."""

MANIFEST_FORMAT = "minireg-manifest/1"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Stored:
    """What storing an artifact gave: its digest (a manifest's for a folder) and its size."""

    sha256: str
    bytes: int
    is_dir: bool


def list_files(folder: Path) -> list[tuple[str, Path]]:
    """The regular files under ``folder`` as (posix relative path, path), sorted.

    Raises:
        Unsafe: a symlink sits where a file belongs.
    """
    found: list[tuple[str, Path]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        base = Path(dirpath)
        for name in list(dirnames):
            if (base / name).is_symlink():
                raise Unsafe(f"{base / name} is a symlink; copy the real folder into the artifact.")
        for name in filenames:
            path = base / name
            if path.is_symlink():
                raise Unsafe(f"{path} is a symlink; copy the real file into the artifact.")
            if not path.is_file():
                raise InvalidInput(f"{path} is not a regular file.")
            found.append((path.relative_to(folder).as_posix(), path))
    found.sort()
    return found


def manifest(entries: list[dict[str, Any]]) -> bytes:
    """The canonical manifest of a folder, from its entries (path, sha256, bytes)."""
    return canonical_json({"format": MANIFEST_FORMAT, "files": entries})


def hash_file(path: Path) -> tuple[str, int]:
    """The sha256 and size of a file, in one read pass."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def hash_path(path: Path) -> str:
    """The sha256 of a file, or of a folder's manifest (its files' names, digests and sizes)."""
    if path.is_dir():
        entries = []
        for rel, file in list_files(path):
            digest, size = hash_file(file)
            entries.append({"path": rel, "sha256": digest, "bytes": size})
        return sha256_hex(manifest(entries))
    return hash_file(path)[0]


def _sync_files(paths: list[Path]) -> None:
    """Make the bytes of ``paths`` durable: one ``syncfs`` on Linux, else one fsync each."""
    if paths and sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(paths[0].parent, os.O_RDONLY)
        try:
            if libc.syncfs(fd) == 0:
                return
        finally:
            os.close(fd)
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class ObjectStore:
    """The ``objects/`` folder of one registry."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._deferred = threading.local()  # per thread: the copies a batch has yet to settle

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Store the objects of many registrations with one sync rather than two per object.

        Inside the block (this thread only) each copy is written and checked under
        its temporary name, without an fsync. Leaving the block makes every copy
        durable at once, then renames each into place and syncs the folders: so,
        as one at a time, no half object is ever under a real name, and every
        object is durable when the block returns (before the commit point). On
        an error inside the block the copies are removed and nothing is renamed.
        For a few hundred bytes an object, this is most of a batch's cost saved.
        """
        if self._deferring():
            yield  # already deferring: the outer block settles
            return
        pending: list[tuple[Path, str]] = []
        self._deferred.pending = pending
        try:
            yield
        except BaseException:
            for tmp, _ in pending:
                with contextlib.suppress(OSError):
                    tmp.unlink()
            raise
        finally:
            self._deferred.pending = None
        self._settle_all(pending)

    def _settle_all(self, pending: list[tuple[Path, str]]) -> None:
        """Sync every copy, rename each into place, then sync the folders that changed."""
        try:
            _sync_files([tmp for tmp, _ in pending])
            folders: set[Path] = set()
            for tmp, digest in pending:
                folder = self.path(digest).parent
                if folder not in folders:
                    self.refuse_links(digest)  # the folders on the way, once each
                    folder.mkdir(parents=True, exist_ok=True)
                    folders.add(folder)
                final = os.path.join(folder, digest[2:])
                if os.path.lexists(final):
                    self._settle(tmp, digest, sync=False)  # stored before: checked, not trusted
                    continue
                os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
                os.replace(tmp, final)
            for folder in sorted({*folders, *(f.parent for f in folders)}):
                fsync_dir(folder)
        finally:
            for tmp, _ in pending:
                with contextlib.suppress(OSError):
                    tmp.unlink()

    def _deferring(self) -> bool:
        return getattr(self._deferred, "pending", None) is not None

    def _defer(self, tmp: Path, digest: str) -> bool:
        """Keep ``tmp`` for the batch's one sync if a :meth:`deferred` block is open."""
        pending: list[tuple[Path, str]] | None = getattr(self._deferred, "pending", None)
        if pending is None:
            return False
        pending.append((tmp, digest))
        return True

    def path(self, digest: str) -> Path:
        """Where object ``digest`` lives (it may not exist)."""
        return self.root / "sha256" / digest[:2] / digest[2:]

    def has(self, digest: str) -> bool:
        """True when object ``digest`` is stored."""
        return self.path(digest).is_file()

    def link_in_store(self, digest: str) -> Path | None:
        """The symlink on the way to object ``digest`` inside the store, if there is one.

        Objects are files minireg wrote; a symlink in their place points at
        bytes outside the registry's control, which may change after any check.
        """
        path = self.path(digest)
        for part in (path, path.parent, path.parent.parent):
            if part.is_symlink():
                return part
        return None

    def refuse_links(self, digest: str) -> None:
        """Raise Unsafe when object ``digest`` (or its folder) is a symlink."""
        link = self.link_in_store(digest)
        if link is not None:
            raise Unsafe(
                f"{link} is a symlink in the object store; replace it with the real object "
                "(restore objects/ from git) and run `minireg verify`."
            )

    def _intact(self, digest: str) -> bool:
        """True when object ``digest`` is stored and its bytes hash to its name.

        Raises:
            Unsafe: a symlink sits where the object belongs.
        """
        self.refuse_links(digest)
        final = self.path(digest)
        try:
            return final.is_file() and hash_file(final)[0] == digest
        except OSError:
            return False

    def _settle(self, tmp: Path, digest: str, *, sync: bool = True) -> None:
        final = self.path(digest)
        if self._intact(digest):
            # Same bytes stored before (checked, not trusted): keep the object, drop the copy.
            tmp.unlink()
            return
        # Missing, or a file that no longer matches its name: the checked copy takes its place.
        final.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        os.replace(tmp, final)
        if sync:
            fsync_dir(final.parent)

    def put_bytes(self, data: bytes) -> str:
        """Store ``data`` and return its sha256; a known digest whose object checks is a no-op.

        Raises:
            Unsafe: a symlink sits where the object belongs.
        """
        digest = sha256_hex(data)
        if self._intact(digest):
            return digest
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = temp_name(self.root / "object")
        deferring, kept = self._deferring(), False
        try:
            with open(tmp, "xb") as fh:
                fh.write(data)
                if not deferring:  # a deferred block syncs every copy at once
                    fh.flush()
                    os.fsync(fh.fileno())
            kept = self._defer(tmp, digest)
            if not kept:
                self._settle(tmp, digest)
        finally:
            if not kept:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        return digest

    def put_file(
        self, src: Path, progress: Progress | None = None, done: int = 0, total: int = 0
    ) -> tuple[str, int]:
        """Copy ``src`` in, hashing while copying; return (sha256, size).

        The copy is written under a temporary name and renamed into place only
        after its digest is known, so a crash never leaves a half object under a
        real name. A source that changes while it is copied is refused.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = temp_name(self.root / "object")
        digest = hashlib.sha256()
        size = 0
        deferring, kept = self._deferring(), False
        try:
            with open(src, "rb") as fin, open(tmp, "xb") as fout:
                while chunk := fin.read(_CHUNK):
                    digest.update(chunk)
                    fout.write(chunk)
                    size += len(chunk)
                    if progress is not None:
                        progress(done + size, total)
                fout.flush()
                if not deferring:  # a deferred block syncs every copy at once
                    os.fsync(fout.fileno())
            hexdigest = digest.hexdigest()
            if hash_file(tmp) != (hexdigest, size):
                raise IntegrityError(f"{src} changed while it was copied; register it again.")
            kept = self._defer(tmp, hexdigest)
            if not kept:
                self._settle(tmp, hexdigest)
        finally:
            if not kept:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        return hexdigest, size

    def put_path(self, src: Path, progress: Progress | None = None) -> Stored:
        """Store a file, or a folder as its files plus a manifest object."""
        if not src.is_dir():
            digest, size = self.put_file(src, progress, 0, src.stat().st_size)
            return Stored(digest, size, False)
        files = list_files(src)
        total = sum(path.stat().st_size for _, path in files)
        entries: list[dict[str, Any]] = []
        done = 0
        for rel, path in files:
            digest, size = self.put_file(path, progress, done, total)
            done += size
            entries.append({"path": rel, "sha256": digest, "bytes": size})
        return Stored(self.put_bytes(manifest(entries)), done, True)

    def read_manifest(self, digest: str) -> list[dict[str, Any]]:
        """The entries of the manifest object ``digest``."""
        import json

        path = self.path(digest)
        if not path.is_file():
            raise NotFound(f"Object {digest} is missing from {self.root}; restore it from git.")
        raw = json.loads(path.read_bytes())
        if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT:
            raise IntegrityError(f"Object {digest} is not a minireg folder manifest.")
        files = raw["files"]
        assert isinstance(files, list)
        return files

    def check(self, digest: str, is_dir: bool) -> list[str]:
        """Re-hash an artifact (every file of a folder) against its digests; list problems."""
        path = self.path(digest)
        link = self.link_in_store(digest)
        if link is not None:
            return [f"object {digest} is reached through a symlink ({link}); restore the real file"]
        if not path.is_file():
            return [f"object {digest} is missing"]
        if hash_file(path)[0] != digest:
            return [f"object {digest} does not match its digest (the file was changed)"]
        if not is_dir:
            return []
        problems = []
        for entry in self.read_manifest(digest):
            file_digest = str(entry["sha256"])
            file_path = self.path(file_digest)
            link = self.link_in_store(file_digest)
            if link is not None:
                problems.append(
                    f"object {file_digest} ({entry['path']}) is reached through a symlink "
                    f"({link}); restore the real file"
                )
            elif not file_path.is_file():
                problems.append(f"object {file_digest} ({entry['path']}) is missing")
            elif hash_file(file_path)[0] != file_digest:
                problems.append(f"object {file_digest} ({entry['path']}) does not match its digest")
        return problems

    def all_digests(self) -> list[str]:
        """Every stored object's digest, by its file name."""
        base = self.root / "sha256"
        if not base.is_dir():
            return []
        return sorted(
            f"{sub.name}{obj.name}"
            for sub in base.iterdir()
            if sub.is_dir()
            for obj in sub.iterdir()
            if not obj.name.startswith(TMP_PREFIX)
        )

    def materialize(self, digest: str, cache: Path) -> Path:
        """A folder artifact as real files under ``cache/<digest>/`` (hard links where possible)."""
        target = cache / digest
        if target.is_dir():
            return target
        cache.mkdir(parents=True, exist_ok=True)
        remove_orphans(cache)
        tmp = temp_name(target)
        tmp.mkdir()
        try:
            for entry in self.read_manifest(digest):
                rel = str(entry["path"])
                if rel.startswith("/") or ".." in Path(rel).parts:
                    raise Unsafe(f"Manifest {digest} names an unsafe path {rel!r}.")
                dest = tmp / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                src = self.path(str(entry["sha256"]))
                try:
                    os.link(src, dest)
                except OSError:
                    dest.write_bytes(src.read_bytes())
            os.replace(tmp, target)
        except FileExistsError:
            # Another process materialized it first; theirs is as good as ours.
            pass
        except OSError as exc:
            if not target.is_dir():
                raise
            del exc
        finally:
            if tmp.exists():
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
        return target
