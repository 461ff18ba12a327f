"""The report's page model: which rows, bars, marks, points and table rows a report shows. Pure.

Built from the audit trail and the current versions (both read through the
Registry's public reads), so the HTML adapter only draws what this decides:

- the **timeline** of each model: one bar per stretch of time a version held a
  stage or an alias, on rows by stage (the configured stages a version *holds*:
  every one but the initial and the archive stage) and by alias; versions that
  hold a non-exclusive stage at the same time get a row each (``Staging · 2``).
  Every transition into a shown stage and every alias move is a mark, with the
  actor, the approver and the reason;
- the **metrics** of each model: one point per version and recorded metric, the
  versions that ever reached the serving stage (``Production``) highlighted and
  its current holder marked;
- the **audit** rows and the **current state** (each stage and alias → version).

``--since`` keeps what happened at or after that moment: bars are clipped to
it (a version that held Production before and after it shows from ``since``),
the audit table and the marks start there, and the metrics show the versions
registered since or holding a stage or alias in that window.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from minireg.domain.config import Config
from minireg.domain.records import Event, VersionRecord
from minireg.domain.timeline import Bar, Mark, serving_stage, timeline
from minireg.domain.values import parse_moment

__all__ = [
    "AuditRow",
    "Bar",
    "Holder",
    "Mark",
    "ModelPage",
    "Overview",
    "Page",
    "Point",
    "ReportOptions",
    "Verification",
    "build_page",
]


@dataclass(frozen=True)
class ReportOptions:
    """What the person asked for: one model or all, a start, and the "generated at" moment."""

    model: str | None = None
    since: datetime | None = None
    now: str = ""
    """UTC text for "generated at"; empty means the time of the trail's head (deterministic)."""


@dataclass(frozen=True)
class Verification:
    """Whether ``verify`` passed when the report was made, and what it found."""

    ok: bool
    problems: tuple[str, ...] = ()
    ran: bool = True
    """False when the report was made without running ``verify`` (``--no-verify``)."""


@dataclass(frozen=True)
class Point:
    """One recorded metric of one version."""

    version: int
    metric: str
    value: float
    highlight: str
    """``reached Production`` or ``never in Production`` (the serving stage's name)."""
    current: bool
    """The version holds the serving stage now."""
    stage: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "metric": self.metric,
            "value": self.value,
            "highlight": self.highlight,
            "current": self.current,
            "stage": self.stage,
        }


@dataclass(frozen=True)
class Holder:
    """One line of the current state: a stage or alias and the version holding it."""

    held: str
    version: int | None = None
    sha256: str = ""
    git_commit: str = ""
    training_date: str = ""
    data_sha256: str = ""


@dataclass(frozen=True)
class AuditRow:
    """One event as the audit table shows it."""

    seq: int
    time: str
    actor: str
    action: str
    model: str
    version: int | None
    change: str
    approver: str
    reason: str

    def to_list(self) -> list[Any]:
        """The row's cells, in :data:`AUDIT_COLUMNS` order."""
        return [
            self.seq,
            self.time,
            self.actor,
            self.action,
            self.model,
            self.version,
            self.change,
            self.approver,
            self.reason,
        ]


AUDIT_COLUMNS = (
    "seq",
    "time (UTC)",
    "actor",
    "action",
    "model",
    "version",
    "from → to / change",
    "approver",
    "reason",
)
"""The audit table's columns, in order."""


@dataclass(frozen=True)
class ModelPage:
    """Everything the report shows about one model."""

    name: str
    versions: int
    rows: list[str]
    """The timeline's rows, top to bottom."""
    bars: list[Bar]
    marks: list[Mark]
    metrics: list[str]
    points: list[Point]
    serving: str
    """The stage whose holders are highlighted (``Production``)."""
    state: list[Holder]


@dataclass(frozen=True)
class Overview:
    """The registry at a glance, at the top of the page."""

    models: int
    versions: int
    events: int
    last_change: str
    head: str
    """The hash of the trail's last event (identifies the whole trail)."""
    verification: Verification
    generated_at: str
    model: str | None = None
    since: str = ""


@dataclass(frozen=True)
class Page:
    """The whole report: an overview, one section per model, the audit table."""

    overview: Overview
    models: list[ModelPage]
    audit: list[AuditRow] = field(default_factory=list)


