"""Merging two branches' audit trails: what the minireg git merge driver does.

**A published version number never changes.** One side of a merge may be
*published*: its events are on the main branch (during ``git pull --rebase``, the
upstream being rebased onto; in ``git merge main`` on a feature branch, main).
:func:`merge_events` takes that side as ``published`` and builds the merged
``events.jsonl`` so that ``minireg verify`` passes on it:

1. The published side's trail stays as it is, every event byte for byte: its
   hashes, its numbers, and the audit heads in its commits' trailers stay valid.
   With no side published, this branch's ("ours") trail stays.
2. The other side's own events (those the kept trail does not already hold, by
   original hash) follow, re-chained (new ``seq``, ``prev`` and ``hash``; time,
   actor, action and data kept). Its earlier ``merge`` and ``renumber`` records are
   not copied: they recorded merges the kept side never saw, and the new ``merge``
   event maps every re-chained event from its original hash.
3. Versions are matched by identity, the original hash of the event that
   registered them, so a registration carries the kept side's number whatever
   number an earlier merge gave it on the other side. A registration only the
   other side has keeps its number when it is above every number the kept side
   uses, else it takes the next one (in the order the other side numbered them),
   and a ``renumber`` record with ``"rewritten": true`` says so (it changes no
   state: the re-chained events already carry the new number). So during a rebase
   your unpushed registrations move, and merging main into a feature branch moves
   the branch's.
4. With no side published (two feature branches), both merge directions give the
   same numbers: when both registered the same number, the later registration (by
   ``created_at``; then registrant and digest) takes the next free number. If that
   is this branch's, a ``renumber`` event (``{"from": 3, "to": 5}``) moves it.
5. A ``merge`` event closes the trail. Its data names the common head (``base``),
   both heads (``ours``, ``theirs``), the side kept as it was (``kept``) and
   ``rechained``, a map from each re-chained event's original hash to its new
   hash, so an audit can follow a commit trailer written on the other side to the
   event it became.

Re-chaining the other side's own events afresh each time makes the result a plain
extension of the kept trail: a commit that ``git pull --rebase`` replays again and
again (the push retry loop) is re-chained onto the new upstream each time, and
merging the result back is a fast-forward of the trail.

It refuses (and the driver exits non-zero, so git reports a conflict) where the
result would depend on the merge direction: both branches touched the same field
of a version (stage and approval, description, one tag) or the same alias and
ended with different values, or moved different versions into an exclusive stage
(or into one stage with ``--archive-existing``). A field only one branch touched
takes that branch's value in either order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from minireg.domain.chain import parse_events
from minireg.domain.records import GENESIS, Draft, Event, chain
from minireg.domain.state import State, fold

Side = Literal["ours", "theirs"]
Key = tuple[str, int]

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
    """``ours`` or ``theirs`` when that side's trail is the result as it is, else ``merged``."""

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


