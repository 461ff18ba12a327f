"""Folding many events at once gives what applying them one by one gives."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from minireg.domain.records import Draft, Event, VersionRecord, chain
from minireg.domain.state import State, apply, fold_onto, registered

ACTIONS = st.tuples(
    st.sampled_from(
        [
            *("register", "register", "register", "transition", "alias_set", "alias_delete"),
            *("describe", "tag", "renumber", "renumber_rewritten", "merge", "bogus"),
        ]
    ),
    st.sampled_from(["a", "b"]),
    st.integers(1, 4),
)


def _draft(action: str, model: str, n: int) -> Draft:
    data: dict[str, Any] = {
        "register": {"metrics": {"auc": n / 10}, "tags": {"t": str(n)}, "description": "d"},
        "transition": {"from": "None", "to": "Staging"},
        "alias_set": {"alias": f"al{n % 2}"},
        "alias_delete": {"alias": f"al{n % 2}"},
        "describe": {"description": f"text {n}"},
        "tag": {"key": "t", "value": None if n % 2 else "x"},
        "renumber": {"to": n + 1},
        "renumber_rewritten": {"to": n + 1, "rewritten": True},
        "merge": {},
        "bogus": {},
    }[action]
    if action == "register" and n == 4:
        data = {"stage": "Staging"}  # no dicts: each record gets its own
    return Draft(action.replace("_rewritten", ""), model, n, data)


def _one_by_one(events: list[Event]) -> tuple[State, dict[tuple[str, int], int]]:
    """apply() on each event, and which records are still the ones their register made."""
    state = State(initial_stage="None")
    made: dict[tuple[str, int], tuple[VersionRecord, int]] = {}
    for index, event in enumerate(events):
        key = (event.model, event.version or 0)
        fresh = event.action == "register" and key not in state.versions
        apply(state, event, f"line {index + 1}")
        if fresh and key in state.versions:
            made[key] = (state.versions[key], index)
    kept = {key: at for key, (rec, at) in made.items() if state.versions.get(key) is rec}
    return state, kept


@settings(max_examples=200, deadline=None)
@given(st.lists(ACTIONS, max_size=30), st.integers(0, 30))
def test_fold_onto_gives_what_apply_gives(ops: list[tuple[str, str, int]], cut: int) -> None:
    events = chain(
        [_draft(*op) for op in ops], head=None, time="2024-01-01T00:00:00Z", actor="t", tool="t"
    )
    want, kept = _one_by_one(events)
    whole, parts = State(initial_stage="None"), State(initial_stage="None")
    made = fold_onto(whole, events)
    # In two parts too, as a cached state folds the events after it.
    fold_onto(parts, events[:cut])
    fold_onto(parts, events[cut:], cut + 1)
    for got in (whole, parts):
        assert list(got.versions) == list(want.versions)
        assert dict(got.versions.items()) == dict(want.versions.items())
        assert got.versions.stages == want.versions.stages
        assert (got.aliases, got.anomalies) == (want.aliases, want.anomalies)
        assert (got.head, got.count) == (want.head, want.count)
    assert made == kept
    for key, at in kept.items():
        assert whole.versions[key] == registered(events[at], "None")


def _register(data: dict[str, Any]) -> Event:
    return chain([Draft("register", "m", 1, data)], head=None, time="t", actor="a", tool="t")[0]


def test_a_register_event_sets_only_what_a_registration_may() -> None:
    extra = {"aliases": ["x"], "approved_by": "eve", "model": "o", "version": 9, "to_dict": 1}
    rec = registered(_register({"description": "d", "metrics": {"f1": 0.5}, **extra}), "None")
    assert rec == VersionRecord(model="m", version=1, description="d", metrics={"f1": 0.5})
    assert set(vars(rec)) == {f.name for f in fields(VersionRecord)}
    assert rec.to_dict()["aliases"] == []


def test_records_without_dicts_get_their_own() -> None:
    one, two = (registered(_register({"stage": "Staging"}), "None") for _ in range(2))
    assert one.metrics == one.params == one.tags == {} and one.stage == "Staging"
    assert one.metrics is not two.metrics and one.tags is not two.tags
    assert registered(_register({"metrics": None}), "Dev").metrics is None
    assert registered(_register({}), "Dev").stage == "Dev"
