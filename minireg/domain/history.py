"""Reading the past from the trail: events by model, version and time; the state at a moment."""

from __future__ import annotations

from datetime import datetime

from minireg.domain.records import Event
from minireg.domain.state import State, apply
from minireg.domain.values import parse_moment


def select_events(
    events: list[Event],
    model: str | None = None,
    version: int | None = None,
    after: datetime | None = None,
) -> list[Event]:
    """The events of ``model`` (and ``version``) at or after ``after``, in trail order."""
    found = []
    for event in events:
        if model is not None and event.model != model:
            continue
        if version is not None and event.version != version:
            continue
        if after is not None and parse_moment(event.time) < after:
            continue
        found.append(event)
    return found


def state_at(events: list[Event], moment: datetime, initial_stage: str) -> State:
    """The state after every event up to ``moment``.

    Later events are skipped rather than stopping at the first: a trail merged
    from two git branches (or written with explicit times) need not be in time order.
    """
    state = State(initial_stage=initial_stage)
    for event in events:
        if parse_moment(event.time) <= moment:
            apply(state, event)
    return state
