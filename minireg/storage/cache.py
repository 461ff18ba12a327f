"""The one read cache: everything minireg derives from the trail, kept so reads skip work.

**One key.** Every entry is a statement about one exact content of
``events.jsonl``, named by the sha256 of its bytes (the *trail digest*,
:attr:`minireg.domain.chain.Trail.digest`):

- ``.cache/state.marshal``: the state folded from that trail, with the hash
  chain's problems (so a writer can refuse a bad trail without hashing every
  event again);
- ``.cache/ledger.stamp``: the ledger file (name and sha256) that is exactly
  the view of that trail, so ``list --where`` may read the ledger instead of
  folding, and ``register`` may insert one row instead of rendering them all;
- in a process, :class:`Memo` keeps the last digest, state and per-model
  lists with the file's (inode, size, mtime_ns), so a warm ``resolve`` (and a
  ``ModelHandle.get``) costs one ``stat``.

**One invalidation rule.** An entry is used only when its digest equals the
digest of the trail as it is now (for the memo: when the stat is unchanged,
since an append changes the size and a rewrite or checkout the inode or
mtime); anything else is recomputed and replaces it. So a stale entry costs
time, never an answer. Writers save the new state after each append.

``.cache/`` is git-ignored and local (a clone starts without it), written
without fsync (a torn entry fails to load and is recomputed), and a folder
that cannot be written simply goes without it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import marshal
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from minireg.domain.chain import Trail, chain_problems
from minireg.domain.records import Event, VersionRecord
from minireg.domain.state import State, fold
from minireg.storage.atomic import remove_orphans, temp_name

STATE_NAME = "state.marshal"
STAMP_NAME = "ledger.stamp"
_FORMAT = 3  # 3: keyed by the trail digest; anomalies include hash-chain problems


_FIELDS = tuple(f.name for f in dataclasses.fields(VersionRecord))


def _fields() -> tuple[str, ...]:
    return _FIELDS


def _values(rec: VersionRecord) -> tuple[Any, ...]:
    """The record's fields in order (read from its dict: a getattr per field costs more)."""
    return tuple(map(rec.__dict__.__getitem__, _FIELDS))


def _write_quickly(path: Path, data: bytes) -> None:
    """Replace a cache file: temp file and ``os.replace``, no fsync (a cache is not history:
    a torn or lost entry fails its check and is made again)."""
    tmp = temp_name(path)
    try:
        path.parent.mkdir(exist_ok=True)
        remove_orphans(path.parent)  # copies left by readers that were killed mid-write
        with open(tmp, "xb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            tmp.unlink()


def _load_state(path: Path, key: str, initial: str) -> State | None:
    try:
        body = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(body, dict):
        return None
    expected = {"format": _FORMAT, "key": key, "initial": initial, "fields": _fields()}
    if any(body.get(name) != value for name, value in expected.items()):
        return None
    try:
        state = State(initial_stage=initial)
        new, fields = object.__new__, _FIELDS
        for values in body["records"]:
            # What the frozen dataclass's __init__ would do, without a __setattr__ per field
            # (a thousand records load three times faster).
            rec = new(VersionRecord)
            rec.__dict__.update(zip(fields, values))
            state.versions[(rec.model, rec.version)] = rec
        state.aliases = {m: dict(table) for m, table in body["aliases"].items()}
        state.anomalies = list(body["anomalies"])
        state.count = int(body["count"])
        head = body["head"]
        state.head = None if head is None else Event.from_line(head)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return state


def _save_state(path: Path, key: str, state: State) -> None:
    body: dict[str, Any] = {
        "format": _FORMAT,
        "key": key,
        "initial": state.initial_stage,
        "fields": _fields(),
        "records": [_values(rec) for rec in state.versions.values()],
        "aliases": state.aliases,
        "anomalies": state.anomalies,
        "count": state.count,
        "head": None if state.head is None else state.head.to_line(),
    }
    try:
        data = marshal.dumps(body)
    except ValueError:
        return
    _write_quickly(path, data)


def state_of(
    trail: Trail, cache: Path, initial: str, parse: Callable[[list[str]], list[Event]]
) -> State:
    """The state folded from ``trail``, from the cache when its digest matches.

    ``parse`` turns the lines into events (raising on a bad line); it runs
    only on a miss. The state's ``anomalies`` include what breaks the chain.
    """
    path = cache / STATE_NAME
    state = _load_state(path, trail.digest, initial)
    if state is not None:
        return state
    events = parse(trail.lines)
    state = fold(events, initial)
    state.anomalies[:0] = chain_problems(events)
    _save_state(path, trail.digest, state)
    return state


def save_state(cache: Path, digest: str, state: State) -> None:
    """Record ``state`` as the fold of the trail with ``digest`` (a writer that just appended)."""
    _save_state(cache / STATE_NAME, digest, state)


def file_digest(path: Path) -> str:
    """The trail digest of the file at ``path`` as it is now ("" when it is missing)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        return ""
    return digest.hexdigest()


def stamp_ledger(cache: Path, digest: str, ledger_name: str, ledger: bytes) -> None:
    """Record that ``ledger`` (``ledger_name``) is the view of the trail with ``digest``.

    Only an optimisation: a stamp that cannot be written is skipped.
    """
    body = {
        "events_sha256": digest,
        "ledger": ledger_name,
        "ledger_sha256": hashlib.sha256(ledger).hexdigest(),
    }
    _write_quickly(cache / STAMP_NAME, json.dumps(body, sort_keys=True).encode() + b"\n")


def vouched_ledger(cache: Path, digest: str, ledger_path: Path) -> bytes | None:
    """The ledger's bytes if the stamp vouches for them against the trail ``digest``."""
    try:
        stamp = json.loads((cache / STAMP_NAME).read_text(encoding="utf-8"))
        data = ledger_path.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("ledger") != ledger_path.name:
        return None
    if stamp.get("events_sha256") != digest or not digest:
        return None
    if stamp.get("ledger_sha256") != hashlib.sha256(data).hexdigest():
        return None
    return data


class Memo:
    """A process's memory of the last state read, keyed by the trail file's stat.

    Thread-safe: readers on many threads share one entry.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[int, int, int] = (-1, -1, -1)
        self._state = State()
        self._by_model: dict[str, list[VersionRecord]] = {}

    @staticmethod
    def key(events_path: Path) -> tuple[int, int, int]:
        """The stat key of the trail file: (inode, size, mtime_ns), or -1s when it is missing."""
        try:
            st = os.stat(events_path)
        except FileNotFoundError:
            return (-1, -1, -1)
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def get(
        self, events_path: Path, load: Callable[[], State]
    ) -> tuple[State, dict[str, list[VersionRecord]]]:
        """The state (and per-model lists filled by callers), loaded again when the file changed.

        The stat comes before the load, so a write racing the read costs one
        extra load later, never a stale answer.
        """
        key = self.key(events_path)
        with self._lock:
            if key == self._key and key[0] != -1:
                return self._state, self._by_model
        state = load()
        with self._lock:
            self._key, self._state, self._by_model = key, state, {}
            return self._state, self._by_model
