"""The records of a cached state, read the first time each one is needed.

A record lies in one of two places (see :class:`Places`):

- in the records file of the cache, as a marshal blob (a version changed
  after its registration: promoted, described, tagged, given an alias);
- in ``events.jsonl`` itself, as the line of its register event, when the
  register event alone makes the record (most versions of a large registry).
  Nothing is copied for those, so saving the fold of 100,000 events writes
  a few megabytes, not fifty. Such a place also holds the first bits of the
  event's hash, and a line that no longer carries that event is refused.

A record that does not read back as its index says raises :class:`Damaged`
(the cache falls back on folding the trail; see :mod:`minireg.storage.cache`).
"""

from __future__ import annotations

import array
import dataclasses
import marshal
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path

from minireg.domain.records import Event, VersionRecord
from minireg.domain.state import registered
from minireg.domain.versions import Key
from minireg.errors import IntegrityError
from minireg.storage.events import bulk, parse_lines
from minireg.storage.pread import read_at

FIELDS = tuple(f.name for f in dataclasses.fields(VersionRecord))
_BULK = 64  # from this many records on, read a whole file once


class Damaged(Exception):
    """A record did not read back as its index says (a cache file was cut or overwritten)."""


def ref_of(event: Event) -> int:
    """What a place in ``events.jsonl`` keeps of its register event: its hash's first 60 bits
    (plus one, so that 0 can mean "in the records file"); 0 for a hash that is not hex."""
    try:
        return int(event.hash[:15], 16) + 1
    except ValueError:
        return 0


def blob(rec: VersionRecord) -> bytes:
    """A record as the records file holds it."""
    return marshal.dumps(tuple(map(rec.__dict__.__getitem__, FIELDS)))


def _from_blob(data: bytes, key: Key) -> VersionRecord:
    try:
        values = marshal.loads(data)
    except (ValueError, EOFError, TypeError) as exc:
        raise Damaged(key) from exc
    if not isinstance(values, tuple) or len(values) != len(FIELDS) or values[:2] != key:
        raise Damaged(key)
    # What the frozen dataclass's __init__ would do, without a __setattr__ per field.
    rec = object.__new__(VersionRecord)
    rec.__dict__.update(zip(FIELDS, values))
    return rec


@dataclass
class Places:
    """Where each version's record lies, by position: ``refs`` 0 for the records file,
    else the line of its register event in ``events.jsonl`` (see :func:`ref_of`)."""

    offsets: array.array[int] = dataclasses.field(default_factory=lambda: array.array("Q"))
    lengths: array.array[int] = dataclasses.field(default_factory=lambda: array.array("I"))
    refs: array.array[int] = dataclasses.field(default_factory=lambda: array.array("Q"))

    @classmethod
    def of(cls, rows: list[tuple[int, int, int]]) -> Places:
        """The places of ``rows`` (offset, length, ref), in order."""
        return cls(array.array("Q", map(itemgetter(0), rows)),
                   array.array("I", map(itemgetter(1), rows)),
                   array.array("Q", map(itemgetter(2), rows)))  # fmt: skip

    def add(self, offset: int, length: int, ref: int = 0) -> None:
        self.offsets.append(offset)
        self.lengths.append(length)
        self.refs.append(ref)

    def copy(self) -> Places:
        return Places(array.array("Q", self.offsets), array.array("I", self.lengths),
                      array.array("Q", self.refs))  # fmt: skip

    def blob_bytes(self) -> int:
        """How many bytes of the records file the records placed there take."""
        return sum(n for n, ref in zip(self.lengths, self.refs) if not ref)

    def __len__(self) -> int:
        return len(self.offsets)


def _open(path: Path, owner: object) -> int:
    fd = os.open(path, os.O_RDONLY)
    weakref.finalize(owner, os.close, fd)
    return fd


class RecordFile:
    """Loads records for one cached state (the ``source`` of its
    :class:`~minireg.domain.versions.Versions`).

    Holds the records file and the trail open (raw descriptors, closed with the
    last state using them), so a save that replaces the records file does not
    pull it from under a reader.
    """

    def __init__(
        self, path: Path, events: Path, keys: list[Key], places: Places, initial: str
    ) -> None:
        self.path = path
        self.events = events
        self.keys = keys
        self.places = places
        self.initial = initial
        self.models: list[str] = []
        self.model_ids: array.array[int] = array.array("I")
        self.numbers: array.array[int] = array.array("q")
        self.fd = _open(path, self)
        self.size = os.fstat(self.fd).st_size
        self.events_fd = _open(events, self) if any(places.refs) else -1
        self.recover: Callable[[list[int]], list[VersionRecord]] | None = None

    def __call__(self, slots: list[int]) -> list[VersionRecord]:
        try:
            return self._read(slots)
        except (Damaged, OSError):
            if self.recover is None:
                raise
            return self.recover(slots)

    def _read(self, slots: list[int]) -> list[VersionRecord]:
        refs = self.places.refs
        blobs = [slot for slot in slots if not refs[slot]]
        lines = [slot for slot in slots if refs[slot]]
        found = dict(zip(blobs, self._blobs(blobs)))
        found.update(zip(lines, self._registered(lines)))
        return [found[slot] for slot in slots]

    def _chunks(self, fd: int, size: int, slots: list[int]) -> list[bytes]:
        offsets, lengths = self.places.offsets, self.places.lengths
        if len(slots) < _BULK:
            return [read_at(fd, lengths[s], offsets[s]) for s in slots]
        data = read_at(fd, size, 0)
        return [data[offsets[s] : offsets[s] + lengths[s]] for s in slots]

    def _blobs(self, slots: list[int]) -> list[VersionRecord]:
        if not slots:
            return []
        keys = self.keys
        with bulk():
            chunks = self._chunks(self.fd, self.size, slots)
            return [_from_blob(chunk, keys[slot]) for chunk, slot in zip(chunks, slots)]

    def _registered(self, slots: list[int]) -> list[VersionRecord]:
        if not slots:
            return []
        size = max(self.places.offsets[s] + self.places.lengths[s] for s in slots)
        chunks = self._chunks(self.events_fd, size, slots)
        try:
            events = parse_lines(chunks, self.events)
        except IntegrityError as exc:
            raise Damaged(slots[0]) from exc
        out = []
        with bulk():
            for event, slot in zip(events, slots):
                if (event.model, event.version) != self.keys[slot] or (
                    event.action != "register" or ref_of(event) != self.places.refs[slot]
                ):
                    raise Damaged(self.keys[slot])
                out.append(registered(event, self.initial))
        return out
