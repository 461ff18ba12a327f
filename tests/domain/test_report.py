"""The report's page model (minireg.domain.report, .timeline): bars, marks, points, rows. Pure."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from minireg.domain.config import Config
from minireg.domain.records import Draft, Event, chain
from minireg.domain.report import ReportOptions, Verification, build_page
from minireg.domain.state import fold
from minireg.domain.timeline import MAX_ROWS, Bar

CONFIG = Config(exclusive=frozenset({"Production"}))
OK = Verification(ok=True)


def t(hour: int) -> str:
    return f"2024-03-01T{hour:02d}:00:00.000000Z"


class Trail:
    """A trail written event by event, each at its own hour, by a named actor."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, hour: int, draft: Draft, actor: str = "ci@corp") -> None:
        head = self.events[-1] if self.events else None
        self.events += chain([draft], head=head, time=t(hour), actor=actor, tool="test")

    def register(self, hour: int, model: str, version: int, **metrics: float) -> None:
        data: dict[str, Any] = {"created_at": t(hour), "metrics": metrics, "stage": "None"}
        self.add(hour, Draft("register", model, version, data), actor="ds@corp")

    def move(self, hour: int, model: str, version: int, src: str, dst: str, **kw: Any) -> None:
        self.add(hour, Draft("transition", model, version, {"from": src, "to": dst}, **kw))

    def alias(self, hour: int, model: str, alias: str, version: int | None) -> None:
        if version is None:
            self.add(hour, Draft("alias_delete", model, None, {"alias": alias}))
        else:
            self.add(hour, Draft("alias_set", model, version, {"alias": alias, "previous": None}))

    def page(self, **options: Any) -> Any:
        records = fold(self.events).records()
        if options.get("model"):
            records = [r for r in records if r.model == options["model"]]
        return build_page(self.events, records, CONFIG, OK, ReportOptions(**options))


def churn_story() -> Trail:
    """Two versions; v1 to Staging and Production, then v2 replaces it; @champion moves."""
    trail = Trail()
    trail.register(1, "churn", 1, auc=0.80, f1=0.5)
    trail.register(2, "churn", 2, auc=0.85, f1=0.6)
    trail.move(3, "churn", 1, "None", "Staging", reason="evaluated")
    trail.move(4, "churn", 1, "Staging", "Production", approver="alice@corp", reason="first")
    trail.move(5, "churn", 2, "None", "Staging")
    trail.move(6, "churn", 1, "Production", "Archived", approver="bob@corp", reason="replaced")
    trail.move(6, "churn", 2, "Staging", "Production", approver="bob@corp", reason="AUC up")
    trail.alias(7, "churn", "champion", 1)
    trail.alias(8, "churn", "champion", 2)
    trail.alias(9, "churn", "champion", None)
    trail.register(10, "churn", 3, auc=0.83)
    return trail


def spans(bars: list[Bar]) -> list[tuple[str, int, str, str, bool]]:
    return [(b.lane, b.version, b.start, b.end, b.held) for b in bars]


def test_every_stretch_a_version_held_a_stage_or_alias_is_one_bar() -> None:
    model = churn_story().page().models[0]
    assert sorted(spans(model.bars)) == sorted(
        [
            ("Staging", 1, t(3), t(4), False),
            ("Production", 1, t(4), t(6), False),
            ("Staging", 2, t(5), t(6), False),
            ("Production", 2, t(6), "", True),
            ("@champion", 1, t(7), t(8), False),
            ("@champion", 2, t(8), t(9), False),
        ]
    )
    held = next(b for b in model.bars if b.held)
    # A bar still held ends at "generated at": the trail head's time.
    assert held.to_dict()["end"] == "still held"
    assert held.end_ms == int(datetime(2024, 3, 1, 10, tzinfo=timezone.utc).timestamp() * 1000)
    # Rows: the stages a version holds (not None, not Archived), then the aliases.
    assert model.rows == ["Staging", "Production", "@champion"]


def test_each_promotion_and_alias_move_is_a_mark_with_actor_approver_and_reason() -> None:
    model = churn_story().page().models[0]
    marks = [(m.lane, m.version, m.change, m.actor, m.approver, m.reason) for m in model.marks]
    assert marks == [
        ("Staging", 1, "None → Staging", "ci@corp", "", "evaluated"),
        ("Production", 1, "Staging → Production", "ci@corp", "alice@corp", "first"),
        ("Staging", 2, "None → Staging", "ci@corp", "", ""),
        ("Production", 2, "Staging → Production", "ci@corp", "bob@corp", "AUC up"),
        ("@champion", 1, "@champion → version 1", "ci@corp", "", ""),
        ("@champion", 2, "@champion → version 2", "ci@corp", "", ""),
    ]
    # The tooltip's data: an empty approver or reason reads as a dash, not as nothing.
    assert model.marks[0].to_dict()["approver"] == "—"


def test_versions_holding_a_stage_at_once_get_a_row_each() -> None:
    trail = Trail()
    for version in (1, 2, 3):
        trail.register(version, "m", version)
    trail.move(4, "m", 1, "None", "Staging")
    trail.move(5, "m", 2, "None", "Staging")
    trail.move(6, "m", 1, "Staging", "None")
    trail.move(7, "m", 3, "None", "Staging")  # row 1 is free again
    model = trail.page().models[0]
    assert {(b.version, b.row) for b in model.bars} == {
        (1, "Staging"),
        (2, "Staging · 2"),
        (3, "Staging"),
    }
    assert model.rows == ["Staging", "Staging · 2", "Production"]
    assert {(m.version, m.row) for m in model.marks} == {
        (1, "Staging"),
        (2, "Staging · 2"),
        (3, "Staging"),
    }


