"""Storage behind one small interface: lock, events, ledger, objects."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from minireg.domain.records import Event, VersionRecord


class Storage(Protocol):
    """What the service needs from the disk; :class:`minireg.storage.files.FileStorage` is one."""

    root: Path

    def lock(self) -> AbstractContextManager[None]:
        """Hold the registry lock for the duration of a ``with`` block."""
        ...

    def read_event_lines(self) -> list[str]:
        """Every complete line of the audit trail, in order."""
        ...

    def append_events(self, events: list[Event]) -> None:
        """Append events durably; call only while holding the lock."""
        ...

    def write_ledger(self, records: list[VersionRecord], events: list[Event]) -> None:
        """Replace the ledger with the view of ``records``; call only while holding the lock."""
        ...

    def put_object(self, data: bytes) -> str:
        """Store ``data`` as an object and return its sha256."""
        ...

    def object_path(self, digest: str) -> Path:
        """Where the object ``digest`` lives (it may not exist)."""
        ...
