"""Content-addressed objects: ``objects/sha256/ab/cdef…``, immutable, written once."""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minireg.domain.canonical import sha256_hex
from minireg.errors import IntegrityError, NotFound, Unsafe
from minireg.storage.artifact_files import MANIFEST_FORMAT as MANIFEST_FORMAT
from minireg.storage.artifact_files import hash_file as hash_file
from minireg.storage.artifact_files import hash_path as hash_path
from minireg.storage.artifact_files import list_files as list_files
from minireg.storage.artifact_files import manifest, sync_files
from minireg.storage.atomic import TMP_PREFIX, fsync_dir, remove_orphans, temp_name
from minireg.storage.reading import CHUNK, Reading, unchanged
from minireg.storage.reading import Progress as Progress

_CHUNK = CHUNK
MATCH_FROM = 64 << 20
"""From this size a file is compared with the stored objects of its size before it is
copied (below it, a copy costs less than looking them up)."""
_MAX_CANDIDATES = 4
THREAD_FROM = 8 << 20
"""From this size a file is hashed in a second thread while it is read and copied."""


@dataclass(frozen=True)
class Stored:
    """What storing an artifact gave: its digest (a manifest's for a folder) and its size."""

    sha256: str
    bytes: int
    is_dir: bool


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
            sync_files([tmp for tmp, _ in pending])
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

    def adopt(self, tmp: Path, digest: str) -> None:
        """Rename the checked file ``tmp`` (in this store's folder) to object ``digest``.

        The caller has hashed ``tmp`` to ``digest``; an intact object already there wins.
        """
        self._settle(tmp, digest)

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
        self,
        src: Path,
        progress: Progress | None = None,
        done: int = 0,
        total: int = 0,
        *,
        sizes: dict[int, list[str]] | None = None,
    ) -> tuple[str, int]:
        """Store ``src``, hashing it in one pass; return (sha256, size).

        New bytes are copied while they are hashed, under a temporary name renamed
        into place once the digest is known, so a crash never leaves a half object
        under a real name. A large file is first read beside the stored objects of
        its size (``sizes``: their digests by size, else looked up): when it equals
        one byte for byte and hashes to its name, that object is proven intact and
        nothing is written (registering known bytes costs one hash pass). A source
        that changes while it is read is refused.

        Raises:
            IntegrityError: ``src`` changed while it was read.
            Unsafe: a symlink sits where the object belongs.
        """
        before = os.stat(src)
        self.root.mkdir(parents=True, exist_ok=True)
        candidates: list[str] = []
        if before.st_size >= MATCH_FROM:
            found = self.sizes() if sizes is None else sizes
            candidates = found.get(before.st_size, [])[:_MAX_CANDIDATES]
        threaded = before.st_size >= THREAD_FROM
        with (
            open(src, "rb", buffering=0) as fin,
            Reading(
                src, fin, progress, done, total, threaded=threaded, size_hint=before.st_size
            ) as reading,
        ):
            paths = {d: self.path(d) for d in candidates if self.link_in_store(d) is None}
            digest = reading.compare(paths) if paths else None
            if digest is None:
                digest = self._copy_in(reading, before)
            unchanged(src, before)
        return digest, reading.size

    def _copy_in(self, reading: Reading, before: os.stat_result) -> str:
        """Copy ``reading``'s source (what it read so far, then the rest) into a new object."""
        tmp = temp_name(self.root / "object")
        deferring, kept = self._deferring(), False
        try:
            with open(tmp, "xb") as fout:
                reading.copy_to(fout)
                fout.flush()
                if not deferring:  # a deferred block syncs every copy at once
                    os.fsync(fout.fileno())
            unchanged(reading.src, before)  # before the rename: a mixed copy is never kept
            digest = reading.hexdigest()
            kept = self._defer(tmp, digest)
            if not kept:
                self._settle(tmp, digest)
        finally:
            if not kept:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        return digest

    def sizes(self) -> dict[int, list[str]]:
        """The stored objects' digests by size (symlinks and temporary files left out)."""
        found: dict[int, list[str]] = {}
        base = self.root / "sha256"
        if not base.is_dir() or base.is_symlink():
            return found
        with os.scandir(base) as shards:
            for shard in shards:
                if not shard.is_dir(follow_symlinks=False):
                    continue
                with os.scandir(shard.path) as entries:
                    for entry in entries:
                        if entry.name.startswith(TMP_PREFIX):
                            continue
                        if entry.is_file(follow_symlinks=False):
                            size = entry.stat(follow_symlinks=False).st_size
                            found.setdefault(size, []).append(shard.name + entry.name)
        return found

    def put_path(self, src: Path, progress: Progress | None = None) -> Stored:
        """Store a file, or a folder as its files plus a manifest object."""
        if not src.is_dir():
            digest, size = self.put_file(src, progress, 0, src.stat().st_size)
            return Stored(digest, size, False)
        files = list_files(src)
        total = sum(path.stat().st_size for _, path in files)
        large = any(path.stat().st_size >= MATCH_FROM for _, path in files)
        sizes = self.sizes() if large else {}
        entries: list[dict[str, Any]] = []
        done = 0
        for rel, path in files:
            digest, size = self.put_file(path, progress, done, total, sizes=sizes)
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

    def check(self, digest: str, is_dir: bool, *, missing_ok: bool = False) -> list[str]:
        """Re-hash an artifact (every file of a folder) against its digests; list problems.

        ``missing_ok``: this folder is a cache of a remote, where a missing object is fine.
        """
        path = self.path(digest)
        link = self.link_in_store(digest)
        if link is not None:
            return [f"object {digest} is reached through a symlink ({link}); restore the real file"]
        if not path.is_file():
            return [] if missing_ok else [f"object {digest} is missing"]
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
                if not missing_ok:
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
