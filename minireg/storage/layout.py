"""Where a registry lives and what a new one holds: finding it, its settings, its first files."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from minireg.domain import ledger as ledger_view
from minireg.domain.config import DEFAULT_TOML, Config, parse_config
from minireg.errors import InvalidInput, local_io
from minireg.storage.atomic import atomic_write
from minireg.storage.files import CONFIG_NAME, CSV_NAME, EVENTS_NAME
from minireg.storage.lock import LOCK_NAME

DEFAULT_DIR = "registry"
GITIGNORE = f"""\
# minireg: the lock file, temporary files and the folder-artifact cache are not history.
{LOCK_NAME}
.tmp-*
objects/.tmp-*
.cache/
"""
OBJECTS_IGNORED = """\
# minireg: objects live in the remote ([objects] remote in minireg.toml); objects/ is a cache.
/objects/
"""
GITATTRIBUTES = f"""\
# minireg: keep the ledger and the audit trail one line per record, LF everywhere.
{CSV_NAME} text eol=lf
{EVENTS_NAME} text eol=lf
# minireg: merge both branches' events (and rebuild the ledger) with the minireg merge
# driver; each clone installs it once with `minireg install-merge-driver`.
{CSV_NAME} merge=minireg
{EVENTS_NAME} merge=minireg
"""


def locate(path: Path | str | None = None, *, cwd: Path | None = None) -> Path:
    """The registry folder: ``path``, else ``MINIREG_REGISTRY``, else the nearest ``registry/``.

    The search walks up from ``cwd`` and stops at the git root. Without one it
    answers ``registry/`` at the git root (or ``cwd``), which may not exist yet.
    """
    if path is not None and str(path) != "":
        return Path(path)
    env = os.environ.get("MINIREG_REGISTRY", "")
    if env:
        return Path(env)
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_DIR
        if (candidate / CONFIG_NAME).is_file():
            return candidate
        if (folder / ".git").exists():
            return candidate
    return here / DEFAULT_DIR


def is_registry(root: Path) -> bool:
    """True when ``root`` holds a registry (its settings file marks a complete one)."""
    return (root / CONFIG_NAME).is_file()


def read_config(root: Path) -> Config:
    """The checked settings of the registry at ``root``.

    Raises:
        InvalidInput: ``minireg.toml`` is not valid TOML or not valid settings.
    """
    return parse_settings((root / CONFIG_NAME).read_text(encoding="utf-8"), root / CONFIG_NAME)


def parse_settings(text: str, where: Path) -> Config:
    """The checked settings in ``text``, the content of ``where`` (named in messages).

    Raises:
        InvalidInput: not valid TOML or not valid settings.
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{where} is not valid TOML ({exc}).") from exc
    return parse_config(raw)


def create_files(root: Path) -> None:
    """Write a new registry's files at ``root`` (existing files are kept as they are).

    Raises:
        InvalidInput: ``root`` exists and is not a folder.
        LocalIOError: the folder cannot be written.
    """
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"{root} exists and is not a folder; choose another --registry.")
    with local_io(root, False, "create the registry at"):
        root.mkdir(parents=True, exist_ok=True)
        (root / "objects").mkdir(exist_ok=True)
        for name, text in (
            (".gitignore", GITIGNORE),
            (".gitattributes", GITATTRIBUTES),
            (EVENTS_NAME, ""),
            (CSV_NAME, ledger_view.render_csv([]).decode()),
        ):
            if not (root / name).exists():
                atomic_write(root / name, text.encode())
        # The settings go last: their presence is what marks a complete registry.
        atomic_write(root / CONFIG_NAME, DEFAULT_TOML.encode())


def objects_ignored(root: Path) -> bool:
    """True when the registry's ``.gitignore`` ignores ``objects/`` (a remote holds them)."""
    try:
        lines = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return False
    return any(line.strip() in ("objects/", "/objects/", "objects", "/objects") for line in lines)


def ignore_objects(root: Path) -> bool:
    """Make ``objects/`` git-ignored (a remote holds the objects); True when it changed.

    Objects git already tracks stay tracked until they are removed from the index.

    Raises:
        LocalIOError: ``.gitignore`` cannot be written.
    """
    if objects_ignored(root):
        return False
    path = root / ".gitignore"
    with local_io(path, None, "update"):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = GITIGNORE
        if text and not text.endswith("\n"):
            text += "\n"
        atomic_write(path, (text + OBJECTS_IGNORED).encode())
    return True
