"""The version records of a state, by (model, version), each one's stage at hand.

A state folded from events holds every record. A state read from the cache
holds the list of versions and their stages, and loads a record the first
time it is asked for (one read of the cache for ``path``, a few for a
promotion, all of them for a full listing), so that a command on a registry
of 100,000 versions pays for what it touches. Either way it behaves as a
dict kept in the order versions were added.
"""

from __future__ import annotations

from collections.abc import Callable, ItemsView, Iterable, Iterator, MutableMapping, ValuesView
from itertools import compress

from minireg.domain.records import VersionRecord

Key = tuple[str, int]
Load = Callable[[list[int]], list[VersionRecord]]
"""Loads the records of some slots (the positions of :attr:`Versions.slots`), in order."""


class Versions(MutableMapping[Key, VersionRecord]):
    """Every version record of a state, by (model, version), loaded on first use.

    ``slots`` maps every version, in the order it was added, to its slot (a
    position in ``stages``, which holds each slot's stage); ``source`` loads the
    records of slots not yet in memory. ``changed`` lists the keys set or
    deleted since the mapping was made (what a cache must write again), and
    ``deleted`` says whether any was deleted (slots are then no longer positions).
    """

    __slots__ = ("_records", "changed", "deleted", "slots", "source", "stages")

    def __init__(
        self,
        slots: dict[Key, int] | None = None,
        stages: list[str] | None = None,
        load: Load | None = None,
    ) -> None:
        self.slots: dict[Key, int] = {} if slots is None else slots
        self.stages: list[str] = [] if stages is None else stages
        self._records: dict[Key, VersionRecord] = {}
        self.source = load
        self.changed: set[Key] = set()
        self.deleted = False

    # -- the mapping ------------------------------------------------------------

    def __getitem__(self, key: Key) -> VersionRecord:
        rec = self._records.get(key)
        if rec is None:
            if key not in self.slots:
                raise KeyError(key)
            self._fetch([key])
            rec = self._records[key]
        return rec

    def __contains__(self, key: object) -> bool:
        return key in self.slots

    def __len__(self) -> int:
        return len(self.slots)

    def __iter__(self) -> Iterator[Key]:
        return iter(self.slots)

    def __repr__(self) -> str:
        return f"<Versions: {len(self.slots)} versions, {len(self._records)} loaded>"

    def __setitem__(self, key: Key, rec: VersionRecord) -> None:
        slot = self.slots.get(key)
        if slot is None:
            self.slots[key] = len(self.stages)
            self.stages.append(rec.stage)
        else:
            self.stages[slot] = rec.stage
        self._records[key] = rec
        self.changed.add(key)

    def __delitem__(self, key: Key) -> None:
        del self.slots[key]
        self._records.pop(key, None)
        self.changed.add(key)
        self.deleted = True

    def items(self) -> ItemsView[Key, VersionRecord]:
        self._fetch(self.slots)
        return ItemsView(self)

    def values(self) -> ValuesView[VersionRecord]:
        self._fetch(self.slots)
        return ValuesView(self)

    # -- without loading records --------------------------------------------------

    def stage(self, key: Key) -> str:
        """The stage of version ``key`` (KeyError if there is none)."""
        return self.stages[self.slots[key]]

    def has_model(self, model: str) -> bool:
        """True when ``model`` has a version."""
        return any(name == model for name, _ in self.slots)

    def numbers(self, model: str) -> list[int]:
        """The version numbers of ``model``, in order."""
        return sorted(version for name, version in self.slots if name == model)

    def in_stage(self, model: str, stage: str) -> list[int]:
        """The version numbers of ``model`` in ``stage``, in order."""
        if self.deleted:
            stages = self.stages
            return sorted(
                v for (m, v), slot in self.slots.items() if m == model and stages[slot] == stage
            )
        # Nothing deleted: slot n is the n-th key, so the stages pick keys in one pass in C.
        held = compress(self.slots, map(stage.__eq__, self.stages))
        return sorted(version for name, version in held if name == model)

    def many(self, keys: Iterable[Key]) -> list[VersionRecord]:
        """The records of ``keys``, in that order, loaded together."""
        wanted = list(keys)
        try:  # all in memory (after a fold): one pass in C
            return list(map(self._records.__getitem__, wanted))
        except KeyError:
            self._fetch(wanted)
        return list(map(self._records.__getitem__, wanted))

    def loaded(self, key: Key) -> VersionRecord | None:
        """The record of ``key`` if it is in memory (never loads)."""
        return self._records.get(key)

    def in_memory(self) -> dict[Key, VersionRecord]:
        """The records in memory by key (read it, never change it: the cache's bookkeeping
        of a fold of 100,000 events goes through it)."""
        return self._records

    def _fetch(self, keys: Iterable[Key]) -> None:
        records = self._records
        missing = [key for key in keys if key not in records]
        if not missing:
            return
        if self.source is None:
            raise KeyError(missing[0])
        for key, rec in zip(missing, self.source([self.slots[key] for key in missing])):
            records[key] = rec
