"""Copy a version's artifact out of the registry as ordinary, writable files: :func:`checkout`.

Named ``checkouts`` so that ``minireg.loading.checkout`` stays the function
(``minireg.cli.api`` names it by that dotted path).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from minireg.domain.records import VersionRecord
from minireg.domain.uris import ModelURI
from minireg.errors import IntegrityError, InvalidInput, Unsafe
from minireg.loading.resolution import RegistryLike, Resolved, as_registry, as_uri
from minireg.service.registry import Registry
from minireg.storage.atomic import temp_name

_CHUNK = 1 << 20


def checkout(
    uri: str | ModelURI, dest: Path | str, registry: RegistryLike = None, *, force: bool = False
) -> Resolved:
    """Copy a version's artifact out of the registry as ordinary, writable files.

    A file goes to ``dest`` (or ``dest/<its name>`` when ``dest`` is a folder);
    a folder becomes ``dest`` (which must not exist or be empty). Each byte is
    hashed on the way and checked against the recorded sha256 before the copy
    appears under its name.

    Returns:
        The version record and the path written (``dest`` or ``dest/<name>``).

    Raises:
        InvalidInput: ``dest`` is taken (use ``force``), or its folder does not exist.
        NotFound: the model, version, stage or alias does not exist.
        IntegrityError: the artifact does not match its recorded sha256.
        Unsafe: the artifact's object (or a file of a folder) is a symlink.

    Example:
        >>> minireg.checkout("models:/churn_predictor/Production", "build/")
    """
    reg = as_registry(registry)
    rec = reg.resolve(as_uri(uri))
    reg.artifact_path(rec)  # refuses a symlinked object (exit 8) before anything is written
    if rec.is_dir:
        return Resolved(rec, _checkout_folder(reg, rec, Path(dest), force))
    return Resolved(rec, _checkout_file(reg, rec, Path(dest), force))


# -- a file ----------------------------------------------------------------------


def _checkout_file(reg: Registry, rec: VersionRecord, target: Path, force: bool) -> Path:
    """Copy a file artifact to ``target`` (or inside it, when a folder); the path written."""
    if target.is_dir():
        target = target / rec.artifact
    if target.is_dir():
        raise InvalidInput(f"{target} is a folder; choose a file path.")
    if target.exists() and not force:
        raise InvalidInput(f"{target} already exists; choose another path or add --force.")
    _check_parent(target)
    tmp = temp_name(target)
    try:
        what = f"The artifact of {rec.model} version {rec.version}"
        _copy_checked(reg.artifact_path(rec), tmp, rec.artifact_sha256, what)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


# -- a folder ----------------------------------------------------------------------


def _checkout_folder(reg: Registry, rec: VersionRecord, target: Path, force: bool) -> Path:
    """Copy a folder artifact to ``target`` through a staging folder beside it."""
    import shutil

    problems = reg.check_artifact(rec)
    if problems:
        raise IntegrityError(
            f"The artifact of {rec.model} version {rec.version} does not match its recorded "
            "sha256; nothing was checked out: restore the registry's objects/ from git and "
            "run `minireg verify`.",
            problems,
        )
    entries = reg.manifest(rec)
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"{target} is a file; a folder artifact needs a folder.")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise InvalidInput(f"{target} is not empty; choose another folder or add --force.")
    _check_parent(target)
    staging = temp_name(target)
    staging.mkdir()
    try:
        _copy_entries(reg, rec, entries, staging)
        _move_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _copy_entries(
    reg: Registry, rec: VersionRecord, entries: list[dict[str, Any]], staging: Path
) -> None:
    """Copy every file the manifest names into ``staging``, each checked on the way."""
    for entry in entries:
        rel = str(entry["path"])
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise Unsafe(f"The manifest of {rec.model} names an unsafe path {rel!r}.")
        out = staging / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        digest = str(entry["sha256"])
        what = f"{rel} of {rec.model} version {rec.version}"
        _copy_checked(reg.object_path(digest), out, digest, what)


def _move_into_place(staging: Path, target: Path) -> None:
    """Rename the staged folder to ``target``, or its files into ``target`` when it exists."""
    if not target.is_dir():
        os.replace(staging, target)
        return
    # Into an existing folder (empty, or with --force): file by file.
    for rel, file in _files(staging):
        final = target / rel
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, final)


def _files(folder: Path) -> list[tuple[str, Path]]:
    return sorted((p.relative_to(folder).as_posix(), p) for p in folder.rglob("*") if p.is_file())


# -- both ----------------------------------------------------------------------------


def _check_parent(target: Path) -> None:
    if not target.parent.is_dir():
        raise InvalidInput(f"The folder {target.parent} does not exist; create it first.")


def _copy_checked(src: Path, dest: Path, digest: str, what: str) -> None:
    """Copy ``src`` to ``dest`` (a new, writable file) while hashing; IntegrityError on mismatch."""
    sha = hashlib.sha256()
    with open(src, "rb") as fin, open(dest, "xb") as fout:
        while chunk := fin.read(_CHUNK):
            sha.update(chunk)
            fout.write(chunk)
    if sha.hexdigest() != digest:
        raise IntegrityError(
            f"{what} does not match its recorded sha256 ({digest[:12]}…, at {src}); nothing was "
            "checked out: restore the registry's objects/ from git and run `minireg verify`."
        )
