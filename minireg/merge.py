"""Merging two branches' audit trails: what the minireg git merge driver does.

The merged ``events.jsonl`` is built so that ``minireg verify`` passes on it:

1. The events both branches share (the longest common prefix, by hash) stay as they are.
2. Our branch's events follow, unchanged: their hashes, and so the audit heads in
   our commits' trailers, stay valid.
3. When both branches registered the same version number of a model, the later
   registration (by ``created_at``; then registrant and digest, so that both merge
   directions agree) gets the next free number, and a ``renumber`` event records it:
   - if the later one is ours, a ``renumber`` moves it (``{"from": 3, "to": 5}``);
   - if it is theirs, their events are rewritten to the new number as they are
     re-chained, and a ``renumber`` with ``"rewritten": true`` records that (it
     changes no state: the rewritten register event already carries the number).
4. Their events follow, re-chained (new ``seq``, ``prev`` and ``hash``; time, actor,
   action and data kept, apart from the renumbering above).
5. A ``merge`` event closes the trail. Its data names the common head (``base``),
   both heads (``ours``, ``theirs``: their original hashes) and ``rechained``, a
   map from each of their events' original hash to its new one, so an audit can
   follow a commit trailer written on the other branch to the event it became.

It refuses (and the driver exits non-zero, so git reports a conflict) where the
result would depend on the merge direction: both branches changed the same field
of a version, pointed one alias at different versions, or moved different versions
into an exclusive stage (or into one stage with ``--archive-existing``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from minireg.domain.chain import parse_events
from minireg.domain.records import GENESIS, Draft, Event, chain
from minireg.domain.state import State, fold

_FIELDS = ("stage", "description", "approved_by", "approved_at")


@dataclass
class MergeResult:
    """The merged trail, or the problems that stopped the merge."""

    events: list[Event] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # (model, number on its branch, number after the merge)
    renumbered: list[tuple[str, int, int]] = field(default_factory=list)
    kept: str = "merged"
    """``ours`` or ``theirs`` when one side already held everything, else ``merged``."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> bytes:
        """The merged ``events.jsonl`` bytes."""
        return "".join(event.to_line() + "\n" for event in self.events).encode("utf-8")


def event_lines(data: bytes) -> list[str]:
    """The non-empty lines of an ``events.jsonl`` file."""
    return [line for line in data.decode("utf-8", errors="replace").split("\n") if line.strip()]


def parse_side(data: bytes, side: str) -> tuple[list[Event], list[str]]:
    """Parse and check one side's file; problems name the side."""
    events, problems = parse_events(event_lines(data))
    return events, [f"{side} events.jsonl {p}" for p in problems]


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


def _common_prefix(ours: list[Event], theirs: list[Event]) -> int:
    k = 0
    while k < len(ours) and k < len(theirs) and ours[k].hash == theirs[k].hash:
        k += 1
    return k


def _rewrite(event: Event, numbers: dict[tuple[str, int], int]) -> Event:
    """``event`` with every reference to a renumbered version of its model updated."""
    version = event.version
    if version is not None and (event.model, version) in numbers:
        version = numbers[(event.model, version)]
    data: dict[str, Any] = dict(event.data)
    for key in ("archived_by", "previous"):
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            data[key] = numbers.get((event.model, value), value)
    return replace(event, version=version, data=data)


def _sort_key(state: State, key: tuple[str, int]) -> tuple[str, str, str]:
    rec = state.versions[key]
    return (rec.created_at, rec.registered_by, rec.artifact_sha256)


def _number(numbers: dict[tuple[str, int], int], model: str, version: int | None) -> int | None:
    if version is None:
        return None
    return numbers.get((model, version), version)


