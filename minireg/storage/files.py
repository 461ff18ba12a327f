"""The registry folder on disk: the one implementation of :class:`minireg.storage.Storage`."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from minireg.domain.chain import Trail, is_complete_event, split_trail
from minireg.domain.records import Event
from minireg.domain.state import State
from minireg.errors import LocalIOError, MiniregError, local_io_error
from minireg.storage.atomic import atomic_write, remove_orphans
from minireg.storage.cache import (
    file_digest,
    save_state,
    stamp_ledger,
    state_of,
    vouched_ledger,
)
from minireg.storage.lock import LOCK_NAME, registry_lock
from minireg.storage.objects import ObjectStore, Progress, Stored
from minireg.storage.remote import RemoteStore

EVENTS_NAME = "events.jsonl"
CONFIG_NAME = "minireg.toml"
CSV_NAME = "ledger.csv"
XLSX_NAME = "ledger.xlsx"
CACHE_NAME = ".cache"


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
        assert self.holds_lock(), "append_events needs the registry lock"
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

    def ledger_path_for(self, fmt: str) -> Path:
        """Where the ledger of format ``fmt`` (csv or xlsx) lives."""
        return self.root / (XLSX_NAME if fmt == "xlsx" else CSV_NAME)

    def read_ledger(self, fmt: str | None = None) -> bytes | None:
        """The ledger's bytes (of format ``fmt``, default this storage's), None if missing."""
        try:
            return self.ledger_path_for(fmt or self.ledger_format).read_bytes()
        except FileNotFoundError:
            return None

    def write_ledger(self, data: bytes, trail_digest: str, fmt: str | None = None) -> None:
        """Replace the ledger with ``data`` (atomically), the view of the trail ``trail_digest``.

        ``fmt`` writes the ledger of another format (``convert``). The ledger stamp
        then vouches for it, so ``list --where`` may read it instead of folding.
        """
        assert self.holds_lock(), "write_ledger needs the registry lock"
        path = self.ledger_path_for(fmt or self.ledger_format)
        atomic_write(path, data)
        stamp_ledger(self.cache, trail_digest, path.name, data)

    def remove_ledger(self, fmt: str) -> bool:
        """Remove the ledger of format ``fmt`` if it is there; True when one was removed."""
        assert self.holds_lock(), "remove_ledger needs the registry lock"
        path = self.ledger_path_for(fmt)
        if not path.exists():
            return False
        path.unlink()
        return True

    def vouch_ledger(self, trail_digest: str, data: bytes) -> None:
        """Record that the ledger's current bytes ``data`` are the view of ``trail_digest``."""
        stamp_ledger(self.cache, trail_digest, self.ledger_path.name, data)

    def read_config_text(self) -> str:
        """The text of ``minireg.toml``."""
        return (self.root / CONFIG_NAME).read_text(encoding="utf-8")

    def write_config_text(self, text: str) -> None:
        """Replace ``minireg.toml`` (atomically); only while holding the lock."""
        assert self.holds_lock(), "write_config_text needs the registry lock"
        atomic_write(self.root / CONFIG_NAME, text.encode("utf-8"))

    def vouched_ledger(self, trail_digest: str) -> bytes | None:
        """The ledger's bytes when the stamp vouches they are the view of ``trail_digest``."""
        return vouched_ledger(self.cache, trail_digest, self.ledger_path)

    def state(self, trail: Trail, initial: str, parse: Callable[[list[str]], list[Event]]) -> State:
        """The state folded from ``trail`` (from the read cache when it matches)."""
        return state_of(trail, self.cache, initial, parse)

    def save_state(self, state: State, trail_digest: str) -> None:
        """Record ``state`` in the read cache as the fold of the trail ``trail_digest``."""
        save_state(self.cache, trail_digest, state)

    def trail_digest(self) -> str:
        """The digest of ``events.jsonl`` as it is now (the read cache's key)."""
        return file_digest(self.events_path)

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
