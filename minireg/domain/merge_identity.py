"""Who is who across two branches' trails: hashes, origins, version identities, renumbering.

A version's *identity* is the original hash of the event that registered it:
the same registration has the same identity on every branch, whatever number
an earlier merge gave it. An event's *origin* is its hash before any merge
re-chained it (a ``merge`` event maps each re-chained hash back). The merge
(:mod:`minireg.domain.merge`) matches versions by identity and events by origin.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from minireg.domain.records import Event, VersionRecord
from minireg.domain.state import State, fold

Key = tuple[str, int]
"""A version on one branch: (model, number)."""


def known_hashes(events: list[Event]) -> set[str]:
    """Every hash the trail vouches for: its events', and the originals a merge re-chained."""
    known = {event.hash for event in events}
    for event in events:
        if event.action != "merge":
            continue
        rechained = event.data.get("rechained", {})
        if isinstance(rechained, dict):
            known.update(str(k) for k in rechained)
        for key in ("ours", "theirs"):
            value = event.data.get(key)
            if isinstance(value, str):
                known.add(value)
    return known


def common_prefix(ours: list[Event], theirs: list[Event]) -> int:
    """How many events, from the start, both trails share."""
    k = 0
    while k < len(ours) and k < len(theirs) and ours[k].hash == theirs[k].hash:
        k += 1
    return k


def _origins(events: list[Event]) -> dict[str, str]:
    """Re-chained hash -> original hash, from the merge events of a trail."""
    back: dict[str, str] = {}
    for event in events:
        rechained = event.data.get("rechained") if event.action == "merge" else None
        if isinstance(rechained, dict):
            back.update({str(new): str(old) for old, new in rechained.items()})
    return back


def _origin(digest: str, back: dict[str, str]) -> str:
    seen = 0
    while digest in back and seen < 1000:
        digest = back[digest]
        seen += 1
    return digest


def walk(trail: list[Event]) -> Iterator[tuple[int, Event, str, dict[Key, str]]]:
    """Each event with its original hash and, as of that event, each version's identity.

    The identity map is live (updated as the walk goes on): read it, don't keep it.
    """
    back = _origins(trail)
    ids: dict[Key, str] = {}
    for index, event in enumerate(trail):
        origin = _origin(event.hash, back)
        if event.version is not None:
            key = (event.model, event.version)
            if event.action == "register" and key not in ids:
                ids[key] = origin
            elif event.action == "renumber" and not event.data.get("rewritten") and key in ids:
                ids[(event.model, int(event.data["to"]))] = ids.pop(key)
        yield index, event, origin, ids


def identities(events: list[Event]) -> dict[Key, str]:
    """Each version of a trail -> the original hash of the event that registered it."""
    ids: dict[Key, str] = {}
    for _, _, _, live in walk(events):
        ids = live
    return dict(ids)


def is_own(event: Event, origin: str, other_known: set[str]) -> bool:
    """A change this side made that the other side does not hold (not a merge record)."""
    if event.action in ("merge", "renumber"):
        return False
    return event.hash not in other_known and origin not in other_known


def own_events(trail: list[Event], start: int, other_known: set[str]) -> list[int]:
    """The indexes, from ``start`` on, of this side's own changes (see :func:`is_own`)."""
    return [
        index
        for index, event, origin, _ in walk(trail)
        if index >= start and is_own(event, origin, other_known)
    ]


@dataclass
class Branch:
    """One side of the merge: its trail, state and identities."""

    events: list[Event]
    state: State
    ids: dict[Key, str] = field(default_factory=dict)

    @classmethod
    def of(cls, events: list[Event], initial_stage: str) -> Branch:
        return cls(events, fold(events, initial_stage), identities(events))

    def where(self) -> dict[str, Key]:
        return {ident: key for key, ident in self.ids.items()}

    def by_id(self) -> dict[str, VersionRecord]:
        return {self.ids[key]: rec for key, rec in self.state.versions.items() if key in self.ids}

    def alias_ids(self) -> dict[tuple[str, str], str | None]:
        return {
            (model, alias): self.ids.get((model, number))
            for model, table in self.state.aliases.items()
            for alias, number in table.items()
        }


# -- renumbering -------------------------------------------------------------------


def _sort_key(state: State, key: Key) -> tuple[str, str, str]:
    rec = state.versions[key]
    return (rec.created_at, rec.registered_by, rec.artifact_sha256)


def numbering(
    kept: Branch, other: Branch, symmetric: bool
) -> tuple[dict[Key, int], list[tuple[str, int, int]], dict[str, int]]:
    """Where the versions go: the kept side's moves (only when ``symmetric``), the other
    side's (model, from, to), and every identity's final number."""
    kept_where = kept.where()
    other_only = sorted(key for key, ident in other.ids.items() if ident not in kept_where)
    moves: dict[Key, int] = {}
    other_final: dict[str, int] = {}
    other_moves: list[tuple[str, int, int]] = []
    models = sorted({model for model, _ in other_only})
    for model in models:
        kept_numbers = {n for m, n in kept.state.versions if m == model}
        mine = [key for key in other_only if key[0] == model]
        if not symmetric:
            # The kept side is published: the other side's registrations come after it.
            top = max(kept_numbers, default=0)
            for key in mine:
                number = key[1] if key[1] > top else top + 1
                top = max(top, number)
                other_final[other.ids[key]] = number
                if number != key[1]:
                    other_moves.append((model, key[1], number))
            continue
        # Nothing published on either side: the later of two same-numbered registrations
        # moves, whichever side it is on, so both merge directions agree.
        free = max(kept_numbers | {n for _, n in mine}) + 1
        other_idents = set(other.ids.values())
        for key in mine:
            ident = other.ids[key]
            if key not in kept.state.versions:
                other_final[ident] = key[1]
                continue
            kept_is_new = kept.ids.get(key) not in other_idents
            if kept_is_new and _sort_key(kept.state, key) > _sort_key(other.state, key):
                moves[key] = free
                other_final[ident] = key[1]
            else:
                other_final[ident] = free
                other_moves.append((model, key[1], free))
            free += 1
    final = {ident: moves.get(key, key[1]) for key, ident in kept.ids.items()}
    for ident, number in other_final.items():
        final.setdefault(ident, number)
    return moves, other_moves, final


def rewrite(event: Event, ids: dict[Key, str], final: dict[str, int]) -> Event:
    """``event`` with every version number it names changed to that version's final one."""

    def number(value: int) -> int:
        ident = ids.get((event.model, value))
        return final.get(ident, value) if ident is not None else value

    version = None if event.version is None else number(event.version)
    data: dict[str, Any] = dict(event.data)
    for key in ("archived_by", "previous"):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            data[key] = number(value)
    return replace(event, version=version, data=data)
