"""The registry folder on disk: the one implementation of :class:`minireg.storage.Storage`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from minireg.domain.ledger import render_csv
from minireg.domain.records import Event, VersionRecord
from minireg.storage.atomic import atomic_write, remove_orphans
from minireg.storage.lock import registry_lock
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
        """Hold the registry lock; on entry, clean up after writers that died."""
        with registry_lock(self.root, self.timeout):
            self._locked = True
            try:
                remove_orphans(self.root)
                remove_orphans(self.objects.root)
                yield
            finally:
                self._locked = False

    def read_event_lines(self) -> list[str]:
        """Every complete line of ``events.jsonl``.

        A last line without its newline is a write still under way (or one cut
        short by a crash): it is not part of the trail yet, so it is left out.
        """
        try:
            data = self.events_path.read_bytes()
        except FileNotFoundError:
            return []
        text = data.decode("utf-8", errors="replace")
        lines = text.split("\n")
        # The piece after the last newline is empty or an unfinished write.
        return [line for line in lines[:-1] if line != ""]

    def append_events(self, events: list[Event]) -> None:
        """Append events in one write, then fsync.

        Appending keeps a write O(1) in the size of the trail. An unfinished
        last line (a writer killed mid-write) is cut off first; it was never
        acknowledged to anyone.
        """
        assert self._locked, "append_events needs the registry lock"
        payload = "".join(event.to_line() + "\n" for event in events).encode("utf-8")
        fd = os.open(self.events_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size:
                os.lseek(fd, size - 1, os.SEEK_SET)
                if os.read(fd, 1) != b"\n":
                    data = self.events_path.read_bytes()
                    os.ftruncate(fd, data.rfind(b"\n") + 1)
            os.lseek(fd, 0, os.SEEK_END)
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)

    def write_ledger(self, records: list[VersionRecord], events: list[Event]) -> None:
        """Replace the ledger with the view of ``records`` (atomically)."""
        assert self._locked, "write_ledger needs the registry lock"
        if self.ledger_format == "xlsx":
            from minireg.storage.ledger_xlsx import workbook_bytes

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
        write_stamp(self.cache, self.events_path, self.ledger_path.name, data)

    def last_event_line(self) -> str | None:
        """The last complete line of ``events.jsonl`` (None for an empty trail).

        Reads only the end of the file when the line fits there.
        """
        try:
            with open(self.events_path, "rb") as fh:
                size = fh.seek(0, os.SEEK_END)
                start = max(0, size - (1 << 16))
                fh.seek(start)
                tail = fh.read()
        except FileNotFoundError:
            return None
        end = tail.rfind(b"\n")
        if end < 0:
            return None if start == 0 else self._last_line_slow()
        begin = tail.rfind(b"\n", 0, end) + 1
        if begin == 0 and start > 0:
            return self._last_line_slow()
        line = tail[begin:end].decode("utf-8", errors="replace")
        return line or self._last_line_slow()

    def _last_line_slow(self) -> str | None:
        lines = self.read_event_lines()
        return lines[-1] if lines else None

    def put_object(self, data: bytes) -> str:
        return self.objects.put_bytes(data)

    def object_path(self, digest: str) -> Path:
        return self.objects.path(digest)