def build_page(
    events: list[Event],
    records: list[VersionRecord],
    config: Config,
    verification: Verification,
    options: ReportOptions,
) -> Page:
    """The page model of a report over ``events`` (the whole trail, in order) and ``records``.

    ``records`` are the current versions (of ``options.model`` when given).
    """
    head = events[-1] if events else None
    generated = options.now or (head.time if head else "")
    end = parse_moment(generated) if generated else None
    scoped = [e for e in events if options.model is None or e.model == options.model]
    after = options.since
    recent = [e for e in scoped if after is None or parse_moment(e.time) >= after]
    events_of: dict[str, list[Event]] = {}
    for event in scoped:
        events_of.setdefault(event.model, []).append(event)
    records_of: dict[str, list[VersionRecord]] = {}
    for rec in records:
        records_of.setdefault(rec.model, []).append(rec)
    names = sorted(set(records_of) | {e.model for e in scoped if e.action == "register"})
    models = [
        _model_page(name, events_of.get(name, []), records_of.get(name, []), config, after, end)
        for name in names
    ]
    overview = Overview(
        models=len(names),
        versions=len(records),
        events=len(recent),
        last_change=scoped[-1].time if scoped else "",
        head=head.hash if head else "",
        verification=verification,
        generated_at=generated,
        model=options.model,
        since=options.since.strftime("%Y-%m-%dT%H:%M:%SZ") if options.since else "",
    )
    return Page(overview=overview, models=models, audit=[audit_row(e) for e in recent])


def _model_page(
    name: str,
    events: list[Event],
    records: list[VersionRecord],
    config: Config,
    after: datetime | None,
    end: datetime | None,
) -> ModelPage:
    serving = serving_stage(config)
    rows, bars, marks, reached = timeline(events, config, after, end)
    shown = _versions_in_window(records, bars, after)
    points = _points((r for r in records if r.version in shown), serving, reached)
    return ModelPage(
        name=name,
        versions=len(records),
        rows=rows,
        bars=bars,
        marks=marks,
        metrics=sorted({p.metric for p in points}),
        points=points,
        serving=serving,
        state=_state(records, config),
    )


def _versions_in_window(
    records: list[VersionRecord], bars: list[Bar], after: datetime | None
) -> set[int]:
    """Versions registered at or after ``after``, or holding a stage or alias since then."""
    if after is None:
        return {r.version for r in records}
    recent = {r.version for r in records if r.created_at and parse_moment(r.created_at) >= after}
    return recent | {bar.version for bar in bars}


def _points(records: Iterable[VersionRecord], serving: str, reached: set[int]) -> list[Point]:
    yes, no = f"reached {serving}", f"never in {serving}"
    return [
        Point(
            version=rec.version,
            metric=metric,
            value=value,
            highlight=yes if rec.version in reached or rec.stage == serving else no,
            current=rec.stage == serving,
            stage=rec.stage,
        )
        for rec in records
        for metric, value in sorted(rec.metrics.items())
    ]


def _state(records: list[VersionRecord], config: Config) -> list[Holder]:
    """Each stage a version holds (configured order, then any other) and each alias → version."""
    skip = {config.initial_stage, config.archive_stage}
    found = {r.stage for r in records}
    stages = [s for s in config.stages if s not in skip]
    stages += sorted(found - set(config.stages) - skip)
    holders: list[Holder] = []
    for stage in stages:
        held = [r for r in records if r.stage == stage]
        holders += [_holder(stage, r) for r in reversed(held)] or [Holder(held=stage)]
    aliases = sorted((a, r) for r in records for a in r.aliases)
    holders += [_holder(f"@{alias}", rec) for alias, rec in aliases]
    return holders


def _holder(held: str, rec: VersionRecord) -> Holder:
    return Holder(
        held=held,
        version=rec.version,
        sha256=rec.artifact_sha256,
        git_commit=rec.git_commit,
        training_date=rec.training_date,
        data_sha256=rec.data_sha256,
    )


def _change(event: Event) -> str:
    """What an event changed, in a few words (the audit table's "from → to" column)."""
    data = event.data
    action = event.action
    if action == "transition":
        return f"{data.get('from', '?')} → {data.get('to', '?')}"
    if action == "register":
        return f"registered in {data.get('stage', '')}".rstrip()
    if action == "alias_set":
        before = data.get("previous")
        moved = f" (from version {before})" if before is not None else ""
        return f"@{data.get('alias', '')} → version {event.version}{moved}"
    if action == "alias_delete":
        return f"@{data.get('alias', '')} removed"
    if action == "describe":
        return f"description: {data.get('description', '')}"
    if action == "tag":
        value = data.get("value")
        key = data.get("key", "")
        return f"tag {key} removed" if value is None else f"tag {key}={value}"
    if action == "renumber":
        return f"version {event.version} → {data.get('to', '?')}"
    return ""


def audit_row(event: Event) -> AuditRow:
    """The audit table's row for ``event``."""
    return AuditRow(
        seq=event.seq,
        time=event.time,
        actor=event.actor,
        action=event.action,
        model=event.model,
        version=event.version,
        change=_change(event),
        approver=event.approver,
        reason=event.reason,
    )
