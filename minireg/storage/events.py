"""Event lines to events, with the fastest JSON reader installed.

msgspec (``pip install 'minireg[fast]'``) decodes a line straight into an
:class:`~minireg.domain.records.Event`, about three times faster than the
standard library's ``json`` plus :meth:`Event.from_dict` (measured on
100,000 events: ``bench/bench_scale.py`` prints both). Without it the
standard library reads every line. The events are the same either way: a
line msgspec does not take exactly as ``json`` would (a number where text
belongs, a missing ``prev`` or ``hash``, NaN, a lone surrogate, bytes that are
not UTF-8) is read again by the standard library, whose answer (or error)
stands.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from minireg.domain.records import GENESIS, Event
from minireg.errors import IntegrityError

Decode = Callable[[bytes], Event]
_FEW = 32


@lru_cache(maxsize=1)
def fast_decoder() -> Decode | None:
    """msgspec's decoder of one line into an Event, or None when msgspec is not installed."""
    try:
        import msgspec
    except ImportError:
        return None
    return msgspec.json.Decoder(Event).decode


def reader() -> str:
    """The JSON reader in use: ``msgspec`` or ``json`` (the standard library)."""
    return "json" if fast_decoder() is None else "msgspec"


def _conflict_marker(line: bytes) -> bool:
    return line.startswith((b"<<<<<<<", b">>>>>>>", b"======="))


def _slow(line: bytes, number: int, path: Path) -> Event:
    """The standard library's reading of one line, or IntegrityError naming it."""
    try:
        return Event.from_line(line.decode("utf-8", errors="replace"))
    except (ValueError, KeyError, TypeError) as exc:
        what = "a git conflict marker" if _conflict_marker(line) else "not an event"
        raise IntegrityError(
            f"Line {number} of {path} is {what}; `minireg verify` lists what to fix."
        ) from exc


def parse_lines(lines: list[bytes], path: Path, first: int = 1) -> list[Event]:
    """The events of ``lines`` (line ``first`` of ``path`` onwards), in order.

    Raises:
        IntegrityError: a line is not an event (a git conflict marker, say).
    """
    # A few lines (a write's tail, one record) are read by json, already imported, rather
    # than paying msgspec's import (some 15 ms) for them.
    decode = fast_decoder() if len(lines) >= _FEW else None
    events: list[Event] = []
    append = events.append
    with bulk():
        if decode is None:
            for number, line in enumerate(lines, start=first):
                append(_slow(line, number, path))
            return events
        for number, line in enumerate(lines, start=first):
            try:
                event = decode(line)
            except Exception:  # msgspec's DecodeError or ValidationError: json decides
                event = _slow(line, number, path)
            else:
                # A missing prev or hash takes the dataclass default here, but is an
                # error for Event.from_dict: let the standard library decide those.
                if event.prev == GENESIS or not event.hash:
                    event = _slow(line, number, path)
            append(event)
    return events


@contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic garbage collector while many objects are made.

    Reading 100,000 events allocates millions of dicts and strings and no
    cycles; the collector would otherwise walk them over and over (it more
    than doubles the time of a cold read). On the way out, what was made is
    moved to the oldest generation in one step (``freeze`` then ``unfreeze``),
    so the first collection after the pause does not walk it all either.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()
