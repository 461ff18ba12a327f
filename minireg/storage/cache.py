"""The one read cache: everything minireg derives from the trail, kept so commands skip work.

**One key: where the trail ended.** Every entry is a statement about the
trail up to a point, named by a :class:`TrailEnd`: the byte offset where the
trail ended when the entry was made, and the length and sha256 of the last
event line there (the *head*, with its newline when it has one):

- ``.cache/state.marshal`` (see :mod:`minireg.storage.state_file`): the
  state folded from the trail up to that end, with the hash chain's problems
  (so a writer can refuse a bad trail without hashing every event again), or
  a note that a read made it without checking the chain (no read reports it:
  the first write checks it once, see :func:`fold_trail`);
  its records are read one by one as they are needed, from the cache's
  records file or from their register event's line in the trail itself
  (:mod:`minireg.storage.records`);
- ``.cache/ledger.stamp``: the ledger file (by name, inode, size and times)
  that is exactly the view of the trail up to that end, so ``list --where``
  may read the ledger instead of folding, and a write may change a few rows
  of it instead of rendering them all;
- in a process, :class:`Memo` keeps the last state read with its end and
  the URIs resolved against it, so a warm ``resolve`` (and a
  ``ModelHandle.get``) costs one short read of the trail.

**One invalidation rule.** An entry holds while the bytes of the trail that
end at its offset are still its head line: one short read at that offset
checks it. What follows the offset is the *tail*, the events appended since:
they are read, chained onto the head (links, seq and hashes checked) and
folded onto the entry's state, so a command costs the new events, not the
trail. An entry whose head is gone (a git checkout, merge or rebase rewrote
the trail, or it was cut short) is dropped and the whole trail is folded
again: correct, just slower. The ledger stamp, a view that cannot absorb a
tail, is used only for a state whose end is exactly its own.

Why the head is enough: each event's hash covers the hash of the one before,
so the head line commits to every line above it. An edit inside that prefix
that leaves the head in place breaks the chain there; ``minireg verify``,
which always reads the whole trail, reports it.

**Who writes.** A writer, under the registry lock, saves the new state and
stamps the ledger right after each append (it holds them already), so the
cache stays current and the next command folds nothing. A reader folds a
short tail in memory and saves only after a long fold (the first read after a
clone), and only if it can take the lock without waiting: every cache write
happens under the registry lock.

``.cache/`` is git-ignored and local (a clone starts without it), written
without fsync (a torn entry fails its checks and is made again), and a folder
that cannot be written simply goes without it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minireg.domain.chain import Split, chain_problems, split_events
from minireg.domain.records import VersionRecord
from minireg.domain.state import State, fold_onto
from minireg.errors import IntegrityError
from minireg.storage import state_file
from minireg.storage.events import bulk, parse_lines
from minireg.storage.ledger_file import LedgerFile
from minireg.storage.pread import read_at, read_full
from minireg.storage.records import ref_of
from minireg.storage.state_file import INDEX_NAME, write_quickly

STATE_NAME = INDEX_NAME
STAMP_NAME = "ledger.stamp"
SAVE_AFTER = 256
"""A reader saves the state it folded when the tail held at least this many events."""
_WINDOW = 1 << 16


@dataclass(frozen=True)
class TrailEnd:
    """Where the trail ended: the byte offset after its last event line, and that line.

    ``length`` and ``sha256`` describe the head line's bytes as stored (with
    its newline when it has one). The empty trail ends at 0 with an empty head.
    """

    size: int
    length: int
    sha256: str

    @classmethod
    def after(cls, size: int, head: bytes) -> TrailEnd:
        """The end at offset ``size``, just after the event line ``head``."""
        return cls(size, len(head), hashlib.sha256(head).hexdigest())

    def as_list(self) -> list[Any]:
        return [self.size, self.length, self.sha256]


EMPTY = TrailEnd.after(0, b"")

Read = Callable[[int, int], bytes]
"""Reads ``n`` bytes at ``offset`` of the trail (fewer at its end)."""


def _tail(read: Read, end: TrailEnd) -> bytes | None:
    """The bytes after ``end`` if the trail still holds its head there, else None."""
    start = end.size - end.length
    if start < 0:
        return None
    before = read(start - 1, 1) if start else b"\n"
    head = read(start, end.length)
    if before != b"\n" or len(head) != end.length:
        return None
    if hashlib.sha256(head).hexdigest() != end.sha256:
        return None
    rest = bytearray()
    while chunk := read(end.size + len(rest), _WINDOW * 16):
        rest += chunk
    if head and not head.endswith(b"\n") and bytes(rest[:1]) not in (b"", b"\n"):
        return None  # the unterminated head line went on: it is another line now
    return bytes(rest)


def _terminated(read: Read, end: TrailEnd, tail: bytes) -> tuple[TrailEnd, bytes]:
    """``end`` and ``tail`` with an unterminated head line that got its newline since (a
    later append adds it) taken as ended there: the trail's end is where
    :func:`current_end` reads it, whatever way the trail is read."""
    if not tail.startswith(b"\n") or end.length == 0:
        return end, tail
    head = read(end.size - end.length, end.length)
    if head.endswith(b"\n"):
        return end, tail
    return TrailEnd.after(end.size + 1, head + b"\n"), tail[1:]


def _file_reader(fd: int) -> Read:
    return lambda offset, n: read_at(fd, n, offset)


def ends_at(path: Path, end: TrailEnd) -> bool:
    """True when the trail at ``path`` still ends at ``end`` (no event after it)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return end == EMPTY
    try:
        rest = _tail(_file_reader(fd), end)
    finally:
        os.close(fd)
    return rest is not None and (not rest or not split_events(rest).lines)


