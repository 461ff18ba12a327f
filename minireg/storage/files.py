"""The registry folder on disk: the one implementation of :class:`minireg.storage.Storage`."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from minireg.domain.chain import Trail, is_complete_event, split_events, split_trail
from minireg.domain.records import Event
from minireg.errors import LocalIOError, MiniregError, local_io_error
from minireg.storage import cache
from minireg.storage.atomic import Data, atomic_write, remove_orphans
from minireg.storage.cache import Folded, TrailEnd
from minireg.storage.events import parse_lines
from minireg.storage.ledger_file import LedgerFile
from minireg.storage.lock import LOCK_NAME, registry_lock
from minireg.storage.objects import ObjectStore, Progress, Stored
from minireg.storage.pread import read_at
from minireg.storage.remote import RemoteStore

EVENTS_NAME = "events.jsonl"
CONFIG_NAME = "minireg.toml"
CSV_NAME = "ledger.csv"
XLSX_NAME = "ledger.xlsx"
CACHE_NAME = ".cache"


def _line_start(fd: int, size: int) -> int:
    """Where the last line of the file begins (just after its last newline; 0 if none)."""
    window = 1 << 16
    while True:
        start = max(0, size - window)
        at = read_at(fd, size - start, start).rfind(b"\n")
        if at >= 0 or start == 0:
            return start + at + 1
        window *= 4


class FileStorage:
    """Events, ledger and objects in one folder, guarded by one lock."""

    def __init__(
        self,
        root: Path,
        ledger_format: str = "csv",
        timeout: float = 30.0,
        remote: RemoteStore | None = None,
    ) -> None:
        self.root = root
        self.ledger_format = ledger_format
        self.timeout = timeout
        self.objects = ObjectStore(root / "objects")
        self.remote = remote
        """The object store whose cache ``objects/`` is, None when objects live in git."""
        self._held = threading.local()  # per thread: a Registry may be shared by threads

    def holds_lock(self) -> bool:
        """True while this thread holds the registry lock through this storage."""
        return bool(getattr(self._held, "on", False))

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
            self._held.on = True
            try:
                remove_orphans(self.root)
                remove_orphans(self.objects.root)
                yield
            finally:
                self._held.on = False

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

    def _read_bytes(self) -> bytes:
        try:
            return self.events_path.read_bytes()
        except FileNotFoundError:
            return b""
        except OSError as exc:
            raise local_io_error(exc, self.events_path, None, "read") from exc

    def read_trail(self) -> Trail:
        """Every line of ``events.jsonl`` and the state of its end (see :class:`Trail`)."""
        return split_trail(self._read_bytes())

    def read_events(self) -> list[Event]:
        """Every event of ``events.jsonl``, in order (unchecked).

        Raises:
            IntegrityError: a line is not an event (a git conflict marker, say).
        """
        return parse_lines(split_events(self._read_bytes()).lines, self.events_path)

    def state(self, initial: str, *, checked: bool = True) -> Folded:
        """The current state: the read cache's entry and the events after it (see
        :mod:`minireg.storage.cache`), or a fold of the whole trail. ``checked``
        False: the hash chain need not be checked (for reads that never report it).

        Raises:
            IntegrityError: a line is not an event.
            LocalIOError: the trail cannot be read.
        """
        try:
            return cache.fold_trail(
                self.events_path, self.cache, initial, self._saving, checked=checked
            )
        except OSError as exc:
            raise local_io_error(exc, self.events_path, None, "read") from exc

    @contextmanager
    def _saving(self) -> Iterator[bool]:
        """Hold the lock for a cache write if it is free (or held here already); yields whether."""
        if self.holds_lock():
            yield True
            return
        with ExitStack() as stack:
            try:
                stack.enter_context(registry_lock(self.root, 0.0))
                held = True
            except (MiniregError, OSError):
                held = False
            yield held

    def save_state(self, folded: Folded) -> None:
        """Record a fold in the read cache (a writer, after its append)."""
        assert self.holds_lock(), "save_state needs the registry lock"
        cache.save_state(self.cache, folded)

    def ends_at(self, end: TrailEnd) -> bool:
        """True when the trail still ends at ``end`` (one short read)."""
        return cache.ends_at(self.events_path, end)

    def trail_end(self) -> TrailEnd:
        """Where the trail ends now (read from its last lines)."""
        return cache.current_end(self.events_path)

    def append_events(self, events: list[Event]) -> TrailEnd:
        """Append events in one write, then fsync: the commit point of every change.

        Appending keeps a write O(1) in the size of the trail. What follows the
        last newline is handled by the rule of :class:`~minireg.domain.chain.Split`:
        a complete event gets its newline, a torn write is cut off. If the write
        or the fsync fails, the file is cut back to its size before the append,
        so nothing is visible, and :class:`LocalIOError` says that nothing was
        recorded. Returns where the trail ends now.
        """
        assert self.holds_lock(), "append_events needs the registry lock"
        assert events, "append_events needs events"
        lines = [event.to_line().encode("utf-8") + b"\n" for event in events]
        payload = b"".join(lines)
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
        return TrailEnd.after(start + len(payload), lines[-1])

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
            if read_at(fd, 1, size - 1) == b"\n":
                return size
            cut = _line_start(fd, size)
            if is_complete_event(read_at(fd, size - cut, cut).decode("utf-8", errors="replace")):
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

    def ledger_path_for(self, fmt: str) -> Path:
        """Where the ledger of format ``fmt`` (csv or xlsx) lives."""
        return self.root / (XLSX_NAME if fmt == "xlsx" else CSV_NAME)

    def read_ledger(self, fmt: str | None = None) -> bytes | None:
        """The ledger's bytes (of format ``fmt``, default this storage's), None if missing."""
        try:
            return self.ledger_path_for(fmt or self.ledger_format).read_bytes()
        except FileNotFoundError:
            return None

    def write_ledger(
        self, data: Data, end: TrailEnd, fmt: str | None = None, *, lines: bool = False
    ) -> None:
        """Replace the ledger with ``data`` (atomically), the view of the trail up to ``end``.

        ``fmt`` writes the ledger of another format (``convert``). The ledger stamp
        then vouches for it, so ``list --where`` may read it instead of folding;
        ``lines`` True has it say that every row is one line, too.
        """
        assert self.holds_lock(), "write_ledger needs the registry lock"
        path = self.ledger_path_for(fmt or self.ledger_format)
        inode = atomic_write(path, data)
        cache.stamp_ledger(self.cache, end, path, inode, lines)

    def remove_ledger(self, fmt: str) -> bool:
        """Remove the ledger of format ``fmt`` if it is there; True when one was removed."""
        assert self.holds_lock(), "remove_ledger needs the registry lock"
        path = self.ledger_path_for(fmt)
        if not path.exists():
            return False
        path.unlink()
        return True

    def read_config_text(self) -> str:
        """The text of ``minireg.toml``."""
        return (self.root / CONFIG_NAME).read_text(encoding="utf-8")

    def write_config_text(self, text: str) -> None:
        """Replace ``minireg.toml`` (atomically); only while holding the lock."""
        assert self.holds_lock(), "write_config_text needs the registry lock"
        atomic_write(self.root / CONFIG_NAME, text.encode("utf-8"))

    def vouched_ledger(self, end: TrailEnd) -> bytes | None:
        """The ledger's bytes when the stamp vouches they are the view of the trail to ``end``."""
        return cache.vouched_ledger(self.cache, end, self.ledger_path)

    def vouched_rows(self, end: TrailEnd) -> tuple[LedgerFile, bool] | None:
        """The ledger open for reading (the caller closes it) when the stamp vouches for it,
        and whether the stamp says every row is one line."""
        return cache.vouched_rows(self.cache, end, self.ledger_path)

    def read_object(self, digest: str) -> bytes | None:
        """The bytes of object ``digest``, or None when it is not stored."""
        try:
            return self.objects.path(digest).read_bytes()
        except OSError:
            return None

    def put_path(self, src: Path, progress: Progress | None = None) -> Stored:
        return self.objects.put_path(src, progress)

    def put_object(self, data: bytes) -> str:
        return self.objects.put_bytes(data)

    def object_path(self, digest: str) -> Path:
        return self.objects.path(digest)
