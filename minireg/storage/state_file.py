"""The state entry of the read cache on disk: a small index and an append-only records file.

- ``.cache/state.marshal``, the index: the entry's key (a
  :class:`~minireg.storage.cache.TrailEnd`), the head event, the count,
  aliases, the problems found, and for every version, in the order versions
  were added, its model, number, stage and where its record lies in the
  records file (columns of machine integers, so 100,000 versions load in a
  few milliseconds).
- ``.cache/records-<id>.marshal``: one marshal blob per record that its
  register event alone does not make (the others are read from that event's
  line in ``events.jsonl``: see :mod:`minireg.storage.records`), appended.
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
import marshal
import os
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

from minireg.domain.records import Event
from minireg.domain.state import State
from minireg.domain.versions import Key, Versions
from minireg.storage.atomic import remove_orphans, temp_name
from minireg.storage.events import bulk
from minireg.storage.pread import read_at
from minireg.storage.records import FIELDS, Places, RecordFile, blob

INDEX_NAME = "state.marshal"
EVENTS_NAME = "events.jsonl"
_RECORDS = "records-"
_FORMAT = 5  # 5: keyed by where the trail ended; records read on demand, from two places


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


@dataclass
class Entry:
    """A state entry read from the cache: its state, key, chain problems and records."""

    state: State
    end: tuple[int, int, str]
    chain: list[str] | None
    """The hash chain's problems; None when a reader folded without checking it."""
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
        places = Places(_ints("Q", body["offset"]), _ints("I", body["length"]),
                        _ints("Q", body["ref"]))  # fmt: skip
        if not len(keys) == len(stages) == len(places) == len(places.refs):
            raise ValueError("columns of different lengths")
        records = RecordFile(
            cache / str(body["records"]), cache.parent / EVENTS_NAME, keys, places, initial
        )
        records.models, records.model_ids, records.numbers = models, model_ids, numbers
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
    chain = None if body["chain"] is None else list(body["chain"])
    return Entry(state, (int(end[0]), int(end[1]), str(end[2])), chain, records)


def save(
    cache: Path,
    state: State,
    end: tuple[int, int, str],
    chain: list[str] | None,
    events: dict[Key, tuple[int, int, int]] | None = None,
) -> None:
    """Record ``state`` (the fold of the trail up to ``end``) in ``cache``; only under the lock.

    ``chain`` are the hash chain's problems, which lead ``state.anomalies`` (None: not
    checked, see :func:`minireg.storage.cache.fold_trail`).
    ``events`` places records at their register event's line (offset, length,
    :func:`~minireg.storage.records.ref_of`): a full fold knows which. Appends
    the records that changed to the records file the state was read from, when
    it can; otherwise (a fold, or a file mostly dead) writes a new one.
    """
    versions = state.versions
    source = versions.source if isinstance(versions.source, RecordFile) else None
    if source is not None and source.path.parent != cache:
        source = None
    try:
        located = _append(source, versions) if source is not None else None
        if located is None:
            located = _rewrite(cache, versions, source, events or {})
    except OSError:
        return
    _write_index(cache, state, end, chain, *located)


def _append(source: RecordFile, versions: Versions) -> tuple[Path, Places] | None:
    """New copies of the changed records at the end of ``source``'s file; None: write a new one.

    Only when no version was deleted (so slots are positions) and the file is
    not mostly dead copies. The places returned are by position.
    """
    if versions.deleted or source.size > 2 * source.places.blob_bytes() + (1 << 20):
        return None
    with open(source.path, "ab") as fh:
        if os.fstat(fh.fileno()).st_ino != os.fstat(source.fd).st_ino:
            return None  # the file was replaced since it was opened
        places = source.places.copy()
        for _ in range(len(versions.stages) - len(source.keys)):
            places.add(0, 0)
        chunks, at = [], fh.tell()
        for key in sorted(versions.changed, key=versions.slots.__getitem__):
            data = blob(versions[key])
            slot = versions.slots[key]
            places.offsets[slot], places.lengths[slot], places.refs[slot] = at, len(data), 0
            chunks.append(data)
            at += len(data)
        fh.write(b"".join(chunks))
    return source.path, places


def _rewrite(
    cache: Path,
    versions: Versions,
    source: RecordFile | None,
    events: dict[Key, tuple[int, int, int]],
) -> tuple[Path, Places]:
    """Every record into a new records file (raw copies of unchanged blobs), by position."""
    old, base, was = b"", 0, Places()
    if source is not None:
        old, base, was = read_at(source.fd, source.size, 0), len(source.keys), source.places
    rows: list[tuple[int, int, int]] = []
    chunks: list[bytes] = []
    at = 0
    with bulk():
        for key, slot in versions.slots.items():
            place = events.get(key)
            if place is None:
                if slot < base and key not in versions.changed:
                    if was.refs[slot]:
                        rows.append((was.offsets[slot], was.lengths[slot], was.refs[slot]))
                        continue
                    data = old[was.offsets[slot] : was.offsets[slot] + was.lengths[slot]]
                else:
                    data = blob(versions[key])
                place = (at, len(data), 0)
                chunks.append(data)
                at += len(data)
            rows.append(place)
        places = Places.of(rows)
    path = cache / f"{_RECORDS}{os.urandom(6).hex()}.marshal"
    write_quickly(path, b"".join(chunks))
    if not path.exists():
        raise OSError(f"cannot write {path}")
    return path, places


def _write_index(
    cache: Path, state: State, end: tuple[int, int, str], chain: list[str] | None, path: Path,
    places: Places,
) -> None:  # fmt: skip
    versions = state.versions
    if len(places) != len(versions.slots):
        return
    models, model_ids, numbers = _key_columns(versions)
    names = {name: at for at, name in enumerate(dict.fromkeys(versions.stages))}
    stage_ids = array.array("H", map(names.__getitem__, versions.stages))
    if versions.deleted:  # slots are not positions: keep the stages of live slots only
        stage_ids = array.array("H", (stage_ids[slot] for slot in versions.slots.values()))
    chain_count = len(chain or ())
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
        "offset": places.offsets.tobytes(),
        "length": places.lengths.tobytes(),
        "ref": places.refs.tobytes(),
    }
    write_quickly(cache / INDEX_NAME, marshal.dumps(body))
    _remove_other_records(cache, path.name)


def _key_columns(versions: Versions) -> tuple[dict[str, int], array.array[int], array.array[int]]:
    """The model and number of every version, by position: the loaded columns plus the new
    versions when nothing was deleted (a write adds a few), else made again."""
    source = versions.source if isinstance(versions.source, RecordFile) else None
    if source is None or versions.deleted:
        names = list(map(itemgetter(0), versions.slots))
        models = {name: at for at, name in enumerate(dict.fromkeys(names))}
        model_ids = array.array("I", map(models.__getitem__, names))
        return models, model_ids, array.array("q", map(itemgetter(1), versions.slots))
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
