"""Who held each stage and alias of a model over time, from its events: bars and marks. Pure.

A bar is one stretch of time one version held one stage (or alias); a mark is
the event that started it (a promotion or an alias move), carrying its actor,
approver and reason. The trail is read in its order, which after a git merge
need not be time order: a bar never ends before it starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from minireg.domain.config import Config
from minireg.domain.records import Event
from minireg.domain.values import parse_moment

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)


def millis(moment: datetime) -> int:
    """Milliseconds since the Unix epoch (what a browser's Date takes), exact to the ms."""
    return (moment - _EPOCH) // _MS


@dataclass(frozen=True)
class Bar:
    """One version holding one stage or alias from ``start`` to ``end``."""

    lane: str
    """The stage, or ``@alias``."""
    row: str
    """The timeline row it is drawn on (``lane``, or ``lane · 2`` for a second holder)."""
    version: int
    start: str
    end: str
    start_ms: int
    end_ms: int
    held: bool
    """True when the version still holds it (the bar ends at "generated at")."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "row": self.row,
            "version": self.version,
            "start": self.start,
            "end": "still held" if self.held else self.end,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
        }


@dataclass(frozen=True)
class Mark:
    """An event that gave a version a stage or an alias: a promotion or an alias move."""

    lane: str
    row: str
    version: int
    time: str
    time_ms: int
    change: str
    actor: str
    approver: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "row": self.row,
            "version": self.version,
            "time": self.time,
            "time_ms": self.time_ms,
            "change": self.change,
            "actor": self.actor,
            "approver": self.approver or "—",
            "reason": self.reason or "—",
        }


def serving_stage(config: Config) -> str:
    """The stage whose holders serve: ``Production`` if configured, else the last one held."""
    named = config.stage("Production")
    if named is not None:
        return named
    held = [s for s in config.stages if s not in (config.initial_stage, config.archive_stage)]
    return held[-1] if held else config.stages[-1]


@dataclass
class _Open:
    """A bar not closed yet, and the event that opened it (None for a registration)."""

    lane: str
    version: int
    start: str
    event: Event | None
    change: str | None


@dataclass
class _Walk:
    """The fold over one model's events: what is open, what is done."""

    shown: set[str]
    initial: str
    serving: str
    stage_of: dict[int, str] = field(default_factory=dict)
    open: dict[tuple[str, int], _Open] = field(default_factory=dict)
    alias_at: dict[str, int] = field(default_factory=dict)
    done: list[tuple[_Open, str]] = field(default_factory=list)
    reached: set[int] = field(default_factory=set)

    def start(self, lane: str, version: int, event: Event, change: str | None) -> None:
        opener = event if change is not None else None
        self.open[(lane, version)] = _Open(lane, version, event.time, opener, change)

    def stop(self, lane: str, version: int, time: str) -> None:
        found = self.open.pop((lane, version), None)
        if found is not None:
            self.done.append((found, time))

    def step(self, event: Event) -> None:
        action, number = event.action, event.version
        if action == "alias_delete":
            self._alias(event, None)
        if number is None:
            return
        if action == "register":
            self._enter(str(event.data.get("stage", self.initial)), number, event, None)
        elif action == "transition":
            old = self.stage_of.get(number, str(event.data.get("from", "")))
            self.stop(old, number, event.time)
            new = str(event.data.get("to", ""))
            self._enter(new, number, event, f"{old} → {new}")
        elif action == "alias_set":
            self._alias(event, number)
        elif action == "renumber" and not event.data.get("rewritten"):
            self._renumber(number, int(event.data["to"]))

    def _enter(self, stage: str, number: int, event: Event, change: str | None) -> None:
        self.stage_of[number] = stage
        if stage == self.serving:
            self.reached.add(number)
        if stage in self.shown:
            self.start(stage, number, event, change)

    def _alias(self, event: Event, number: int | None) -> None:
        """Move (or, with no ``number``, delete) an alias: its holder's bar ends here."""
        lane = f"@{event.data.get('alias', '')}"
        before = self.alias_at.pop(lane, None)
        if before is not None:
            self.stop(lane, before, event.time)
        if number is not None:
            self.alias_at[lane] = number
            change = f"{lane} → version {number}"
            self.start(lane, number, event, change)

    def _renumber(self, old: int, new: int) -> None:
        if old in self.stage_of:
            self.stage_of[new] = self.stage_of.pop(old)
        if old in self.reached:
            self.reached.add(new)
        for key in [k for k in self.open if k[1] == old]:
            self.open[(key[0], new)] = self.open.pop(key)
            self.open[(key[0], new)].version = new
        self.alias_at = {a: new if v == old else v for a, v in self.alias_at.items()}


def lanes(config: Config, seen: set[str]) -> list[str]:
    """The timeline's lanes in order: held stages (configured first), then aliases."""
    skip = {config.initial_stage, config.archive_stage}
    stages = [s for s in config.stages if s not in skip]
    others = sorted(s for s in seen - set(stages) if not s.startswith("@"))
    return stages + others + sorted(s for s in seen if s.startswith("@"))


def timeline(
    events: list[Event], config: Config, after: datetime | None, end: datetime | None
) -> tuple[list[str], list[Bar], list[Mark], set[int]]:
    """Rows, bars and marks of one model's events (in trail order), and the versions that
    ever reached the serving stage.

    Bars still open end at ``end`` ("generated at"); with ``after``, bars are clipped
    to start there and earlier marks are left out.
    """
    skip = {config.initial_stage, config.archive_stage}
    seen = {str(e.data.get("to")) for e in events if e.action == "transition"}
    shown = (set(config.stages) | seen) - skip
    walk = _Walk(shown=shown, initial=config.initial_stage, serving=serving_stage(config))
    for event in events:
        walk.step(event)
    last = end or (parse_moment(events[-1].time) if events else _EPOCH)
    stops = [*walk.done, *((o, "") for o in walk.open.values())]
    spans = _spans(stops, after, last)
    order = lanes(config, {span.opened.lane for span in spans})
    rows = _rows(spans)
    bars = [span.bar(row) for span, row in zip(spans, rows)]
    floor = millis(after) if after is not None else None
    marks = [
        mark
        for span, row in zip(spans, rows)
        if (mark := span.mark(row)) is not None and (floor is None or mark.time_ms >= floor)
    ]
    marks.sort(key=lambda m: (m.time_ms, m.version, m.lane))
    return _row_names(order, set(rows)), bars, marks, walk.reached


@dataclass(frozen=True)
class _Span:
    """A bar before its row is known."""

    opened: _Open
    end: str
    start_ms: int
    end_ms: int
    clipped: int

    def bar(self, row: str) -> Bar:
        return Bar(
            lane=self.opened.lane,
            row=row,
            version=self.opened.version,
            start=self.opened.start,
            end=self.end,
            start_ms=self.clipped,
            end_ms=max(self.end_ms, self.clipped),
            held=not self.end,
        )

    def mark(self, row: str) -> Mark | None:
        event, change = self.opened.event, self.opened.change
        if event is None or change is None:
            return None
        return Mark(
            lane=self.opened.lane,
            row=row,
            version=self.opened.version,
            time=event.time,
            time_ms=self.start_ms,
            change=change,
            actor=event.actor,
            approver=event.approver,
            reason=event.reason,
        )


def _spans(stops: list[tuple[_Open, str]], after: datetime | None, last: datetime) -> list[_Span]:
    """Every stretch that reaches ``after`` or later, clipped to it, sorted by start."""
    floor = millis(after) if after is not None else None
    until = millis(last)
    spans = []
    for opened, end in stops:
        start_ms = millis(parse_moment(opened.start))
        end_ms = max(start_ms, millis(parse_moment(end)) if end else until)
        if floor is not None and end_ms < floor:
            continue
        clipped = max(start_ms, floor) if floor is not None else start_ms
        spans.append(_Span(opened, end, start_ms, end_ms, clipped))
    spans.sort(key=lambda s: (s.clipped, s.opened.version, s.opened.lane))
    return spans


MAX_ROWS = 6
_FOREVER = 2**63
"""Rows a lane gets for holders at the same time; more holders share a last row (``· more``)."""


def _rows(spans: list[_Span]) -> list[str]:
    """Each span's row: the lane, or ``lane · N`` when N-1 others hold it at that time.

    Greedy by start time, so each row is as full as it can be. A lane has at most
    :data:`MAX_ROWS` rows of its own; holders beyond that overlap on ``lane · more``.
    """
    ends: dict[str, list[int]] = {}
    rows = []
    for span in spans:
        lane = span.opened.lane
        slots = ends.setdefault(lane, [])
        slot = next((i for i, end in enumerate(slots) if end <= span.clipped), len(slots))
        if slot == MAX_ROWS:
            rows.append(f"{lane} · more")
            continue
        # A bar still held keeps its row to the end, even where the page ends at its start.
        until = span.end_ms if span.end else _FOREVER
        if slot == len(slots):
            slots.append(until)
        else:
            slots[slot] = until
        rows.append(lane if slot == 0 else f"{lane} · {slot + 1}")
    return rows


def _row_names(order: list[str], used: set[str]) -> list[str]:
    """The timeline's rows top to bottom: each lane, then its extra rows in use."""
    names = []
    for lane in order:
        names.append(lane)
        names += [f"{lane} · {n}" for n in range(2, MAX_ROWS + 1) if f"{lane} · {n}" in used]
        names += [f"{lane} · more"] if f"{lane} · more" in used else []
    return names
