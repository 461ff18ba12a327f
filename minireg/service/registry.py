"""The service behind the API and the CLI: :class:`Registry`, one public method per verb.

Reads fold the events through the one read cache (:mod:`minireg.storage.cache`);
every write goes through the one write path (:mod:`minireg.service.writer`),
whose decisions are pure (:mod:`minireg.domain.decisions`). Collaborators are
passed in, never reached into: other modules see a Registry only through the
methods below.
"""

from __future__ import annotations

import logging
from pathlib import Path

from minireg.errors import NotFound
from minireg.service.hook_verbs import HookVerbs
from minireg.service.maintenance import Maintenance
from minireg.service.remote import RemoteVerbs
from minireg.service.writes import Writes
from minireg.storage.layout import create_files, ignore_objects, is_registry, locate, read_config
from minireg.storage.remote import Bars

log = logging.getLogger("minireg")


def init_registry(path: Path | str | None = None) -> Registry:
    """Create a registry (or open the existing one, left exactly as it is).

    ``Registry.created`` says whether it was made now.

    Raises:
        InvalidInput: the path exists and is not a folder.
        LocalIOError: the folder cannot be written.
    """
    root = locate(path)
    if is_registry(root):
        reg = open_registry(root)
        if reg.config.remote and ignore_objects(root):
            log.info("objects/ is a local cache of %s now: added it to .gitignore", reg.remote_url)
        return reg
    create_files(root)
    reg = open_registry(root)
    reg.created = True
    return reg


def open_registry(path: Path | str | None = None, *, bars: Bars | None = None) -> Registry:
    """Open the registry at ``path`` (or the one found from the current folder).

    ``bars`` makes a progress bar for each upload or download to the remote
    (``label -> (update(done, total), finish())``); the library shows none.

    Raises:
        NotFound: no registry is there.
        InvalidInput: its ``minireg.toml`` is not valid.
    """
    root = locate(path)
    if not is_registry(root):
        raise NotFound(f"No minireg registry at {root}; create one with `minireg init`.")
    return Registry(root, read_config(root), bars=bars)


class Registry(Writes, Maintenance, RemoteVerbs, HookVerbs):
    """One registry folder: every verb is a public method. Safe to share between threads.

    The verbs live by kind in :mod:`~minireg.service.reads` (which
    :class:`~minireg.service.remote.RemoteVerbs` builds on),
    :mod:`~minireg.service.writes`, :mod:`~minireg.service.maintenance` and
    :mod:`~minireg.service.remote` and :mod:`~minireg.service.hook_verbs`, on
    the shared :mod:`~minireg.service.core`.

    Example:
        >>> reg = minireg.open_registry()
        >>> v = reg.register("churn", "model.joblib", metrics={"auc_roc": 0.91})
        >>> reg.promote("churn", v.version, "Staging")
    """