def current_end(path: Path) -> TrailEnd:
    """Where the trail at ``path`` ends now, read from its last lines only."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return EMPTY
    try:
        size = os.fstat(fd).st_size
        window = _WINDOW
        while True:
            start = max(0, size - window)
            data = read_at(fd, size - start, start)
            cut = 0 if start == 0 else data.find(b"\n") + 1
            if start == 0 or cut > 0:
                split = split_events(data[cut:])
                if split.lines:
                    return TrailEnd.after(start + cut + split.end, split.head)
                if start == 0:
                    return EMPTY
            window *= 4
    finally:
        os.close(fd)


# -- the state ----------------------------------------------------------------------


@dataclass
class Folded:
    """A state, the end of the trail it is the fold of, and the chain's problems in it."""

    state: State
    end: TrailEnd
    chain: list[str] | None
    """The hash chain's problems (None: not checked, see :func:`fold_trail`)."""
    events: int
    """How many events were folded to get here (0 when the cache was current)."""
    registered: dict[tuple[str, int], tuple[int, int, int]] | None = None
    """After a full fold: the versions their register event alone makes, with where that
    event's line lies (offset, length, :func:`~minireg.storage.records.ref_of`)."""


def _fold_all(data: bytes, path: Path, initial: str, check: bool = True) -> Folded:
    split = split_events(data, starts=True)
    end, starts = _end_of(split, 0), split.starts or []
    events = parse_lines(split.lines, path)
    with bulk():
        chain = chain_problems(events, lines=split.lines) if check else None
        lengths = list(map(len, split.lines))
        # The lines go before the records are made: the memory is used again.
        del split
        state = State(initial_stage=initial)
        made = fold_onto(state, events)
        # A version whose record is still the one its register event made is read from
        # that line later; the others are copied into the records file.
        registered = {
            key: (starts[at], lengths[at], ref)
            for key, at in made.items()
            if (ref := ref_of(events[at]))
        }
    state.anomalies[:0] = chain or []
    return Folded(state, end, chain, len(events), registered)


def _chain_to(fd: int, end: TrailEnd, path: Path) -> list[str]:
    """The hash chain's problems in the trail up to ``end`` (the check a reader left out)."""
    split = split_events(read_full(fd, end.size, 0))
    return chain_problems(parse_lines(split.lines, path), lines=split.lines)


def _end_of(split: Split, start: int, before: TrailEnd = EMPTY) -> TrailEnd:
    if not split.lines:
        return before
    return TrailEnd.after(start + split.end, split.head)


def _fold_tail(entry: state_file.Entry, end: TrailEnd, tail: bytes, path: Path) -> Folded:
    state = entry.state
    split = split_events(tail)
    chain = None if entry.chain is None else list(entry.chain)
    events = parse_lines(split.lines, path, first=state.count + 1) if split.lines else []
    if events:
        if chain is not None:
            chain += chain_problems(
                events, lines=split.lines, after=state.head, after_number=state.count
            )
        with bulk():
            fold_onto(state, events, first=state.count + 1)
    state.anomalies[:0] = chain or []
    return Folded(state, _end_of(split, end.size, end), chain, len(events))


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    data = read_at(fd, size, 0)
    while chunk := read_at(fd, 1 << 20, len(data)):
        data += chunk
    return data


def fold_trail(
    path: Path,
    cache: Path,
    initial: str,
    saving: Callable[[], AbstractContextManager[bool]],
    checked: bool = True,
) -> Folded:
    """The state of the trail at ``path``: the cached entry plus its tail, or a full fold.

    ``saving`` holds the registry lock if it can (yielding whether it does):
    the state is saved under it after a long fold.

    ``checked`` False is for reads that never report the hash chain's problems:
    a full fold then leaves the chain unchecked (a quarter of the time of the
    first read after a clone), and says so in the cache entry. A checked read
    (every write, ``hooks run``, :meth:`Registry.state`) of such an entry checks
    the chain up to the entry's end first, once, and saves the entry checked.

    Raises:
        IntegrityError: a line is not an event (a git conflict marker, say).
        OSError: the trail cannot be read.
    """
    entry = state_file.load(cache, initial)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return _fold_all(b"", path, initial)
    now_checked = False
    try:
        tail = None if entry is None else _tail(_file_reader(fd), TrailEnd(*entry.end))
        if entry is not None and tail is not None:
            records = entry.records
            records.recover = _recovery(path, cache, TrailEnd(*entry.end), records.keys, initial)
            end, tail = _terminated(_file_reader(fd), TrailEnd(*entry.end), tail)
            if checked and entry.chain is None:
                entry.chain = _chain_to(fd, TrailEnd(*entry.end), path)
                now_checked = True
            folded = _fold_tail(entry, end, tail, path)
        else:
            folded = _fold_all(_read_all(fd), path, initial, check=checked)
    finally:
        os.close(fd)
    if entry is None or tail is None or folded.events >= SAVE_AFTER or now_checked:
        with saving() as held:
            if held:
                save_state(cache, folded)
    return folded


