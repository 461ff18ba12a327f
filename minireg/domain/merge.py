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

A branch that was updated from the other one before (``git merge main`` on a
feature branch, more than once) is handled: the events it already merged are
recognised through the earlier merge events' ``rechained`` maps and not merged
twice, and versions are matched by the original hash of their register event
(their identity), whatever number the earlier merge gave them. Merging such a
branch back is then a fast-forward of the trail.

It refuses (and the driver exits non-zero, so git reports a conflict) where the
result would depend on the merge direction: both branches touched the same field
of a version (stage and approval, description, one tag) or the same alias and
ended with different values, or moved different versions into an exclusive stage
(or into one stage with ``--archive-existing``). A field only one branch touched
takes that branch's value in either order, so then both directions agree (a
property test checks it on random branches).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from minireg.domain.chain import parse_events
from minireg.domain.records import GENESIS, Draft, Event, chain
from minireg.domain.state import State, fold

# What a transition sets: both branches moving one version must agree on all three.
_STAGE_FIELDS = ("stage", "approved_by", "approved_at")


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


def _identities(events: list[Event]) -> dict[tuple[str, int], str]:
    """Each version of a trail -> the original hash of the event that registered it.

    The same registration carries the same identity on both branches, whatever
    number an earlier merge gave it.
    """
    back = _origins(events)
    ids: dict[tuple[str, int], str] = {}
    for event in events:
        if event.version is None:
            continue
        key = (event.model, event.version)
        if event.action == "register" and key not in ids:
            ids[key] = _origin(event.hash, back)
        elif event.action == "renumber" and not event.data.get("rewritten") and key in ids:
            ids[(event.model, int(event.data["to"]))] = ids.pop(key)
    return ids


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


@dataclass
class _Side:
    """One branch, seen through identities and its numbers in the merged trail."""

    state: State
    ids: dict[tuple[str, int], str]
    numbers: dict[tuple[str, int], int]

    def by_id(self) -> dict[str, Any]:
        return {self.ids[key]: rec for key, rec in self.state.versions.items() if key in self.ids}

    def alias_ids(self) -> dict[tuple[str, str], str | None]:
        return {
            (model, alias): self.ids.get((model, number))
            for model, table in self.state.aliases.items()
            for alias, number in table.items()
        }


def _touches(trail: list[Event], start: int, skip: set[str]) -> set[tuple[str, str]]:
    """What the events from ``start`` on changed, as (field, version identity) pairs;
    an alias is ("alias", "model@alias"). Events whose origin is in ``skip`` (copies of
    the other branch's events, merged before) are the other branch's, not this one's."""
    back = _origins(trail)
    ids: dict[tuple[str, int], str] = {}
    touched: set[tuple[str, str]] = set()
    for index, event in enumerate(trail):
        key = (event.model, event.version) if event.version is not None else None
        if key is not None and event.action == "register" and key not in ids:
            ids[key] = _origin(event.hash, back)
        elif key in ids and event.action == "renumber" and not event.data.get("rewritten"):
            ids[(event.model, int(event.data["to"]))] = ids.pop(key)
        if index < start or _origin(event.hash, back) in skip:
            continue
        if event.action in ("alias_set", "alias_delete"):
            touched.add(("alias", f"{event.model}@{event.data.get('alias')}"))
            continue
        ident = ids.get(key) if key is not None else None
        if ident is None:
            continue
        if event.action == "transition":
            touched.add(("stage", ident))
        elif event.action == "describe":
            touched.add(("description", ident))
        elif event.action == "tag":
            touched.add((f"tag {event.data.get('key')}", ident))
    return touched


