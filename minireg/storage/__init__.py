"""Storage behind one small interface: lock, trail, ledger, objects, the read cache.

The service reaches the disk only through :class:`Storage`;
:class:`minireg.storage.files.FileStorage` is the one implementation (a folder).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from minireg.domain.chain import Trail
from minireg.domain.records import Event
from minireg.domain.state import State
from minireg.storage.objects import ObjectStore, Progress, Stored
from minireg.storage.remote import RemoteStore


class Storage(Protocol):
    """What the service needs from the disk."""

    root: Path
    objects: ObjectStore
    remote: RemoteStore | None
    """The object store ``objects/`` caches (``[objects] remote``), None: objects live in git."""

    @property
    def events_path(self) -> Path:
        """The audit trail's file (its stat keys the in-process read cache)."""
        ...

    @property
    def ledger_path(self) -> Path:
        """The ledger's file (``ledger.csv`` or ``ledger.xlsx``)."""
        ...

    @property
    def cache(self) -> Path:
        """The local, git-ignored folder of derived files (folder artifacts' files)."""
        ...

    def lock(self) -> AbstractContextManager[None]:
        """Hold the registry lock for the duration of a ``with`` block (writers)."""
        ...

    def consistent_read(self) -> AbstractContextManager[bool]:
        """Hold the lock while reading when the folder allows it; yields whether it does."""
        ...

    def read_trail(self) -> Trail:
        """The audit trail's event lines, how it ends, and its digest."""
        ...

    def read_event_lines(self) -> list[str]:
        """Every event line of the audit trail, in order."""
        ...

    def append_events(self, events: list[Event]) -> None:
        """Append events durably (the commit point); only while holding the lock."""
        ...

    def ledger_path_for(self, fmt: str) -> Path:
        """Where the ledger of format ``fmt`` (csv or xlsx) lives."""
        ...

    def read_ledger(self, fmt: str | None = None) -> bytes | None:
        """The ledger's bytes (of format ``fmt``, default the configured one), None if missing."""
        ...

    def write_ledger(self, data: bytes, trail_digest: str, fmt: str | None = None) -> None:
        """Replace the ledger with ``data``, the view of the trail ``trail_digest``."""
        ...

    def remove_ledger(self, fmt: str) -> bool:
        """Remove the ledger of format ``fmt`` if it is there; True when one was removed."""
        ...

    def vouch_ledger(self, trail_digest: str, data: bytes) -> None:
        """Record that the ledger's current bytes ``data`` are the view of ``trail_digest``."""
        ...

    def read_config_text(self) -> str:
        """The text of ``minireg.toml``."""
        ...

    def write_config_text(self, text: str) -> None:
        """Replace ``minireg.toml``; only while holding the lock."""
        ...

    def vouched_ledger(self, trail_digest: str) -> bytes | None:
        """The ledger's bytes when they are known to be the view of ``trail_digest``."""
        ...

    def state(self, trail: Trail, initial: str, parse: Callable[[list[str]], list[Event]]) -> State:
        """The state folded from ``trail`` (from the read cache when it matches)."""
        ...

    def save_state(self, state: State, trail_digest: str) -> None:
        """Record ``state`` as the fold of the trail ``trail_digest`` (after an append)."""
        ...

    def trail_digest(self) -> str:
        """The digest of the audit trail as it is now."""
        ...

    def put_path(self, src: Path, progress: Progress | None = None) -> Stored:
        """Store a file, or a folder as its files plus a manifest object."""
        ...

    def put_object(self, data: bytes) -> str:
        """Store ``data`` as an object and return its sha256."""
        ...

    def object_path(self, digest: str) -> Path:
        """Where the object ``digest`` lives (it may not exist)."""
        ...

    def read_object(self, digest: str) -> bytes | None:
        """The bytes of object ``digest``, or None when it is not stored."""
        ...