def save_state(cache: Path, folded: Folded) -> None:
    """Record a fold in the cache; only under the registry lock."""
    end = (folded.end.size, folded.end.length, folded.end.sha256)
    state_file.save(cache, folded.state, end, folded.chain, folded.registered)


def _recovery(
    path: Path, cache: Path, end: TrailEnd, keys: list[tuple[str, int]], initial: str
) -> Callable[[list[int]], list[VersionRecord]]:
    """What a damaged records file falls back on: the fold of the trail up to the entry's end.

    (It holds the keys, not the entry: a closure over the entry would keep its
    records file open until the cyclic collector ran.)
    """
    fresh: list[State] = []

    def recover(slots: list[int]) -> list[VersionRecord]:
        if not fresh:
            with contextlib.suppress(OSError):
                (cache / INDEX_NAME).unlink()
            data = path.read_bytes()
            if _tail(lambda offset, n: data[offset : offset + n], end) is None:
                raise IntegrityError(
                    f"The read cache in {cache} was damaged while "
                    f"{path.name} changed; run the command again."
                )
            fresh.append(_fold_all(data[: end.size], path, initial).state)
        return [fresh[0].versions[keys[slot]] for slot in slots]

    return recover


# -- the ledger stamp ---------------------------------------------------------------


def _identity(st: os.stat_result) -> list[int]:
    return [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]


def stamp_ledger(cache: Path, end: TrailEnd, ledger: Path, inode: int, lines: bool = False) -> None:
    """Record that the ledger file just written (inode ``inode``) is the view of the trail
    up to ``end``.

    The stamp names the file by its inode, size, modification and change times,
    not by a hash of 40 MB: any write to the file moves its change time, which
    no tool can set back. Only an optimisation: a stamp that cannot be written is
    skipped, and none is written if the file was replaced meanwhile. ``lines``
    records that every row of the file is one line (the writer made it from rows
    it checked), so the next write need not scan 40 MB to know it.
    """
    try:
        st = os.stat(ledger)
    except OSError:
        return
    if st.st_ino != inode:
        return
    body = {"end": end.as_list(), "ledger": ledger.name, "file": _identity(st), "lines": lines}
    write_quickly(cache / STAMP_NAME, json.dumps(body, sort_keys=True).encode() + b"\n")


def vouched_ledger(cache: Path, end: TrailEnd, ledger: Path) -> bytes | None:
    """The ledger's bytes if the stamp vouches for them as the view of the trail up to ``end``."""
    found = vouched_rows(cache, end, ledger)
    if found is None:
        return None
    with found[0] as view:
        return view[:]


def vouched_rows(cache: Path, end: TrailEnd, ledger: Path) -> tuple[LedgerFile, bool] | None:
    """The ledger file, open, if the stamp vouches for it as the view of the trail up to
    ``end``, and whether the stamp says every row is one line. The caller closes it."""
    try:
        stamp = json.loads((cache / STAMP_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("ledger") != ledger.name:
        return None
    if stamp.get("end") != end.as_list():
        return None
    try:
        fd = os.open(ledger, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        st = None
    if st is None or _identity(st) != stamp.get("file"):
        os.close(fd)
        return None
    return LedgerFile(fd, st.st_size), stamp.get("lines") is True


# -- in a process -------------------------------------------------------------------


class Memo:
    """A process's memory of the last state read, keyed by where the trail ended.

    Thread-safe: readers on many threads share one entry. ``answers`` keeps
    what callers derived from the state (resolved URIs), dropped with it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._end: TrailEnd | None = None
        self._state = State()
        self._answers: dict[object, VersionRecord] = {}

    def get(
        self, check: Callable[[TrailEnd], bool], load: Callable[[], Folded]
    ) -> tuple[State, dict[object, VersionRecord]]:
        """The state (and the answers kept with it), loaded again when the trail changed.

        ``check`` says whether the trail still ends where it did (one short
        read); ``load`` folds it. The check comes before the load, so a write
        racing the read costs one extra load later, never a stale answer.
        """
        with self._lock:
            end = self._end
            if end is not None and check(end):
                return self._state, self._answers
        folded = load()
        with self._lock:
            if folded.end != self._end:
                self._end, self._state, self._answers = folded.end, folded.state, {}
            return self._state, self._answers