def _conflicts(
    touched: tuple[set[tuple[str, str]], set[tuple[str, str]]],
    ours: _Side,
    theirs: _Side,
    final: dict[str, int],
    tails: tuple[list[Event], list[Event]],
    exclusive: frozenset[str],
) -> list[str]:
    """What both branches changed, to different results: the merge order would decide.

    A field only one branch changed takes that branch's value whatever the order;
    one both changed must end equal on both.
    """
    problems: list[str] = []

    def both(what: str, here: object, there: object) -> None:
        problems.append(
            f"both branches changed {what}: {here!r} on this branch, {there!r} on the other; "
            "keep one side and make the other change again after the merge"
        )

    ours_recs, theirs_recs = ours.by_id(), theirs.by_id()
    aliases_a, aliases_t = ours.alias_ids(), theirs.alias_ids()
    for kind, ident in sorted(touched[0] & touched[1], key=lambda t: (final.get(t[1], 0), t)):
        if kind == "alias":
            model, alias = ident.split("@", 1)
            va, vt = aliases_a.get((model, alias)), aliases_t.get((model, alias))
            if va != vt:
                both(
                    f"alias {ident}",
                    final.get(va) if va else None,
                    final.get(vt) if vt else None,
                )
            continue
        a, t = ours_recs.get(ident), theirs_recs.get(ident)
        if a is None or t is None:
            continue
        where = f"{a.model} v{final.get(ident, a.version)}"
        names = {"stage": _STAGE_FIELDS, "description": ("description",)}.get(kind, ())
        for name in names:
            if getattr(a, name) != getattr(t, name):
                both(f"the {name} of {where}", getattr(a, name), getattr(t, name))
                break
        if kind.startswith("tag "):
            tag = kind[len("tag ") :]
            if a.tags.get(tag) != t.tags.get(tag):
                both(f"tag {tag} of {where}", a.tags.get(tag), t.tags.get(tag))
    ours_tail, theirs_tail = tails
    into_a, archiving_a = _moves_into(ours_tail, ours.state, ours.numbers)
    into_t, archiving_t = _moves_into(theirs_tail, theirs.state, theirs.numbers)
    for pair in sorted(set(into_a) & set(into_t)):
        model, stage = pair
        if into_a[pair] == into_t[pair]:
            continue
        if stage in exclusive or pair in archiving_a or pair in archiving_t:
            mine = ", ".join(f"v{n}" for n in sorted(into_a[pair]))
            other = ", ".join(f"v{n}" for n in sorted(into_t[pair]))
            problems.append(
                f"both branches moved {model} into {stage}: {mine} on this branch, {other} on "
                "the other; keep one side and promote again after the merge"
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
    # Their events this branch already merged (when it was updated from theirs before).
    seen = 0
    while seen < len(theirs_tail) and theirs_tail[seen].hash in ours_known:
        seen += 1
    new = theirs_tail[seen:]
    if any(e.hash in ours_known for e in new) or any(e.hash in theirs_known for e in ours_tail):
        return MergeResult(
            problems=[
                "the other branch already merged part of this branch; merge the other way round "
                "(update the other branch from this one first), then merge again"
            ]
        )
    ours_state = fold(ours, initial_stage)
    theirs_state = fold(theirs, initial_stage)
    problems = [f"this branch: {p}" for p in ours_state.anomalies]
    problems += [f"other branch: {p}" for p in theirs_state.anomalies]
    if problems:
        return MergeResult(problems=problems)

    ours_ids, theirs_ids = _identities(ours), _identities(theirs)
    ours_where = {ident: key for key, ident in ours_ids.items()}
    theirs_idents = set(theirs_ids.values())
    ours_numbers: dict[tuple[str, int], int] = {}
    theirs_numbers: dict[tuple[str, int], int] = {}
    theirs_new: list[tuple[str, int]] = []
    for key in sorted(theirs_state.versions):
        ident = theirs_ids.get(key)
        if ident is not None and ident in ours_where:
            if ours_where[ident] != key:  # numbered differently by an earlier merge
                theirs_numbers[key] = ours_where[ident][1]
        else:
            theirs_new.append(key)
    # Both registered the same number: the later registration takes the next free number.
    renumbered: list[tuple[str, int, int]] = []
    free: dict[str, int] = {}
    for key in theirs_new:
        model, version = key
        if key not in ours_state.versions:
            continue
        if model not in free:
            taken = [n for m, n in ours_state.versions if m == model]
            taken += [n for m, n in theirs_new if m == model]
            free[model] = max(taken) + 1
        number = free[model]
        free[model] += 1
        ours_new = ours_ids.get(key) not in theirs_idents
        if ours_new and _sort_key(ours_state, key) > _sort_key(theirs_state, key):
            ours_numbers[key] = number
        else:
            theirs_numbers[key] = number
        renumbered.append((model, version, number))
    if theirs_numbers and any(e.action == "renumber" for e in new):
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
            key[0],
            theirs_numbers[key],
            {"from": key[1], "to": theirs_numbers[key], "rewritten": True},
            reason=f"merge: {key[0]} version {key[1]} of the other branch, registered later, "
            f"is version {theirs_numbers[key]}",
        )
        for key in theirs_new
        if key in theirs_numbers
    ]
    merged = list(ours)
    merged += chain(drafts, head=merged[-1], time=time, actor=actor, tool=tool)
    rechained: dict[str, str] = {}
    for event in new:
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
                {"model": m, "from": old, "to": new_number}
                for m, old, new_number in sorted(renumbered)
            ],
        },
        reason=f"merged {len(new)} events of the other branch after {len(ours_tail)} of this one",
    )
    merged += chain([closing], head=merged[-1], time=time, actor=actor, tool=tool)

    final: dict[str, int] = {}
    for key, ident in ours_ids.items():
        final[ident] = ours_numbers.get(key, key[1])
    for key, ident in theirs_ids.items():
        final.setdefault(ident, theirs_numbers.get(key, key[1]))
    # This branch's own events since it split off: not the copies of theirs merged before.
    theirs_seen = known_hashes(theirs)
    ours_back = _origins(ours)
    ours_own = [e for e in ours_tail if _origin(e.hash, ours_back) not in theirs_seen]
    problems = _conflicts(
        (_touches(ours, k, theirs_seen), _touches(theirs, k + seen, set())),
        _Side(ours_state, ours_ids, ours_numbers),
        _Side(theirs_state, theirs_ids, theirs_numbers),
        final,
        (ours_own, new),
        exclusive,
    )
    result = fold(merged, initial_stage)
    problems += [f"merged trail: {p}" for p in result.anomalies]
    for model in result.models():
        for stage in sorted(exclusive):
            holders = result.holders(model, stage)
            if len(holders) > 1 and not any(f"moved {model} into {stage}" in p for p in problems):
                problems.append(
                    f"{model} would have {len(holders)} versions in exclusive stage {stage} "
                    f"({', '.join(f'v{h.version}' for h in holders)})"
                )
    if problems:
        return MergeResult(problems=problems)
    return MergeResult(merged, renumbered=renumbered)
