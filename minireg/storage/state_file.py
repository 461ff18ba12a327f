"""The state entry of the read cache on disk: a small index and an append-only records file.

- ``.cache/state.marshal``, the index: the entry's key (a
  :class:`~minireg.storage.cache.TrailEnd`), the head event, the count,
  aliases, the problems found, and for every version, in the order versions
  were added, its model, number, stage and where its record lies in the
  records file (columns of machine integers, so 100,000 versions load in a
  few milliseconds).
- ``.cache/records-<id>.marshal``: one marshal blob per record, appended.
  A write appends the records it changed and rewrites the index; the old
  copies stay behind, unreferenced, until the file holds more dead bytes than
  live ones and a save writes a fresh file. A blob, once written, never
  changes, so a process that opened the file reads what its index promised
  even while others append or replace it.

The record of a version is read the first time it is asked for (see
:class:`~minireg.domain.versions.Versions`). Nothing here is fsynced: a torn
or lost file fails its checks and the trail is folded again.
"""

from __future__ import annotations

import array
import contextlib
import dataclasses
import marshal
import os
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minireg.domain.records import Event, VersionRecord
from minireg.domain.state import State
from minireg.domain.versions import Key, Versions
from minireg.storage.atomic import remove_orphans, temp_name
from minireg.storage.events import bulk

INDEX_NAME = "state.marshal"
_RECORDS = "records-"
_FORMAT = 4  # 4: keyed by where the trail ended; records in their own file, read on demand
FIELDS = tuple(f.name for f in dataclasses.fields(VersionRecord))
_BULK = 64  # from this many records on, read the whole records file once


