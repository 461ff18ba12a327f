"""The files of an artifact: listing a folder, its manifest, hashing, syncing many at once.

Plain functions over paths, used by :class:`minireg.storage.objects.ObjectStore`
and by the code that checks an artifact before it is stored.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
from typing import Any

from minireg.domain.canonical import canonical_json, sha256_hex
from minireg.errors import InvalidInput, Unsafe
from minireg.storage.reading import CHUNK

MANIFEST_FORMAT = "minireg-manifest/1"


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
        while chunk := fh.read(CHUNK):
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


def sync_files(paths: list[Path]) -> None:
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