def _moves_into(
    tail: list[Event], state: State, numbers: dict[tuple[str, int], int]
) -> tuple[dict[tuple[str, str], set[int]], set[tuple[str, str]]]:
    """Which versions a branch moved into each (model, stage) and still holds there,
    and the (model, stage) pairs it emptied with --archive-existing."""
    into: dict[tuple[str, str], set[int]] = {}
    archiving: set[tuple[str, str]] = set()
    for event in tail:
        if event.action != "transition" or event.version is None:
            continue
        if "archived_by" in event.data:
            archiving.add((event.model, str(event.data.get("from"))))
        rec = state.versions.get((event.model, event.version))
        if rec is not None and rec.stage == event.data.get("to"):
            number = _number(numbers, event.model, event.version)
            assert number is not None
            into.setdefault((event.model, rec.stage), set()).add(number)
    return into, archiving


def _conflicts(
    base: State,
    ours: State,
    theirs: State,
    ours_tail: list[Event],
    theirs_tail: list[Event],
    ours_numbers: dict[tuple[str, int], int],
    theirs_numbers: dict[tuple[str, int], int],
    exclusive: frozenset[str],
) -> list[str]:
    problems: list[str] = []

    def both(what: str, here: object, there: object) -> None:
        problems.append(
            f"both branches changed {what}: {here!r} on this branch, {there!r} on the other; "
            "keep one side and make the other change again after the merge"
        )

    for key, b in sorted(base.versions.items()):
        a, t = ours.versions.get(key), theirs.versions.get(key)
        if a is None or t is None:
            continue
        where = f"{key[0]} v{key[1]}"
        for name in _FIELDS:
            va, vt, vb = getattr(a, name), getattr(t, name), getattr(b, name)
            if va != vb and vt != vb and va != vt:
                both(f"the {name} of {where}", va, vt)
        for tag in sorted({*a.tags, *t.tags, *b.tags}):
            va, vt, vb = a.tags.get(tag), t.tags.get(tag), b.tags.get(tag)
            if va != vb and vt != vb and va != vt:
                both(f"tag {tag} of {where}", va, vt)
    models = sorted({*base.aliases, *ours.aliases, *theirs.aliases})
    for model in models:
        names = {*base.aliases.get(model, {}), *ours.aliases.get(model, {})}
        names |= set(theirs.aliases.get(model, {}))
        for alias in sorted(names):
            vb = base.aliases.get(model, {}).get(alias)
            va = _number(ours_numbers, model, ours.aliases.get(model, {}).get(alias))
            vt = _number(theirs_numbers, model, theirs.aliases.get(model, {}).get(alias))
            if va != vb and vt != vb and va != vt:
                both(f"alias {model}@{alias}", va, vt)
    into_a, archiving_a = _moves_into(ours_tail, ours, ours_numbers)
    into_t, archiving_t = _moves_into(theirs_tail, theirs, theirs_numbers)
    for pair in sorted(set(into_a) & set(into_t)):
        model, stage = pair
        if into_a[pair] == into_t[pair]:
            continue
        if stage in exclusive or pair in archiving_a or pair in archiving_t:
            here = ", ".join(f"v{n}" for n in sorted(into_a[pair]))
            there = ", ".join(f"v{n}" for n in sorted(into_t[pair]))
            problems.append(
                f"both branches moved {model} into {stage}: {here} on this branch, {there} on "
                f"the other; keep one side and promote again after the merge"
            )
    return problems


