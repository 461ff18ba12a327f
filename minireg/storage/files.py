"""The registry folder on disk: the one implementation of :class:`minireg.storage.Storage`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from minireg.domain.chain import Trail, is_complete_event, split_trail
from minireg.domain.ledger import render_csv
from minireg.domain.records import Event, VersionRecord
from minireg.errors import LocalIOError, MiniregError, local_io_error
from minireg.storage.atomic import atomic_write, remove_orphans
from minireg.storage.lock import LOCK_NAME, registry_lock
from minireg.storage.objects import ObjectStore
from minireg.storage.stamp import write_stamp

EVENTS_NAME = "events.jsonl"
CONFIG_NAME = "minireg.toml"
CSV_NAME = "ledger.csv"
XLSX_NAME = "ledger.xlsx"
CACHE_NAME = ".cache"


class FileStorage:
    """Events, ledger and objects in one folder, guarded by one lock."""

    def __init__(self, root: Path, ledger_format: str = "csv", timeout: float = 30.0) -> None:
        self.root = root
        self.ledger_format = ledger_format
        self.timeout = timeout
        self.objects = ObjectStore(root / "objects")
        self._locked = False

    @property
    def events_path(self) -> Path:
        return self.root / EVENTS_NAME

    @property
    def ledger_path(self) -> Path:
        return self.root / (XLSX_NAME if self.ledger_format == "xlsx" else CSV_NAME)

    @property
    def cache(self) -> Path:
        return self.root / CACHE_NAME

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the registry lock; on entry, clean up after writers that died.

        Raises:
            RegistryBusy: not acquired within the timeout.
            LocalIOError: the lock file cannot be created or opened (a read-only
                checkout, a full disk, no permission): nothing was recorded.
        """
        with ExitStack() as stack:
            try:
                stack.enter_context(registry_lock(self.root, self.timeout))
            except MiniregError:
                raise
            except OSError as exc:
                raise local_io_error(exc, self.root / LOCK_NAME, False, "lock") from exc
            self._locked = True
            try:
                remove_orphans(self.root)
                remove_orphans(self.objects.root)
                yield
            finally:
                self._locked = False

    @contextmanager
    def consistent_read(self) -> Iterator[bool]:
        """Hold the lock while reading, when the folder allows it; yields whether it does.

        A read-only checkout (or one without write permission) cannot create the
        lock file, and nobody can write there either, so it is read without it.
        """
        with ExitStack() as stack:
            try:
                stack.enter_context(self.lock())
                locked = True
            except LocalIOError:
                locked = False
            yield locked

    def read_trail(self) -> Trail:
        """The lines of ``events.jsonl`` and the state of its end (see :class:`Trail`)."""
        try:
            data = self.events_path.read_bytes()
        except FileNotFoundError:
            return Trail([])
        except OSError as exc:
            raise local_io_error(exc, self.events_path, None, "read") from exc
        return split_trail(data)

    def read_event_lines(self) -> list[str]:
        """Every event line of ``events.jsonl`` (an unterminated complete event included)."""
        return self.read_trail().lines

    def append_events(self, events: list[Event]) -> None:
        """Append events in one write, then fsync: the commit point of every change.

        Appending keeps a write O(1) in the size of the trail. What follows the
        last newline is handled by the rule of :class:`Trail`: a complete event
        gets its newline, a torn write is cut off. If the write or the fsync
        fails, the file is cut back to its size before the append, so nothing
        is visible, and :class:`LocalIOError` says that nothing was recorded.
        """
        assert self._locked, "append_events needs the registry lock"
        payload = "".join(event.to_line() + "\n" for event in events).encode("utf-8")
        path = self.events_path
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise local_io_error(exc, path, False, "open") from exc
        try:
            start = self._prepare_end(fd)
            if start < 0:  # the last event lacks its newline: it is an event, keep it
                start = -start
                payload = b"\n" + payload
            self._append_at(fd, start, payload)
        finally:
            os.close(fd)

    def _prepare_end(self, fd: int) -> int:
        """Where to append: the file size, minus a torn last line (cut off here).

        Returns the negated size when the file ends in a complete event without
        its newline, which the append then supplies.
        """
        path = self.events_path
        try:
            size = os.fstat(fd).st_size
            if not size:
                return 0
            os.lseek(fd, size - 1, os.SEEK_SET)
            if os.read(fd, 1) == b"\n":
                return size
            data = path.read_bytes()
            cut = data.rfind(b"\n") + 1
            if is_complete_event(data[cut:].decode("utf-8", errors="replace")):
                return -size
            os.ftruncate(fd, cut)
            return cut
        except OSError as exc:
            raise local_io_error(exc, path, False, "append to") from exc

    def _append_at(self, fd: int, start: int, payload: bytes) -> None:
        path = self.events_path
        try:
            os.lseek(fd, start, os.SEEK_SET)
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        except OSError as exc:
            # Before the commit point: take back whatever part of the append reached the
            # file, so no reader ever sees a change that was not acknowledged.
            try:
                os.ftruncate(fd, start)
                os.fsync(fd)
            except OSError:
                raise local_io_error(exc, path, None, "append to") from exc
            raise local_io_error(exc, path, False, "append to") from exc

    def write_ledger(self, records: list[VersionRecord], events: list[Event]) -> None:
        """Replace the ledger with the view of ``records`` (atomically)."""
        assert self._locked, "write_ledger needs the registry lock"
        if self.ledger_format == "xlsx":
            from minireg.adapters.xlsx import workbook_bytes

            data = workbook_bytes(records, events)
        else:
            data = render_csv(records)
        atomic_write(self.ledger_path, data)
        # Lets `list --where` read the ledger instead of folding every event. Only an
        # optimisation: a stamp that cannot be written leaves queries to fold.
        try:
            write_stamp(self.cache, self.events_path, self.ledger_path.name, data)
        except OSError:
            pass

    def write_ledger_bytes(self, data: bytes) -> None:
        """Replace the ledger with ``data``, already rendered from the events (and stamp it)."""
        assert self._locked, "write_ledger_bytes needs the registry lock"
        atomic_write(self.ledger_path, data)
        try:
            write_stamp(self.cache, self.events_path, self.ledger_path.name, data)
        except OSError:
            pass  # only an optimisation, as in write_ledger

    def put_object(self, data: bytes) -> str:
        return self.objects.put_bytes(data)

    def object_path(self, digest: str) -> Path:
        return self.objects.path(digest)
