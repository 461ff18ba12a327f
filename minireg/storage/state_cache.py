"""A cache of the folded state, so that reads skip parsing and folding every event.

``.cache/state.marshal`` holds the state folded from one exact content of
``events.jsonl``, keyed by the sha256 of its complete lines (and checked
against the initial stage and the record fields). A reader whose events hash to the key loads the
state instead of folding; any other reader folds and replaces the cache. The
key is the content itself, so a stale cache costs a fold, never a wrong answer.
``.cache/`` is git-ignored and local: a clone starts without it.

The cache is not history, so it is written without fsync (a torn file fails
to load and is rebuilt), and a registry folder that cannot be written to
simply goes without it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import marshal
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from minireg.domain.chain import chain_problems
from minireg.domain.records import Event, VersionRecord
from minireg.domain.state import State, fold
from minireg.storage.atomic import remove_orphans, temp_name

CACHE_NAME = "state.marshal"
_FORMAT = 2  # 2: anomalies include hash-chain problems


def _fields() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(VersionRecord))


def _load(path: Path, key: str, initial: str) -> State | None:
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
        for values in body["records"]:
            rec = VersionRecord(*values)
            state.versions[(rec.model, rec.version)] = rec
        state.aliases = {m: dict(table) for m, table in body["aliases"].items()}
        state.anomalies = list(body["anomalies"])
        state.count = int(body["count"])
        head = body["head"]
        state.head = None if head is None else Event.from_line(head)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return state


def _save(path: Path, key: str, state: State) -> None:
    body: dict[str, Any] = {
        "format": _FORMAT,
        "key": key,
        "initial": state.initial_stage,
        "fields": _fields(),
        "records": [
            tuple(getattr(rec, name) for name in _fields()) for rec in state.versions.values()
        ],
        "aliases": state.aliases,
        "anomalies": state.anomalies,
        "count": state.count,
        "head": None if state.head is None else state.head.to_line(),
    }
    tmp = temp_name(path)
    try:
        path.parent.mkdir(exist_ok=True)
        remove_orphans(path.parent)  # copies left by readers that were killed mid-write
        with open(tmp, "xb") as fh:
            fh.write(marshal.dumps(body))
        os.replace(tmp, path)
    except (OSError, ValueError):
        with contextlib.suppress(OSError):
            tmp.unlink()


def _key(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8", errors="surrogatepass")).hexdigest()


def cached_state(
    lines: list[str], cache: Path, initial: str, parse: Callable[[list[str]], list[Event]]
) -> State:
    """The state folded from the event ``lines``, from the cache when it matches them.

    ``parse`` turns the lines into events (raising on a bad line); it runs
    only when the cache does not match. The state's ``anomalies`` include what
    breaks the hash chain, so a caller can refuse to build on a bad trail
    without hashing every event again.
    """
    key = _key(lines)
    path = cache / CACHE_NAME
    state = _load(path, key, initial)
    if state is not None:
        return state
    events = parse(lines)
    state = fold(events, initial)
    state.anomalies[:0] = chain_problems(events)
    _save(path, key, state)
    return state


def save_state(lines: list[str], cache: Path, state: State) -> None:
    """Record ``state`` as the fold of ``lines`` (a writer that just appended them)."""
    _save(cache / CACHE_NAME, _key(lines), state)
