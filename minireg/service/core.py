"""The core every Registry verb builds on: its settings, storage, trail, writer and commits."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from minireg.domain.config import Config
from minireg.domain.names import (
    check_person,
)
from minireg.domain.records import Event
from minireg.domain.state import State
from minireg.domain.values import utc_text
from minireg.service.hooking import HookSite
from minireg.service.writer import Decide, Writer
from minireg.storage import Storage
from minireg.storage.cache import Folded, Memo
from minireg.storage.files import FileStorage
from minireg.storage.lock import lock_timeout
from minireg.storage.remote import Bars, RemoteStore

if TYPE_CHECKING:
    from minireg.adapters.git.commit import CommitOutcome

log = logging.getLogger("minireg")

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _remote_store(url: str) -> RemoteStore | None:
    """The remote ``objects/`` caches, None when the objects live in git.

    Cheap: the adapter imports fsspec (and the backend) only when an object crosses.
    """
    if not url:
        return None
    from minireg.adapters.remote import FsspecRemote

    return FsspecRemote(url)


class RegistryCore:
    """What every verb of :class:`minireg.Registry` shares (see that class)."""

    def __init__(
        self,
        root: Path,
        config: Config,
        *,
        storage: Storage | None = None,
        bars: Bars | None = None,
    ) -> None:
        self.root = root
        self._config = config
        timeout = lock_timeout(config.lock_timeout)
        self.storage: Storage = storage or FileStorage(
            root, config.format, timeout, _remote_store(config.remote)
        )
        # Progress bars for uploads and downloads (the CLI's, on a terminal); none in a library.
        self._bars = bars
        self.clock: Clock = _utc_now
        self.created = False
        """True when :func:`init_registry` made this registry just now."""
        self._writer = Writer(self.storage, config)
        self._memo = Memo()
        self._hooks = HookSite(root, config.hooks, self.storage.cache, timeout)

    @property
    def config(self) -> Config:
        """The settings from ``minireg.toml`` (read-only; ``convert`` returns a new Registry)."""
        return self._config

    def events(self) -> list[Event]:
        """The audit trail, in order (unchecked; :meth:`verify` checks it).

        Raises:
            IntegrityError: a line is not an event (a git conflict marker, say).
        """
        return self.storage.read_events()

    def state(self) -> State:
        """The current state: every version and alias (the read cache plus the new events).

        At scale, the records of a state read from the cache are loaded as they are
        used (see :mod:`minireg.storage.cache`).
        """
        return self.storage.state(self.config.initial_stage).state

    def _shared_state(self) -> State:
        """The current state for reading only, shared by the reads of this process."""
        return self._memo.get(self.storage.ends_at, self._fold)[0]

    def _fold(self) -> Folded:
        # Reads never report the hash chain's problems (writes and `verify` do).
        return self.storage.state(self.config.initial_stage, checked=False)

    def _write(
        self, decide: Decide, *, actor: str | None, now: datetime | None
    ) -> tuple[list[Event], State]:
        who = self._actor(actor)
        new, state = self._writer.write(decide, actor=who, time=utc_text(now or self.clock()))
        self._hooks.after(new)  # the write has returned: the lock is released
        return new, state

    def _actor(self, actor: str | None) -> str:
        if actor:
            return check_person("actor", actor)
        named = os.environ.get("MINIREG_ACTOR", "").strip()
        if named:  # what current_actor answers first, without importing subprocess
            return check_person("actor (MINIREG_ACTOR)", named)
        from minireg.adapters.git.info import current_actor

        return current_actor()

    @contextmanager
    def committing(self, enabled: bool | None = None, message: str = "") -> Iterator[CommitOutcome]:
        """Make one git commit of the registry files the writes inside this block change.

        ``enabled`` None takes ``commit`` from ``minireg.toml``. Before anything is
        written it refuses when other changes are already staged or git has no
        author identity. The commit happens under the registry lock, right after
        each write of this thread, so concurrent writers commit in turn. It never pushes.

        Raises:
            Refused: not in a git repository, changes already staged, or no git identity.

        Example:
            >>> with reg.committing(True) as outcome:
            ...     reg.promote("churn", 7, "Production", approver="alice@corp")
            >>> outcome.sha
        """
        from minireg.adapters.git.commit import CommitOutcome, commit_hook

        if not (self.config.commit if enabled is None else enabled):
            yield CommitOutcome()
            return
        with (
            commit_hook(self.root, self.storage, message) as (hook, outcome),
            self._writer.hooked(hook),
        ):
            yield outcome