def write_quickly(path: Path, data: bytes) -> None:
    """Replace a cache file: temp file and ``os.replace``, no fsync (a cache is not history:
    a torn or lost entry fails its check and is made again)."""
    tmp = temp_name(path)
    try:
        path.parent.mkdir(exist_ok=True)
        remove_orphans(path.parent)  # copies left by writers that were killed mid-write
        with open(tmp, "xb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            tmp.unlink()


class Damaged(Exception):
    """A record did not read back as its index says (a cache file was cut or overwritten)."""


def _blob(rec: VersionRecord) -> bytes:
    return marshal.dumps(tuple(map(rec.__dict__.__getitem__, FIELDS)))


def _record(blob: bytes, key: Key) -> VersionRecord:
    try:
        values = marshal.loads(blob)
    except (ValueError, EOFError, TypeError) as exc:
        raise Damaged(key) from exc
    if not isinstance(values, tuple) or len(values) != len(FIELDS) or values[:2] != key:
        raise Damaged(key)
    # What the frozen dataclass's __init__ would do, without a __setattr__ per field.
    rec = object.__new__(VersionRecord)
    rec.__dict__.update(zip(FIELDS, values))
    return rec


class RecordFile:
    """Loads records from one records file (the ``source`` of a :class:`Versions`).

    Holds the file open (a raw descriptor, closed with the last state using it),
    so a save that replaces the file does not pull it from under a reader.
    """

    def __init__(
        self, path: Path, keys: list[Key], offsets: array.array[int], lengths: array.array[int]
    ) -> None:
        self.path = path
        self.keys = keys
        self.offsets = offsets
        self.lengths = lengths
        self.models: list[str] = []
        self.model_ids: array.array[int] = array.array("I")
        self.numbers: array.array[int] = array.array("q")
        self.fd = os.open(path, os.O_RDONLY)
        self.size = os.fstat(self.fd).st_size
        weakref.finalize(self, os.close, self.fd)
        self.recover: Callable[[list[int]], list[VersionRecord]] | None = None

    def __call__(self, slots: list[int]) -> list[VersionRecord]:
        try:
            return self._read(slots)
        except (Damaged, OSError):
            if self.recover is None:
                raise
            return self.recover(slots)

    def _read(self, slots: list[int]) -> list[VersionRecord]:
        offsets, lengths, keys = self.offsets, self.lengths, self.keys
        if len(slots) < _BULK:
            return [_record(os.pread(self.fd, lengths[s], offsets[s]), keys[s]) for s in slots]
        data = os.pread(self.fd, self.size, 0)
        with bulk():
            return [_record(data[offsets[s] : offsets[s] + lengths[s]], keys[s]) for s in slots]


@dataclass
class Entry:
    """A state entry read from the cache: its state, key, chain problems and records."""

    state: State
    end: tuple[int, int, str]
    chain: list[str]
    records: RecordFile


def _ints(code: str, data: bytes) -> array.array[int]:
    values = array.array(code)
    values.frombytes(data)
    return values


def load(cache: Path, initial: str) -> Entry | None:
    """The state entry in ``cache`` (its records not read yet), None if absent or unusable."""
    for _ in range(2):  # a save may replace the records file between the two reads
        try:
            body = marshal.loads((cache / INDEX_NAME).read_bytes())
            wanted = {"format": _FORMAT, "initial": initial, "fields": FIELDS}
            if not isinstance(body, dict) or any(body.get(k) != v for k, v in wanted.items()):
                return None
            return _entry(cache, body, initial)
        except FileNotFoundError:
            continue
        except (OSError, ValueError, EOFError, TypeError, KeyError, IndexError, AttributeError):
            return None
    return None


def _entry(cache: Path, body: dict[str, Any], initial: str) -> Entry:
    with bulk():
        models: list[str] = body["models"]
        names: list[str] = body["stage_names"]
        numbers, model_ids = _ints("q", body["version"]), _ints("I", body["model"])
        keys = list(zip(map(models.__getitem__, model_ids), numbers))
        stages = list(map(names.__getitem__, _ints("H", body["stage"])))
        offsets, lengths = _ints("Q", body["offset"]), _ints("I", body["length"])
        if not len(keys) == len(stages) == len(offsets) == len(lengths):
            raise ValueError("columns of different lengths")
        records = RecordFile(cache / str(body["records"]), keys, offsets, lengths)
        records.models, records.model_ids, records.numbers = models, model_ids, numbers
        if any(o + n > records.size for o, n in zip(offsets[-1:], lengths[-1:])):
            raise ValueError("the records file is shorter than its index")
        versions = Versions(dict(zip(keys, range(len(keys)))), stages, records)
    state = State(
        versions=versions,
        aliases={m: dict(table) for m, table in body["aliases"].items()},
        anomalies=list(body["anomalies"]),
        initial_stage=initial,
        head=None if body["head"] is None else Event.from_line(body["head"]),
        count=int(body["count"]),
    )
    end = tuple(body["end"])
    if len(end) != 3:
        raise ValueError("a bad key")
    return Entry(state, (int(end[0]), int(end[1]), str(end[2])), list(body["chain"]), records)


def save(cache: Path, state: State, end: tuple[int, int, str], chain: list[str]) -> None:
    """Record ``state`` (the fold of the trail up to ``end``) in ``cache``; only under the lock.

    ``chain`` are the hash chain's problems, which lead ``state.anomalies``.
    Appends the records that changed to the records file the state was read
    from, when it can; otherwise (a fold, or a file mostly dead) writes a new one.
    """
    versions = state.versions
    source = versions.source if isinstance(versions.source, RecordFile) else None
    try:
        if source is not None and source.path.parent == cache and source.path.exists():
            located = _append(source, versions)
        else:
            located = None
        if located is None:
            located = _rewrite(cache, versions, source)
    except OSError:
        return
    path, offsets, lengths = located
    _write_index(cache, state, end, chain, path, offsets, lengths)


Located = tuple[Path, "array.array[int]", "array.array[int]"]


def _append(source: RecordFile, versions: Versions) -> Located | None:
    """New copies of the changed records at the end of ``source``'s file; None: write a new one.

    Only when no version was deleted (so slots are positions) and the file is
    not mostly dead copies. The arrays returned are by position.
    """
    if versions.deleted or source.size > 2 * sum(source.lengths) + (1 << 20):
        return None
    with open(source.path, "ab") as fh:
        if os.fstat(fh.fileno()).st_ino != os.fstat(source.fd).st_ino:
            return None
        start = fh.tell()
        grown = len(versions.stages) - len(source.keys)
        offsets = array.array("Q", source.offsets)
        lengths = array.array("I", source.lengths)
        offsets.extend([0] * grown)
        lengths.extend([0] * grown)
        chunks, at = [], start
        for key in sorted(versions.changed, key=versions.slots.__getitem__):
            blob = _blob(versions[key])
            slot = versions.slots[key]
            offsets[slot], lengths[slot] = at, len(blob)
            chunks.append(blob)
            at += len(blob)
        fh.write(b"".join(chunks))
    return source.path, offsets, lengths


def _rewrite(cache: Path, versions: Versions, source: RecordFile | None) -> Located:
    """Every record into a new records file (raw copies of the unchanged ones), by position."""
    old, base, old_offsets, old_lengths = b"", 0, array.array("Q"), array.array("I")
    if source is not None:
        old, base = os.pread(source.fd, source.size, 0), len(source.keys)
        old_offsets, old_lengths = source.offsets, source.lengths
    offsets, lengths = array.array("Q"), array.array("I")
    chunks: list[bytes] = []
    at = 0
    with bulk():
        for key, slot in versions.slots.items():
            if slot < base and key not in versions.changed:
                start = old_offsets[slot]
                blob = old[start : start + old_lengths[slot]]
            else:
                blob = _blob(versions[key])
            offsets.append(at)
            lengths.append(len(blob))
            chunks.append(blob)
            at += len(blob)
    path = cache / f"{_RECORDS}{os.urandom(6).hex()}.marshal"
    write_quickly(path, b"".join(chunks))
    if not path.exists():
        raise OSError(f"cannot write {path}")
    return path, offsets, lengths


def _write_index(
    cache: Path,
    state: State,
    end: tuple[int, int, str],
    chain: list[str],
    path: Path,
    offsets: array.array[int],
    lengths: array.array[int],
) -> None:
    versions = state.versions
    if not len(offsets) == len(lengths) == len(versions.slots):
        return
    models, model_ids, numbers = _key_columns(versions)
    names = {name: at for at, name in enumerate(dict.fromkeys(versions.stages))}
    stage_ids = array.array("H", map(names.__getitem__, versions.stages))
    if versions.deleted:  # slots are not positions: keep the stages of live slots only
        stage_ids = array.array("H", (stage_ids[slot] for slot in versions.slots.values()))
    chain_count = len(chain)
    body = {
        "format": _FORMAT,
        "end": end,
        "initial": state.initial_stage,
        "fields": FIELDS,
        "count": state.count,
        "head": None if state.head is None else state.head.to_line(),
        "chain": chain,
        "anomalies": state.anomalies[chain_count:],
        "aliases": state.aliases,
        "records": path.name,
        "models": list(models),
        "model": model_ids.tobytes(),
        "version": numbers.tobytes(),
        "stage_names": list(names),
        "stage": stage_ids.tobytes(),
        "offset": offsets.tobytes(),
        "length": lengths.tobytes(),
    }
    write_quickly(cache / INDEX_NAME, marshal.dumps(body))
    _remove_other_records(cache, path.name)


def _key_columns(versions: Versions) -> tuple[dict[str, int], array.array[int], array.array[int]]:
    """The model and number of every version, by position: the loaded columns plus the new
    versions when nothing was deleted (a write adds a few), else made again."""
    source = versions.source if isinstance(versions.source, RecordFile) else None
    if source is None or versions.deleted:
        models: dict[str, int] = {}
        model_ids, numbers = array.array("I"), array.array("q")
        for model, number in versions.slots:
            model_ids.append(models.setdefault(model, len(models)))
            numbers.append(number)
        return models, model_ids, numbers
    models = {name: at for at, name in enumerate(source.models)}
    model_ids, numbers = array.array("I", source.model_ids), array.array("q", source.numbers)
    for model, number in list(versions.slots)[len(source.keys) :]:
        model_ids.append(models.setdefault(model, len(models)))
        numbers.append(number)
    return models, model_ids, numbers


def _remove_other_records(cache: Path, keep: str) -> None:
    """Records files no index names any more (a reader holding one open keeps reading it)."""
    with contextlib.suppress(OSError):
        for entry in cache.iterdir():
            if entry.name.startswith(_RECORDS) and entry.name != keep:
                with contextlib.suppress(OSError):
                    entry.unlink()