def test_since_clips_bars_and_keeps_later_marks_and_events() -> None:
    since = datetime(2024, 3, 1, 5, 30, tzinfo=timezone.utc)
    page = churn_story().page(since=since)
    model = page.models[0]
    # Production v1 (04:00-06:00) overlaps the window: it shows from 05:30.
    assert sorted((b.lane, b.version) for b in model.bars) == [
        ("@champion", 1),
        ("@champion", 2),
        ("Production", 1),
        ("Production", 2),
        ("Staging", 2),
    ]
    start = min(b.start_ms for b in model.bars)
    assert start == int(since.timestamp() * 1000)
    assert [m.version for m in model.marks if m.lane == "Production"] == [2]
    assert [row.seq for row in page.audit] == [e.seq for e in churn_story().events[5:]]
    assert page.overview.events == len(page.audit) == 6
    assert page.overview.since == "2024-03-01T05:30:00Z"
    # Metrics: versions registered since, or holding something in the window (1 and 2).
    assert {p.version for p in model.points} == {1, 2, 3}


def test_metrics_highlight_versions_that_reached_production_and_mark_the_holder() -> None:
    model = churn_story().page().models[0]
    assert model.metrics == ["auc", "f1"]
    by_version = {(p.version, p.metric): p for p in model.points}
    assert by_version[(1, "auc")].highlight == "reached Production"  # archived now
    assert by_version[(2, "auc")].highlight == "reached Production"
    assert by_version[(3, "auc")].highlight == "never in Production"
    assert [p.version for p in model.points if p.current] == [2, 2]
    assert (3, "f1") not in by_version  # a metric a version did not record is no point


def test_the_state_lists_each_held_stage_and_alias_with_its_version() -> None:
    trail = churn_story()
    trail.alias(11, "churn", "challenger", 3)
    model = trail.page().models[0]
    assert [(h.held, h.version) for h in model.state] == [
        ("Staging", None),
        ("Production", 2),
        ("@challenger", 3),
    ]


def test_generated_at_is_the_trail_head_unless_now_is_given() -> None:
    trail = churn_story()
    assert trail.page().overview.generated_at == t(10)
    assert trail.page().overview.head == trail.events[-1].hash
    later = "2025-01-01T00:00:00.000000Z"
    page = trail.page(now=later)
    assert page.overview.generated_at == later
    held = next(b for b in page.models[0].bars if b.held)
    assert held.end_ms == int(datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)


def test_one_model_keeps_the_whole_trail_head_but_only_its_own_events() -> None:
    trail = churn_story()
    trail.register(11, "fraud", 1, auc=0.9)
    page = trail.page(model="churn")
    assert [m.name for m in page.models] == ["churn"]
    assert page.overview.head == trail.events[-1].hash  # the fraud event: the trail's head
    assert {row.model for row in page.audit} == {"churn"}
    assert page.overview.last_change == t(10)


def test_the_audit_row_says_what_each_event_changed() -> None:
    trail = churn_story()
    trail.add(11, Draft("describe", "churn", 3, {"description": "=HYPERLINK(1)"}))
    trail.add(12, Draft("tag", "churn", 3, {"key": "team", "value": "growth"}))
    trail.add(13, Draft("tag", "churn", 3, {"key": "team", "value": None}))
    changes = [row.change for row in trail.page().audit]
    assert changes[0] == "registered in None"
    assert changes[2] == "None → Staging"
    assert changes[7] == "@champion → version 1"
    assert changes[9] == "@champion removed"
    assert changes[-3:] == ["description: =HYPERLINK(1)", "tag team=growth", "tag team removed"]
    assert trail.page().audit[3].to_list()[7] == "alice@corp"


def test_a_trail_out_of_time_order_never_draws_a_bar_backwards() -> None:
    trail = Trail()
    trail.register(5, "m", 1)
    trail.move(6, "m", 1, "None", "Staging")
    trail.move(2, "m", 1, "Staging", "Production")  # merged from a branch with an older clock
    bars = trail.page().models[0].bars
    assert all(b.end_ms >= b.start_ms for b in bars)
    assert {b.lane for b in bars} == {"Staging", "Production"}


def test_an_empty_registry_has_an_empty_page() -> None:
    page = build_page([], [], CONFIG, OK, ReportOptions())
    assert page.models == [] and page.audit == []
    assert page.overview.generated_at == "" and page.overview.head == ""


def test_a_crowded_stage_gets_a_bounded_number_of_rows() -> None:
    trail = Trail()
    for version in range(1, MAX_ROWS + 4):
        trail.register(version, "m", version)
        trail.move(version, "m", version, "None", "Staging")  # and all stay there
    model = trail.page().models[0]
    own = ["Staging", *(f"Staging · {n}" for n in range(2, MAX_ROWS + 1))]
    assert model.rows == [*own, "Staging · more", "Production"]
    rows = [b.row for b in sorted(model.bars, key=lambda b: b.version)]
    assert rows == [*own, "Staging · more", "Staging · more", "Staging · more"]
    assert [m.row for m in sorted(model.marks, key=lambda m: m.version)] == rows
