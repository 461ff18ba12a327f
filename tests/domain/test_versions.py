"""Versions: a dict of records in the order they were added, loading records on first use."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minireg.domain.records import VersionRecord
from minireg.domain.versions import Key, Versions

STAGES = ("None", "Staging", "Production")


def _rec(model: str, version: int, stage: str) -> VersionRecord:
    return VersionRecord(model, version, stage, description=f"{model} {version}")


OPS = st.lists(
    st.tuples(
        st.sampled_from(["set", "set", "set", "del"]),
        st.sampled_from(["a", "b"]),
        st.integers(1, 6),
        st.sampled_from(STAGES),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(ops=OPS)
def test_versions_answer_as_a_dict_would(ops: list[tuple[str, str, int, str]]) -> None:
    plain: dict[Key, VersionRecord] = {}
    versions = Versions()
    for verb, model, number, stage in ops:
        key = (model, number)
        if verb == "del":
            if key in plain:
                del plain[key]
                del versions[key]
            continue
        plain[key] = versions[key] = _rec(model, number, stage)
    assert list(versions) == list(plain)
    assert dict(versions.items()) == plain
    for model in ("a", "b", "c"):
        assert versions.numbers(model) == sorted(n for m, n in plain if m == model)
        assert versions.has_model(model) == any(m == model for m, _ in plain)
        for stage in STAGES:
            want = sorted(n for (m, n), r in plain.items() if m == model and r.stage == stage)
            assert versions.in_stage(model, stage) == want


def test_records_are_loaded_once_and_together() -> None:
    stored = [_rec("a", n, STAGES[n % 3]) for n in range(1, 101)]
    calls: list[list[int]] = []

    def load(slots: list[int]) -> list[VersionRecord]:
        calls.append(slots)
        return [stored[slot] for slot in slots]

    keys = [(r.model, r.version) for r in stored]
    versions = Versions(dict(zip(keys, range(100))), [r.stage for r in stored], load)
    assert versions.in_stage("a", "Production") == [n for n in range(1, 101) if n % 3 == 2]
    assert calls == []  # stages are known without loading a record
    assert versions[("a", 7)] == stored[6]
    assert versions[("a", 7)] is versions[("a", 7)]
    assert calls == [[6]]
    assert list(versions.values()) == stored
    assert len(calls) == 2 and len(calls[1]) == 99  # the rest, in one call
    with pytest.raises(KeyError):
        versions[("a", 101)]
    assert not versions.changed
    versions[("a", 7)] = _rec("a", 7, "Archived")
    assert versions.changed == {("a", 7)} and not versions.deleted
    assert versions.in_stage("a", "Archived") == [7]
