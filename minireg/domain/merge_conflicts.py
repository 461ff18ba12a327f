"""What both branches changed, to different results: where the merge order would decide.

A field only one branch changed takes that branch's value whatever the order;
one both changed (a version's stage and approval, its description, one tag, an
alias) must end equal on both. Two branches that moved different versions into
an exclusive stage (or into one stage with ``--archive-existing``) conflict too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minireg.domain.merge_identity import Branch, is_own, known_hashes, walk
from minireg.domain.records import Event, VersionRecord

# What a transition sets: both branches moving one version must agree on all three.
_STAGE_FIELDS = ("stage", "approved_by", "approved_at")

Place = tuple[str, str]
"""(model, stage)."""


@dataclass
class _Touched:
    """What one side's own events changed since the common head."""

    fields: set[tuple[str, str]] = field(default_factory=set)
    """(field, version identity) pairs; an alias is ("alias", "model@alias")."""
    into: dict[Place, set[str]] = field(default_factory=dict)
    """The identities it moved into each (model, stage)."""
    archiving: set[Place] = field(default_factory=set)
    """The (model, stage) pairs it emptied with --archive-existing."""


def conflicts(
    ours: Branch,
    theirs: Branch,
    start: int,
    final: dict[str, int],
    exclusive: frozenset[str],
) -> list[str]:
    """What both branches changed since event ``start``, to different results.

    ``final`` gives each version identity its number after the merge, for the messages.
    """
    mine = _touches(ours.events, start, known_hashes(theirs.events))
    other = _touches(theirs.events, start, known_hashes(ours.events))
    problems = _field_conflicts(ours, theirs, mine.fields & other.fields, final)
    held_a = _holding(mine.into, ours.by_id(), final)
    held_t = _holding(other.into, theirs.by_id(), final)
    for (model, stage), numbers in sorted(held_a.items()):
        there = held_t.get((model, stage))
        if there is None or there == numbers:
            continue
        if stage in exclusive or (model, stage) in mine.archiving | other.archiving:
            problems.append(
                f"both branches moved {model} into {stage}: {_numbers(numbers)} on this branch, "
                f"{_numbers(there)} on the other; keep one side and promote again after the merge"
            )
    return problems


def _touches(trail: list[Event], start: int, other_known: set[str]) -> _Touched:
    """What this side's own events from ``start`` on changed."""
    touched = _Touched()
    for index, event, origin, ids in walk(trail):
        if index < start or not is_own(event, origin, other_known):
            continue
        if event.action in ("alias_set", "alias_delete"):
            touched.fields.add(("alias", f"{event.model}@{event.data.get('alias')}"))
            continue
        ident = ids.get((event.model, event.version)) if event.version is not None else None
        if ident is None:
            continue
        if event.action == "transition":
            touched.fields.add(("stage", ident))
            touched.into.setdefault((event.model, str(event.data.get("to"))), set()).add(ident)
            if "archived_by" in event.data:
                touched.archiving.add((event.model, str(event.data.get("from"))))
        elif event.action == "describe":
            touched.fields.add(("description", ident))
        elif event.action == "tag":
            touched.fields.add((f"tag {event.data.get('key')}", ident))
    return touched


def _field_conflicts(
    ours: Branch, theirs: Branch, both_touched: set[tuple[str, str]], final: dict[str, int]
) -> list[str]:
    """The fields and aliases both sides changed that end different, in final-number order."""
    ours_recs, theirs_recs = ours.by_id(), theirs.by_id()
    aliases_a, aliases_t = ours.alias_ids(), theirs.alias_ids()
    problems: list[str] = []
    for kind, ident in sorted(both_touched, key=lambda t: (final.get(t[1], 0), t)):
        if kind == "alias":
            model, alias = ident.split("@", 1)
            va, vt = aliases_a.get((model, alias)), aliases_t.get((model, alias))
            if va != vt:
                here = final.get(va) if va else None
                there = final.get(vt) if vt else None
                problems.append(_both(f"alias {ident}", here, there))
            continue
        a, t = ours_recs.get(ident), theirs_recs.get(ident)
        if a is not None and t is not None:
            problem = _version_conflict(kind, a, t, final.get(ident, a.version))
            if problem:
                problems.append(problem)
    return problems


def _version_conflict(kind: str, a: VersionRecord, t: VersionRecord, number: int) -> str | None:
    """The problem when the version's field ``kind`` ends different on the two sides."""
    where = f"{a.model} v{number}"
    if kind.startswith("tag "):
        tag = kind[len("tag ") :]
        if a.tags.get(tag) != t.tags.get(tag):
            return _both(f"tag {tag} of {where}", a.tags.get(tag), t.tags.get(tag))
        return None
    names = {"stage": _STAGE_FIELDS, "description": ("description",)}.get(kind, ())
    for name in names:
        if getattr(a, name) != getattr(t, name):
            return _both(f"the {name} of {where}", getattr(a, name), getattr(t, name))
    return None


def _both(what: str, here: object, there: object) -> str:
    return (
        f"both branches changed {what}: {here!r} on this branch, {there!r} on the other; "
        "keep one side and make the other change again after the merge"
    )


def _holding(
    into: dict[Place, set[str]], recs: dict[str, VersionRecord], final: dict[str, int]
) -> dict[Place, set[int]]:
    """The final numbers a side moved into each (model, stage) and still holds there."""
    out: dict[Place, set[int]] = {}
    for (model, stage), idents in into.items():
        numbers = {final[i] for i in idents if i in recs and recs[i].stage == stage}
        if numbers:
            out[(model, stage)] = numbers
    return out


def _numbers(numbers: set[int]) -> str:
    return ", ".join(f"v{n}" for n in sorted(numbers))
