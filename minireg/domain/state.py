"""State is a fold over the events; the ledger is a view of the state."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from minireg.domain.records import REGISTER_FIELDS, Event, VersionRecord
from minireg.domain.versions import Versions


@dataclass
class State:
    """Every model version and alias after some events; mutable only inside :func:`apply`."""

    versions: Versions = field(default_factory=Versions)
    aliases: dict[str, dict[str, int]] = field(default_factory=dict)
    # Problems met while folding (a version registered twice, an event about an unknown version).
    anomalies: list[str] = field(default_factory=list)
    initial_stage: str = "None"
    head: Event | None = None
    count: int = 0

    def models(self) -> list[str]:
        """Model names, sorted."""
        return sorted({model for model, _ in self.versions})

    def of_model(self, model: str) -> list[VersionRecord]:
        """The versions of ``model``, in version order."""
        return self.versions.many((model, n) for n in self.versions.numbers(model))

    def records(self) -> list[VersionRecord]:
        """Every version, sorted by model then version (the ledger's order)."""
        return self.versions.many(sorted(self.versions))

    def next_version(self, model: str) -> int:
        """The number a new registration of ``model`` gets."""
        numbers = [version for name, version in self.versions if name == model]
        return max(numbers, default=0) + 1

    def holders(self, model: str, stage: str) -> list[VersionRecord]:
        """The versions of ``model`` in ``stage``, in version order."""
        return self.versions.many((model, n) for n in self.versions.in_stage(model, stage))


# What a record holds before its register event fills it in: the fields the event may
# set (the three dicts are made fresh for each record that has none), and the others.
_TAKEN = frozenset([*REGISTER_FIELDS, "stage"])
_NO_DICT: Any = object()
_BLANK = {f.name: f.default for f in fields(VersionRecord) if f.name in _TAKEN}
_BLANK.update(metrics=_NO_DICT, params=_NO_DICT, tags=_NO_DICT)
_REST = {f.name: f.default for f in fields(VersionRecord) if f.name not in _TAKEN}


def registered(event: Event, initial_stage: str) -> VersionRecord:
    """The record a register event makes (what the version is until a later event changes it)."""
    data = event.data
    values = _BLANK.copy()
    values.update(data)
    if len(values) != len(_BLANK):  # the event holds more than it may set: take its own only
        values = _BLANK.copy()
        values.update((name, data[name]) for name in REGISTER_FIELDS if name in data)
    if values["metrics"] is _NO_DICT:
        values["metrics"] = {}
    if values["params"] is _NO_DICT:
        values["params"] = {}
    if values["tags"] is _NO_DICT:
        values["tags"] = {}
    values.update(_REST)
    values["model"], values["version"] = event.model, event.version
    # The stage a version starts in is recorded in its event, so renaming
    # stages in minireg.toml later never rewrites the past.
    values["stage"] = str(data.get("stage", initial_stage))
    # VersionRecord(**values) without the frozen dataclass's __setattr__ per field (a
    # fold of 100,000 registrations spends a third of its time there otherwise).
    rec = object.__new__(VersionRecord)
    object.__setattr__(rec, "__dict__", values)
    return rec


def _with(rec: VersionRecord, **changes: Any) -> VersionRecord:
    """``dataclasses.replace(rec, **changes)`` for the fields named here, without its
    per-call introspection (a fold of 5,000 promotions spends 60 ms less)."""
    new = object.__new__(VersionRecord)
    object.__setattr__(new, "__dict__", {**rec.__dict__, **changes})
    return new


def _register(state: State, event: Event, where: str) -> None:
    assert event.version is not None
    key = (event.model, event.version)
    if key in state.versions.slots:
        state.anomalies.append(
            f"{where}: version {event.version} of {event.model} is registered twice"
        )
        return
    state.versions[key] = registered(event, state.initial_stage)


def _set_alias(state: State, model: str, alias: str, version: int | None) -> None:
    table = state.aliases.setdefault(model, {})
    old = table.pop(alias, None)
    if old is not None and (model, old) in state.versions:
        rec = state.versions[(model, old)]
        state.versions[(model, old)] = _with(
            rec, aliases=tuple(a for a in rec.aliases if a != alias)
        )
    if version is not None:
        table[alias] = version
        rec = state.versions[(model, version)]
        state.versions[(model, version)] = _with(rec, aliases=tuple(sorted({*rec.aliases, alias})))
    if not table:
        del state.aliases[model]


def _transition(state: State, rec: VersionRecord, event: Event, where: str) -> None:
    changes: dict[str, Any] = {"stage": str(event.data["to"])}
    if event.approver:
        changes.update(approved_by=event.approver, approved_at=event.time)
    state.versions[(rec.model, rec.version)] = _with(rec, **changes)


def _alias_set(state: State, rec: VersionRecord, event: Event, where: str) -> None:
    _set_alias(state, event.model, str(event.data["alias"]), rec.version)


def _describe(state: State, rec: VersionRecord, event: Event, where: str) -> None:
    state.versions[(rec.model, rec.version)] = _with(
        rec, description=str(event.data["description"])
    )


def _tag(state: State, rec: VersionRecord, event: Event, where: str) -> None:
    tags = dict(rec.tags)
    value = event.data.get("value")
    if value is None:
        tags.pop(str(event.data["key"]), None)
    else:
        tags[str(event.data["key"])] = str(value)
    state.versions[(rec.model, rec.version)] = _with(rec, tags=tags)


def _renumber(state: State, rec: VersionRecord, event: Event, where: str) -> None:
    new = int(event.data["to"])
    if (event.model, new) in state.versions:
        state.anomalies.append(f"{where}: renumber to taken version {new} of {event.model}")
        return
    del state.versions[(rec.model, rec.version)]
    state.versions[(event.model, new)] = _with(rec, version=new)
    for alias, holder in state.aliases.get(event.model, {}).items():
        if holder == rec.version:
            state.aliases[event.model][alias] = new


_ON_VERSION = {
    "transition": _transition,
    "alias_set": _alias_set,
    "describe": _describe,
    "tag": _tag,
    "renumber": _renumber,
}
"""What each action that names an existing version does to it."""


def _alias_delete(state: State, event: Event, where: str) -> None:
    alias = str(event.data["alias"])
    if alias not in state.aliases.get(event.model, {}):
        state.anomalies.append(f"{where}: alias {alias!r} of {event.model} does not exist")
        return
    _set_alias(state, event.model, alias, None)


def apply(state: State, event: Event, where: str = "") -> None:
    """Apply one event to ``state`` in place. Unknown targets become anomalies, not errors."""
    where = where or f"event {event.seq}"
    state.head = event
    state.count += 1
    action = event.action
    if action == "register":
        _register(state, event, where)
        return
    if action == "merge" or (action == "renumber" and event.data.get("rewritten")):
        # A merge record; a rewritten renumber's events already carry the new number.
        return
    if action == "alias_delete":
        _alias_delete(state, event, where)
        return
    change = _ON_VERSION.get(action)
    if change is None:
        state.anomalies.append(f"{where}: unknown action {action!r}")
        return
    rec = state.versions.get((event.model, event.version or 0))
    if rec is None:
        state.anomalies.append(
            f"{where}: {action} names unknown version {event.version} of {event.model}"
        )
        return
    change(state, rec, event, where)


def fold_onto(state: State, events: list[Event], first: int = 1) -> dict[tuple[str, int], int]:
    """Apply ``events`` (lines ``first`` onwards) to ``state`` in order, as :func:`apply`
    on each in turn does.

    Returns the versions whose record is still the one their register event made,
    each with the index of that event in ``events`` (a cache reads those records
    from the event lines again rather than copying them). The register event of a
    new version, most of a long trail, is applied here in line: a fold of 100,000
    events spends a fifth less time.
    """
    versions = state.versions
    slots, stages, changed = versions.slots, versions.stages, versions.changed
    records = versions.in_memory()
    initial, count = state.initial_stage, state.count
    made: dict[tuple[str, int], tuple[VersionRecord, int]] = {}
    for index, event in enumerate(events):
        key = (event.model, event.version or 0)
        if event.action != "register" or key in slots or event.version is None:
            apply(state, event, f"line {first + index}")
            continue
        # What _register and Versions.__setitem__ do for a version not seen before.
        rec = registered(event, initial)
        slots[key] = len(stages)
        stages.append(rec.stage)
        records[key] = rec
        changed.add(key)
        made[key] = (rec, index)
    if events:
        state.head, state.count = events[-1], count + len(events)
    return {key: at for key, (rec, at) in made.items() if records.get(key) is rec}


def fold(events: Iterable[Event], initial_stage: str = "None") -> State:
    """Return the state after ``events``, applied in order."""
    state = State(initial_stage=initial_stage)
    for number, event in enumerate(events, start=1):
        apply(state, event, f"line {number}")
    return state
