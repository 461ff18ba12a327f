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

from dataclasses import dataclass, field, replace
from typing import Literal

from minireg.domain.chain import parse_events
from minireg.domain.merge_conflicts import conflicts
from minireg.domain.merge_identity import (
    Branch,
    Key,
    common_prefix,
    identities,
    known_hashes,
    numbering,
    own_events,
    rewrite,
    walk,
)
from minireg.domain.records import GENESIS, Draft, Event, chain
from minireg.domain.state import fold

__all__ = [
    "MergeResult",
    "Side",
    "event_lines",
    "known_hashes",
    "merge_events",
    "moved_published",
    "one_extends_the_other",
    "parse_side",
    "published_side",
]

Side = Literal["ours", "theirs"]

_NAMES = {"ours": "this branch", "theirs": "the other branch"}


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
    k = common_prefix(ours, theirs)
    keep: Side = "theirs" if published == "theirs" else "ours"
    kept_events, other_events = (theirs, ours) if keep == "theirs" else (ours, theirs)
    own = own_events(other_events, k, known_hashes(kept_events))
    as_it_is = _one_side_as_it_is(ours, theirs, k, keep, own, published)
    if as_it_is is not None:
        return as_it_is

    kept = Branch.of(kept_events, initial_stage)
    other = Branch.of(other_events, initial_stage)
    ours_side, theirs_side = (other, kept) if keep == "theirs" else (kept, other)
    problems = [f"this branch: {p}" for p in ours_side.state.anomalies]
    problems += [f"other branch: {p}" for p in theirs_side.state.anomalies]
    if problems:
        return MergeResult(problems=problems)

    moves, other_moves, final = numbering(kept, other, symmetric=published is None)
    renumbered = sorted([(m, old, new) for (m, old), new in moves.items()] + other_moves)
    merged = list(kept_events)
    drafts = _renumber_drafts(moves, other_moves, other, published is not None)
    merged += chain(drafts, head=merged[-1], time=time, actor=actor, tool=tool)
    moved, rechained = _rechain(other_events, set(own), final, merged[-1])
    merged += moved
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
        reason=f"merged {len(own)} events of {_NAMES[_other(keep)]} after "
        f"{len(kept_events) - k} of {_NAMES[keep]}",
    )
    merged += chain([closing], head=merged[-1], time=time, actor=actor, tool=tool)

    problems = conflicts(ours_side, theirs_side, k, final, exclusive)
    problems += _merged_problems(merged, initial_stage, exclusive, problems)
    if problems:
        return MergeResult(problems=problems)
    return MergeResult(merged, renumbered=renumbered)


def _other(side: Side) -> Side:
    return "ours" if side == "theirs" else "theirs"


def _one_side_as_it_is(
    ours: list[Event],
    theirs: list[Event],
    k: int,
    keep: Side,
    own: list[int],
    published: Side | None,
) -> MergeResult | None:
    """The result when one side's trail already holds every change of the other, else None.

    ``k`` is the length of the prefix both share, ``keep`` the side kept as it is and
    ``own`` the indexes of the other side's own changes.
    """
    kept_events, other_events = (theirs, ours) if keep == "theirs" else (ours, theirs)
    # One side extends the other: take the longer as it is (the kept one is its prefix).
    if len(other_events) == k:
        return MergeResult(list(kept_events), kept=keep)
    if len(kept_events) == k:
        return MergeResult(list(other_events), kept=_other(keep))
    if not own:  # the kept side already holds every change of the other
        return MergeResult(list(kept_events), kept=keep)
    if published is None and not own_events(ours, k, known_hashes(theirs)):
        # Nothing of ours is published and theirs already holds all of it.
        return MergeResult(list(theirs), kept="theirs")
    return None


def _renumber_drafts(
    moves: dict[Key, int],
    other_moves: list[tuple[str, int, int]],
    other: Branch,
    published: bool,
) -> list[Draft]:
    """The ``renumber`` events: the kept side's moves, then the other side's (rewritten)."""
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
    why = "not yet published" if published else "registered later"
    for model, old, new in other_moves:
        rec = other.state.versions[(model, old)]
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
    return drafts


def _rechain(
    trail: list[Event], wanted: set[int], final: dict[str, int], head: Event
) -> tuple[list[Event], dict[str, str]]:
    """The events of ``trail`` at the ``wanted`` indexes, renumbered and chained after ``head``,
    and the map from each one's original hash to its new hash."""
    moved: list[Event] = []
    rechained: dict[str, str] = {}
    for index, event, origin, ids in walk(trail):
        if index not in wanted:
            continue
        chained = replace(rewrite(event, ids, final), seq=head.seq + 1, prev=head.hash, hash="")
        head = replace(chained, hash=chained.compute_hash())
        rechained[origin] = head.hash
        moved.append(head)
    return moved, rechained


def _merged_problems(
    merged: list[Event], initial_stage: str, exclusive: frozenset[str], found: list[str]
) -> list[str]:
    """What is wrong with the merged trail itself, beyond the conflicts ``found`` already."""
    result = fold(merged, initial_stage)
    problems = [f"merged trail: {p}" for p in result.anomalies]
    for model in result.models():
        for stage in sorted(exclusive):
            holders = result.holders(model, stage)
            reported = any(f"moved {model} into {stage}" in p for p in (*found, *problems))
            if len(holders) > 1 and not reported:
                problems.append(
                    f"{model} would have {len(holders)} versions in exclusive stage {stage} "
                    f"({', '.join(f'v{h.version}' for h in holders)})"
                )
    return problems


def one_extends_the_other(ours: list[Event], theirs: list[Event]) -> bool:
    """True when one trail is the other plus more events: merging keeps every event as it is."""
    k = common_prefix(ours, theirs)
    return k in (len(ours), len(theirs))


def published_side(ours: list[Event], theirs: list[Event], main: list[Event]) -> Side | None:
    """The side that holds events of ``main`` (the main branch's trail) beyond those both
    sides share, or None when neither does.

    At most one side can: both holding main's event at one position would share it.
    """
    k = common_prefix(ours, theirs)
    on_main = {event.hash for event in main}
    if any(event.hash in on_main for event in ours[k:]):
        return "ours"
    if any(event.hash in on_main for event in theirs[k:]):
        return "theirs"
    return None


def moved_published(main: list[Event], merged: list[Event]) -> list[tuple[str, int, int]]:
    """Versions of ``main`` that ``merged`` gives another number: (model, on main, merged)."""
    merged_where = {ident: key for key, ident in identities(merged).items()}
    moved = []
    for key, ident in sorted(identities(main).items()):
        there = merged_where.get(ident)
        if there is not None and there != key:
            moved.append((key[0], key[1], there[1]))
    return moved
