"""Storage behind one small interface: lock, trail, ledger, objects, the read cache.

The service reaches the disk only through :class:`Storage`;
:class:`minireg.storage.files.FileStorage` is the one implementation (a folder).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from minireg.domain.chain import Trail
from minireg.domain.records import Event
from minireg.storage.atomic import Data
from minireg.storage.cache import Folded, TrailEnd
from minireg.storage.ledger_file import LedgerFile
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
        """The audit trail's file."""
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
        """Every event line of the audit trail and how it ends (verify, gc, the XLSX ledger)."""
        ...

    def read_events(self) -> list[Event]:
        """Every event of the audit trail, in order, unchecked (history, export, XLSX)."""
        ...

    def state(self, initial: str, *, checked: bool = True) -> Folded:
        """The current state and where the trail ends: the read cache plus the new events
        (``checked`` False: the hash chain need not be checked, for reads that never
        report it)."""
        ...

    def save_state(self, folded: Folded) -> None:
        """Record a fold in the read cache (a writer after its append, under the lock)."""
        ...

    def ends_at(self, end: TrailEnd) -> bool:
        """True when the trail still ends at ``end`` (one short read)."""
        ...

    def trail_end(self) -> TrailEnd:
        """Where the trail ends now (read from its last lines)."""
        ...

    def append_events(self, events: list[Event]) -> TrailEnd:
        """Append events durably (the commit point), under the lock; where the trail ends now."""
        ...

    def ledger_path_for(self, fmt: str) -> Path:
        """Where the ledger of format ``fmt`` (csv or xlsx) lives."""
        ...

    def read_ledger(self, fmt: str | None = None) -> bytes | None:
        """The ledger's bytes (of format ``fmt``, default the configured one), None if missing."""
        ...

    def write_ledger(
        self, data: Data, end: TrailEnd, fmt: str | None = None, *, lines: bool = False
    ) -> None:
        """Replace the ledger with ``data`` (whole or in pieces), the view of the trail to end
        (``lines``: every row is one line)."""
        ...

    def remove_ledger(self, fmt: str) -> bool:
        """Remove the ledger of format ``fmt`` if it is there; True when one was removed."""
        ...

    def read_config_text(self) -> str:
        """The text of ``minireg.toml``."""
        ...

    def write_config_text(self, text: str) -> None:
        """Replace ``minireg.toml``; only while holding the lock."""
        ...

    def vouched_ledger(self, end: TrailEnd) -> bytes | None:
        """The ledger's bytes when they are known to be the view of the trail up to ``end``."""
        ...

    def vouched_rows(self, end: TrailEnd) -> tuple[LedgerFile, bool] | None:
        """The ledger open for reading (the caller closes it) when :meth:`vouched_ledger`
        would give its bytes, and whether every row is known to be one line."""
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