def _walk(trail: list[Event]) -> Iterator[tuple[int, Event, str, dict[Key, str]]]:
    """Each event with its original hash and, as of that event, each version's identity.

    A version's identity is the original hash of the event that registered it: the
    same registration has the same identity on every branch, whatever its number.
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


def _identities(events: list[Event]) -> dict[Key, str]:
    """Each version of a trail -> the original hash of the event that registered it."""
    ids: dict[Key, str] = {}
    for _, _, _, live in _walk(events):
        ids = live
    return dict(ids)


def _sort_key(state: State, key: Key) -> tuple[str, str, str]:
    rec = state.versions[key]
    return (rec.created_at, rec.registered_by, rec.artifact_sha256)


@dataclass
class _Side:
    """One side of the merge: its trail, state and identities."""

    events: list[Event]
    state: State
    ids: dict[Key, str] = field(default_factory=dict)

    @classmethod
    def of(cls, events: list[Event], initial_stage: str) -> _Side:
        return cls(events, fold(events, initial_stage), _identities(events))

    def where(self) -> dict[str, Key]:
        return {ident: key for key, ident in self.ids.items()}

    def by_id(self) -> dict[str, Any]:
        return {self.ids[key]: rec for key, rec in self.state.versions.items() if key in self.ids}

    def alias_ids(self) -> dict[tuple[str, str], str | None]:
        return {
            (model, alias): self.ids.get((model, number))
            for model, table in self.state.aliases.items()
            for alias, number in table.items()
        }


def _is_own(event: Event, origin: str, other_known: set[str]) -> bool:
    """A change this side made that the other side does not hold (not a merge record)."""
    if event.action in ("merge", "renumber"):
        return False
    return event.hash not in other_known and origin not in other_known


def _touches(
    trail: list[Event], start: int, other_known: set[str]
) -> tuple[set[tuple[str, str]], dict[tuple[str, str], set[str]], set[tuple[str, str]]]:
    """What this side's own events from ``start`` on changed.

    Returns the (field, version identity) pairs it touched (an alias is
    ("alias", "model@alias")), the identities it moved into each (model, stage),
    and the (model, stage) pairs it emptied with --archive-existing.
    """
    touched: set[tuple[str, str]] = set()
    into: dict[tuple[str, str], set[str]] = {}
    archiving: set[tuple[str, str]] = set()
    for index, event, origin, ids in _walk(trail):
        if index < start or not _is_own(event, origin, other_known):
            continue
        if event.action in ("alias_set", "alias_delete"):
            touched.add(("alias", f"{event.model}@{event.data.get('alias')}"))
            continue
        ident = ids.get((event.model, event.version)) if event.version is not None else None
        if ident is None:
            continue
        if event.action == "transition":
            touched.add(("stage", ident))
            into.setdefault((event.model, str(event.data.get("to"))), set()).add(ident)
            if "archived_by" in event.data:
                archiving.add((event.model, str(event.data.get("from"))))
        elif event.action == "describe":
            touched.add(("description", ident))
        elif event.action == "tag":
            touched.add((f"tag {event.data.get('key')}", ident))
    return touched, into, archiving


def _conflicts(
    ours: _Side,
    theirs: _Side,
    start: int,
    final: dict[str, int],
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

    touched_a, into_a, archiving_a = _touches(ours.events, start, known_hashes(theirs.events))
    touched_t, into_t, archiving_t = _touches(theirs.events, start, known_hashes(ours.events))
    ours_recs, theirs_recs = ours.by_id(), theirs.by_id()
    aliases_a, aliases_t = ours.alias_ids(), theirs.alias_ids()
    for kind, ident in sorted(touched_a & touched_t, key=lambda t: (final.get(t[1], 0), t)):
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

    def holding(into: dict[tuple[str, str], set[str]], recs: dict[str, Any]) -> dict[Any, set[int]]:
        # Only the versions the side still holds there count.
        out: dict[tuple[str, str], set[int]] = {}
        for (model, stage), idents in into.items():
            numbers = {final[i] for i in idents if i in recs and recs[i].stage == stage}
            if numbers:
                out[(model, stage)] = numbers
        return out

    held_a, held_t = holding(into_a, ours_recs), holding(into_t, theirs_recs)
    for pair in sorted(set(held_a) & set(held_t)):
        model, stage = pair
        if held_a[pair] == held_t[pair]:
            continue
        if stage in exclusive or pair in archiving_a or pair in archiving_t:
            mine = ", ".join(f"v{n}" for n in sorted(held_a[pair]))
            other_side = ", ".join(f"v{n}" for n in sorted(held_t[pair]))
            problems.append(
                f"both branches moved {model} into {stage}: {mine} on this branch, "
                f"{other_side} on the other; keep one side and promote again after the merge"
            )
    return problems


def _numbering(
    kept: _Side, other: _Side, symmetric: bool
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


def _rewrite(event: Event, ids: dict[Key, str], final: dict[str, int]) -> Event:
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


def merge_events(
    ours: list[Event],
    theirs: list[Event],
    *,
    published: Side | None = None,
    initial_stage: str = "None",
    exclusive: frozenset[str] = frozenset(),
    actor: str,
    time: str,
    tool: str,
) -> MergeResult:
    """Merge two checked trails that share a beginning; see the module docstring.

    Args:
        ours, theirs: the two trails (git's ``%A`` and ``%B``).
        published: the side whose events are on the main branch: it is kept as it
            is and the other side's registrations move. None: neither side is
            (beyond what both share); ours is kept and the later of two
            same-numbered registrations moves.
        initial_stage, exclusive: from the registry's settings.
        actor, time, tool: stamp the renumber and merge events.

    Pure: no disk, no git.
    """
    k = _common_prefix(ours, theirs)
    keep: Side = "theirs" if published == "theirs" else "ours"
    kept_events, other_events = (theirs, ours) if keep == "theirs" else (ours, theirs)
    other_side: Side = "ours" if keep == "theirs" else "theirs"
    # One side extends the other: take the longer as it is (the kept one is its prefix).
    if len(other_events) == k:
        return MergeResult(list(kept_events), kept=keep)
    if len(kept_events) == k:
        return MergeResult(list(other_events), kept=other_side)
    kept_known, other_known = known_hashes(kept_events), known_hashes(other_events)
    own = [
        index
        for index, event, origin, _ in _walk(other_events)
        if index >= k and _is_own(event, origin, kept_known)
    ]
    if not own:  # the kept side already holds every change of the other
        return MergeResult(list(kept_events), kept=keep)
    if published is None and not any(
        _is_own(event, origin, other_known) for index, event, origin, _ in _walk(ours) if index >= k
    ):
        # Nothing of ours is published and theirs already holds all of it.
        return MergeResult(list(theirs), kept="theirs")

    kept = _Side.of(kept_events, initial_stage)
    other = _Side.of(other_events, initial_stage)
    names = {"ours": "this branch", "theirs": "the other branch"}
    ours_side, theirs_side = (other, kept) if keep == "theirs" else (kept, other)
    problems = [f"this branch: {p}" for p in ours_side.state.anomalies]
    problems += [f"other branch: {p}" for p in theirs_side.state.anomalies]
    if problems:
        return MergeResult(problems=problems)

    moves, other_moves, final = _numbering(kept, other, symmetric=published is None)
    drafts = [
        Draft(
            "renumber",
            model,
            version,
            {"from": version, "to": number},
            reason=f"merge: the other branch registered {model} version {version} first",
        )
        for (model, version), number in sorted(moves.items())
    ]
    for model, old, new in other_moves:
        rec = other.state.versions[(model, old)]
        why = "not yet published" if published else "registered later"
        drafts.append(
            Draft(
                "renumber",
                model,
                new,
                {"from": old, "to": new, "rewritten": True},
                reason=f"merge: {model} version {old}, registered by {rec.registered_by} and "
                f"{why}, is version {new}",
            )
        )
    renumbered = sorted([(m, old, new) for (m, old), new in moves.items()] + other_moves)
    merged = list(kept_events)
    merged += chain(drafts, head=merged[-1], time=time, actor=actor, tool=tool)
    rechained: dict[str, str] = {}
    wanted = set(own)
    for index, event, origin, ids in _walk(other_events):
        if index not in wanted:
            continue
        head = merged[-1]
        moved = replace(_rewrite(event, ids, final), seq=head.seq + 1, prev=head.hash, hash="")
        moved = replace(moved, hash=moved.compute_hash())
        rechained[origin] = moved.hash
        merged.append(moved)
    closing = Draft(
        "merge",
        "",
        None,
        {
            "base": ours[k - 1].hash if k else GENESIS,
            "ours": ours[-1].hash,
            "theirs": theirs[-1].hash,
            "kept": keep,
            "rechained": rechained,
            "renumbered": [
                {"model": m, "from": old, "to": new_number} for m, old, new_number in renumbered
            ],
        },
        reason=f"merged {len(own)} events of {names[other_side]} after "
        f"{len(kept_events) - k} of {names[keep]}",
    )
    merged += chain([closing], head=merged[-1], time=time, actor=actor, tool=tool)

    problems = _conflicts(ours_side, theirs_side, k, final, exclusive)
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


def one_extends_the_other(ours: list[Event], theirs: list[Event]) -> bool:
    """True when one trail is the other plus more events: merging keeps every event as it is."""
    k = _common_prefix(ours, theirs)
    return k in (len(ours), len(theirs))


def published_side(ours: list[Event], theirs: list[Event], main: list[Event]) -> Side | None:
    """The side that holds events of ``main`` (the main branch's trail) beyond those both
    sides share, or None when neither does.

    At most one side can: both holding main's event at one position would share it.
    """
    k = _common_prefix(ours, theirs)
    on_main = {event.hash for event in main}
    if any(event.hash in on_main for event in ours[k:]):
        return "ours"
    if any(event.hash in on_main for event in theirs[k:]):
        return "theirs"
    return None


def moved_published(main: list[Event], merged: list[Event]) -> list[tuple[str, int, int]]:
    """Versions of ``main`` that ``merged`` gives another number: (model, on main, merged)."""
    merged_where = {ident: key for key, ident in _identities(merged).items()}
    moved = []
    for key, ident in sorted(_identities(main).items()):
        there = merged_where.get(ident)
        if there is not None and there != key:
            moved.append((key[0], key[1], there[1]))
    return moved