def merge_events(
    ours: list[Event],
    theirs: list[Event],
    *,
    initial_stage: str = "None",
    exclusive: frozenset[str] = frozenset(),
    actor: str,
    time: str,
    tool: str,
) -> MergeResult:
    """Merge two checked trails that share a beginning; see the module docstring.

    ``time`` and ``actor`` stamp the renumber and merge events. Pure: no disk, no git.
    """
    k = _common_prefix(ours, theirs)
    ours_tail, theirs_tail = ours[k:], theirs[k:]
    if not theirs_tail:
        return MergeResult(list(ours), kept="ours")
    if not ours_tail:
        return MergeResult(list(theirs), kept="theirs")
    ours_known, theirs_known = known_hashes(ours), known_hashes(theirs)
    if all(e.hash in ours_known for e in theirs_tail):
        return MergeResult(list(ours), kept="ours")
    if all(e.hash in theirs_known for e in ours_tail):
        return MergeResult(list(theirs), kept="theirs")
    if any(e.hash in ours_known for e in theirs_tail) or any(
        e.hash in theirs_known for e in ours_tail
    ):
        return MergeResult(
            problems=[
                "both branches have new events since one was merged into the other; merge the "
                "branches one way and redo the other branch's new changes with minireg"
            ]
        )
    base_state = fold(ours[:k], initial_stage)
    ours_state = fold(ours, initial_stage)
    theirs_state = fold(theirs, initial_stage)
    problems = [f"this branch: {p}" for p in ours_state.anomalies]
    problems += [f"other branch: {p}" for p in theirs_state.anomalies]
    if problems:
        return MergeResult(problems=problems)

    # Both registered the same number: the later registration takes the next free number.
    ours_new = set(ours_state.versions) - set(base_state.versions)
    theirs_new = set(theirs_state.versions) - set(base_state.versions)
    ours_numbers: dict[tuple[str, int], int] = {}
    theirs_numbers: dict[tuple[str, int], int] = {}
    renumbered: list[tuple[str, int, int]] = []
    free: dict[str, int] = {}
    for model, version in sorted(ours_new & theirs_new):
        if model not in free:
            taken = [n for m, n in (*ours_state.versions, *theirs_state.versions) if m == model]
            free[model] = max(taken) + 1
        number = free[model]
        free[model] += 1
        key = (model, version)
        if _sort_key(ours_state, key) > _sort_key(theirs_state, key):
            ours_numbers[key] = number
        else:
            theirs_numbers[key] = number
        renumbered.append((model, version, number))
    if theirs_numbers and any(e.action == "renumber" for e in theirs_tail):
        return MergeResult(
            problems=[
                "the other branch renumbered versions in an earlier merge and must be renumbered "
                "again; merge the branches the other way round"
            ]
        )

    drafts = [
        Draft(
            "renumber",
            model,
            version,
            {"from": version, "to": number},
            reason=f"merge: the other branch registered {model} version {version} first",
        )
        for (model, version), number in sorted(ours_numbers.items())
    ]
    drafts += [
        Draft(
            "renumber",
            model,
            number,
            {"from": version, "to": number, "rewritten": True},
            reason=f"merge: {model} version {version} of the other branch, registered later, "
            f"is version {number}",
        )
        for (model, version), number in sorted(theirs_numbers.items())
    ]
    merged = list(ours)
    merged += chain(drafts, head=merged[-1], time=time, actor=actor, tool=tool)
    rechained: dict[str, str] = {}
    for event in theirs_tail:
        head = merged[-1]
        moved = replace(_rewrite(event, theirs_numbers), seq=head.seq + 1, prev=head.hash, hash="")
        moved = replace(moved, hash=moved.compute_hash())
        rechained[event.hash] = moved.hash
        merged.append(moved)
    closing = Draft(
        "merge",
        "",
        None,
        {
            "base": ours[k - 1].hash if k else GENESIS,
            "ours": ours[-1].hash,
            "theirs": theirs[-1].hash,
            "rechained": rechained,
            "renumbered": [
                {"model": m, "from": old, "to": new} for m, old, new in sorted(renumbered)
            ],
        },
        reason=f"merged {len(theirs_tail)} events of the other branch after "
        f"{len(ours_tail)} of this one",
    )
    merged += chain([closing], head=merged[-1], time=time, actor=actor, tool=tool)

    problems = _conflicts(
        base_state,
        ours_state,
        theirs_state,
        ours_tail,
        theirs_tail,
        ours_numbers,
        theirs_numbers,
        exclusive,
    )
    final = fold(merged, initial_stage)
    problems += [f"merged trail: {p}" for p in final.anomalies]
    for model in final.models():
        for stage in sorted(exclusive):
            holders = final.holders(model, stage)
            if len(holders) > 1:
                text = (
                    f"{model} would have {len(holders)} versions in exclusive stage {stage} "
                    f"({', '.join(f'v{h.version}' for h in holders)})"
                )
                if not any(f"moved {model} into {stage}" in p for p in problems):
                    problems.append(text)
    if problems:
        return MergeResult(problems=problems)
    return MergeResult(merged, renumbered=renumbered)
