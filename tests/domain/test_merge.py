"""The pure merge of two trails (minireg.domain.merge), without git."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from minireg.domain.chain import parse_events
from minireg.domain.merge import (
    known_hashes,
    merge_events,
    moved_published,
    one_extends_the_other,
    published_side,
)
from minireg.domain.records import Draft, Event, chain
from minireg.domain.state import State, fold


def _append(trail: list[Event], draft: Draft, time: str) -> list[Event]:
    head = trail[-1] if trail else None
    return [*trail, *chain([draft], head=head, time=time, actor="tester", tool="test")]


def _register(model: str, version: int, sha: str, when: str) -> tuple[Draft, str]:
    data: dict[str, Any] = {
        "created_at": when,
        "registered_by": "tester",
        "artifact": "m.pkl",
        "artifact_sha256": sha * 64,
        "flavor": "pickle",
    }
    return Draft("register", model, version, data), when


def _move(model: str, version: int, src: str, dst: str, when: str) -> tuple[Draft, str]:
    return Draft("transition", model, version, {"from": src, "to": dst}), when


def _alias(model: str, alias: str, version: int, when: str) -> tuple[Draft, str]:
    return Draft("alias_set", model, version, {"alias": alias, "previous": None}), when


def _trail(base: list[Event], *steps: tuple[Draft, str]) -> list[Event]:
    trail = list(base)
    for draft, when in steps:
        trail = _append(trail, draft, when)
    return trail


def _merge(ours: list[Event], theirs: list[Event], **kw: Any) -> Any:
    return merge_events(
        ours, theirs, actor="merger", time="2024-01-09T00:00:00.000000Z", tool="t", **kw
    )


def _summary(state: State) -> list[tuple[int, str, str, tuple[str, ...]]]:
    return [(r.version, r.stage, r.artifact_sha256[:1], r.aliases) for r in state.records()]


BASE = _trail([], _register("churn", 1, "0", "2024-01-01T00:00:00.000000Z"))


def test_later_registration_is_renumbered_whichever_side_it_is_on() -> None:
    a = _trail(
        BASE,
        _register("churn", 2, "a", "2024-01-02T00:00:00.000000Z"),
        _move("churn", 2, "None", "Staging", "2024-01-02T01:00:00.000000Z"),
    )
    b = _trail(
        BASE,
        _register("churn", 2, "b", "2024-01-03T00:00:00.000000Z"),
        _move("churn", 2, "None", "Production", "2024-01-03T01:00:00.000000Z"),
        _alias("churn", "champion", 2, "2024-01-03T02:00:00.000000Z"),
    )
    results = []
    for ours, theirs in ((a, b), (b, a)):
        result = _merge(ours, theirs)
        assert result.ok, result.problems
        assert result.renumbered == [("churn", 2, 3)]
        events, problems = parse_events([e.to_line() for e in result.events])
        assert problems == []
        state = fold(events)
        assert state.anomalies == []
        # Every event of ours is kept byte for byte.
        assert result.events[: len(ours)] == ours
        # Every event of theirs is there, re-chained, and the merge event maps it.
        merge = result.events[-1]
        assert merge.action == "merge"
        assert merge.data["ours"] == ours[-1].hash
        assert merge.data["theirs"] == theirs[-1].hash
        assert set(merge.data["rechained"]) == {e.hash for e in theirs[len(BASE) :]}
        assert known_hashes(result.events) >= {e.hash for e in ours + theirs}
        results.append(_summary(state))
    # Same versions, stages and aliases in both directions: a's v2 kept 2 (registered first).
    assert (
        results[0]
        == results[1]
        == [
            (1, "None", "0", ()),
            (2, "Staging", "a", ()),
            (3, "Production", "b", ("champion",)),
        ]
    )


def test_one_side_holding_everything_is_kept_as_it_is() -> None:
    a = _trail(BASE, _register("churn", 2, "a", "2024-01-02T00:00:00.000000Z"))
    assert _merge(BASE, a).events == a
    assert _merge(a, BASE).events == a
    b = _trail(BASE, _register("churn", 2, "b", "2024-01-03T00:00:00.000000Z"))
    merged = _merge(a, b).events
    # Merging again, either way, changes nothing: every event is already in.
    again = _merge(merged, b)
    assert again.ok and again.events == merged
    assert _merge(b, merged).events == merged


def test_conflicting_changes_are_refused() -> None:
    a = _trail(
        BASE,
        _move("churn", 1, "None", "Production", "2024-01-02T00:00:00.000000Z"),
        _alias("churn", "champion", 1, "2024-01-02T01:00:00.000000Z"),
    )
    b = _trail(
        BASE,
        _register("churn", 2, "b", "2024-01-03T00:00:00.000000Z"),
        _move("churn", 1, "None", "Staging", "2024-01-03T00:00:00.000000Z"),
        _alias("churn", "champion", 2, "2024-01-03T01:00:00.000000Z"),
    )
    result = _merge(a, b)
    assert not result.ok
    assert result.events == []
    text = "\n".join(result.problems)
    assert "both branches changed the stage of churn v1: 'Production' on this branch" in text
    assert "both branches changed alias churn@champion: 1 on this branch, 2 on the other" in text


def test_exclusive_stage_taken_by_two_versions_is_refused() -> None:
    a = _trail(
        BASE,
        _register("churn", 2, "a", "2024-01-02T00:00:00.000000Z"),
        _move("churn", 2, "None", "Production", "2024-01-02T01:00:00.000000Z"),
    )
    b = _trail(
        BASE,
        _register("churn", 2, "b", "2024-01-03T00:00:00.000000Z"),
        _move("churn", 2, "None", "Production", "2024-01-03T01:00:00.000000Z"),
    )
    assert _merge(a, b).ok  # Production is not exclusive by default
    result = _merge(a, b, exclusive=frozenset({"Production"}))
    assert result.problems == [
        "both branches moved churn into Production: v2 on this branch, v3 on the other; "
        "keep one side and promote again after the merge"
    ]


def _tag(model: str, version: int, key: str, value: str, when: str) -> tuple[Draft, str]:
    return Draft("tag", model, version, {"key": key, "value": value, "previous": None}), when


def test_updating_a_branch_twice_then_merging_it_back() -> None:
    """The everyday flow: merge main into a feature branch (twice), then the branch into main."""
    feature = _trail(
        BASE,
        _register("churn", 2, "f", "2024-01-02T00:00:00.000000Z"),
        _move("churn", 2, "None", "Staging", "2024-01-02T01:00:00.000000Z"),
    )
    main = _trail(BASE, _register("churn", 2, "m", "2024-01-03T00:00:00.000000Z"))
    first = _merge(feature, main)
    assert first.ok and first.renumbered == [("churn", 2, 3)]  # main's, registered later
    # Both go on: main registers again; the feature tags main's model (its v3) and registers.
    main = _trail(main, _register("churn", 3, "n", "2024-01-04T00:00:00.000000Z"))
    feature = _trail(
        first.events,
        _tag("churn", 3, "checked", "yes", "2024-01-04T01:00:00.000000Z"),
        _register("churn", 4, "g", "2024-01-05T00:00:00.000000Z"),
    )
    second = _merge(feature, main)
    assert second.ok, second.problems
    # main's first model is not merged twice; its second takes the next free number.
    state = fold(second.events)
    assert state.anomalies == []
    assert parse_events([e.to_line() for e in second.events])[1] == []
    assert _summary(state) == [
        (1, "None", "0", ()),
        (2, "Staging", "f", ()),
        (3, "None", "m", ()),
        (4, "None", "g", ()),
        (5, "None", "n", ()),
    ]
    assert state.versions[("churn", 3)].tags == {"checked": "yes"}
    # Merging the updated branch into main takes the branch as it is (a fast-forward).
    back = _merge(main, second.events)
    assert back.ok and back.kept == "theirs" and back.events == second.events


def test_conflicts_are_found_across_an_earlier_merge() -> None:
    feature = _trail(BASE, _register("churn", 2, "f", "2024-01-02T00:00:00.000000Z"))
    main = _trail(BASE, _register("churn", 2, "m", "2024-01-03T00:00:00.000000Z"))
    first = _merge(feature, main)
    # Each side now moves main's model (v2 on main, v3 on the feature) somewhere else.
    main = _trail(main, _move("churn", 2, "None", "Production", "2024-01-04T00:00:00.000000Z"))
    feature = _trail(
        first.events, _move("churn", 3, "None", "Staging", "2024-01-04T01:00:00.000000Z")
    )
    result = _merge(feature, main)
    assert result.problems == [
        "both branches changed the stage of churn v3: 'Staging' on this branch, 'Production' "
        "on the other; keep one side and make the other change again after the merge"
    ]


# -- both merge directions agree, for any two branches -------------------------

_STAGES = ("None", "Staging", "Production", "Archived")


@st.composite
def _branch_ops(draw: st.DrawFn) -> list[tuple[str, int, str]]:
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(["register", "transition", "alias", "tag"]),
                st.integers(min_value=0, max_value=5),
                st.sampled_from(_STAGES),
            ),
            max_size=6,
        )
    )


def _grow(trail: list[Event], ops: list[tuple[str, int, str]], side: int) -> list[Event]:
    for n, (kind, pick, stage) in enumerate(ops):
        state = fold(trail)
        versions = sorted(v for _, v in state.versions)
        when = f"2024-02-{10 + 10 * (side > 2) + n:02d}T00:00:00.{side:06d}Z"
        if kind == "register" or not versions:
            number = state.next_version("churn")
            trail = _trail(trail, _register("churn", number, "-abcd"[side], when))
            continue
        version = versions[pick % len(versions)]
        rec = state.versions[("churn", version)]
        if kind == "transition" and rec.stage != stage:
            trail = _trail(trail, _move("churn", version, rec.stage, stage, when))
        elif kind == "alias":
            alias = ("champion", "challenger")[pick % 2]
            trail = _trail(trail, _alias("churn", alias, version, when))
        elif kind == "tag":
            trail = _trail(trail, _tag("churn", version, "by", "-abcd"[side], when))
    return trail


def _view(events: list[Event]) -> list[tuple[int, str, str, tuple[str, ...], str]]:
    state = fold(events)
    return [
        (r.version, r.stage, r.artifact_sha256[:1], r.aliases, str(sorted(r.tags.items())))
        for r in state.records()
    ]


@settings(max_examples=150, deadline=None)
@given(_branch_ops(), _branch_ops())
def test_both_directions_agree(
    ops_a: list[tuple[str, int, str]], ops_b: list[tuple[str, int, str]]
) -> None:
    a, b = _grow(BASE, ops_a, 1), _grow(BASE, ops_b, 2)
    forward, backward = _merge(a, b), _merge(b, a)
    assert forward.ok == backward.ok, (forward.problems, backward.problems)
    if not forward.ok:
        return
    for result in (forward, backward):
        events, problems = parse_events([e.to_line() for e in result.events])
        assert problems == []
        assert fold(events).anomalies == []
    assert _view(forward.events) == _view(backward.events)


@settings(max_examples=100, deadline=None)
@given(_branch_ops(), _branch_ops(), _branch_ops(), _branch_ops())
def test_updating_from_the_other_branch_then_merging_back(
    ops_a: list[tuple[str, int, str]],
    ops_b: list[tuple[str, int, str]],
    more_a: list[tuple[str, int, str]],
    more_b: list[tuple[str, int, str]],
) -> None:
    a, b = _grow(BASE, ops_a, 1), _grow(BASE, ops_b, 2)
    first = _merge(a, b)
    if not first.ok:
        return
    a2 = _grow(first.events, more_a, 3)
    b2 = _grow(b, more_b, 4)
    second = _merge(a2, b2)
    if not second.ok:
        return
    events, problems = parse_events([e.to_line() for e in second.events])
    assert problems == []
    state = fold(events)
    assert state.anomalies == []
    # Every registration of both branches is there exactly once.
    registered = sorted(e.data["created_at"] for e in (*a2, *b2) if e.action == "register")
    assert sorted({r.created_at for r in state.records()}) == sorted(set(registered))
    assert len(state.records()) == len(set(registered))
    # Merging the result back into the other branch takes it as it is.
    back = _merge(b2, second.events)
    assert back.ok and back.events == second.events


# -- one side is published: its events and numbers never change -------------------


def test_published_side_keeps_its_numbers_and_the_other_moves() -> None:
    # b registered first, but a's version 2 is published (on main).
    a = _trail(BASE, _register("churn", 2, "a", "2024-01-03T00:00:00.000000Z"))
    b = _trail(
        BASE,
        _register("churn", 2, "b", "2024-01-02T00:00:00.000000Z"),
        _alias("churn", "champion", 2, "2024-01-02T01:00:00.000000Z"),
    )
    # A rebase of b onto a (ours is published), and a merge of a into b (theirs is).
    rebase, merge_main_in = _merge(a, b, published="ours"), _merge(b, a, published="theirs")
    for result, kept in ((rebase, "ours"), (merge_main_in, "theirs")):
        assert result.ok, result.problems
        assert result.renumbered == [("churn", 2, 3)]
        assert result.events[: len(a)] == a  # the published trail, byte for byte
        assert _summary(fold(result.events)) == [
            (1, "None", "0", ()),
            (2, "None", "a", ()),
            (3, "None", "b", ("champion",)),
        ]
        renumber = next(e for e in result.events if e.action == "renumber")
        assert renumber.data == {"from": 2, "to": 3, "rewritten": True}
        merge = result.events[-1]
        assert merge.data["kept"] == kept
        assert set(merge.data["rechained"]) == {e.hash for e in b[len(BASE) :]}
        assert known_hashes(result.events) >= {e.hash for e in a + b}


def test_a_rebased_commit_rebases_again_and_again() -> None:
    """The push retry loop: each pull --rebase re-chains the local commit onto upstream."""
    local = _trail(BASE, _register("churn", 2, "b", "2024-01-02T00:00:00.000000Z"))
    upstream = BASE
    replayed = local
    for n, letter in enumerate("cdef"):
        upstream = _trail(upstream, _register("churn", 2 + n, letter, f"2024-01-0{3 + n}T00Z"))
        result = _merge(upstream, replayed, published="ours")
        assert result.ok, result.problems
        assert result.events[: len(upstream)] == upstream
        replayed = result.events
        state = fold(replayed)
        assert state.anomalies == []
        # Upstream's numbers stay; the local registration is always the next one.
        assert [r.artifact_sha256[:1] for r in state.records()] == ["0", *"cdef"[: n + 1], "b"]
        # The local commit's trailer (its register event) is still vouched for.
        assert local[-1].hash in known_hashes(replayed)
    # Publishing it and merging again changes nothing.
    assert _merge(replayed, replayed, published="ours").events == replayed
    assert _merge(upstream, replayed, published="ours").events == replayed


def test_updating_a_branch_from_main_twice_then_merging_it_back() -> None:
    """Main is published: merging it into a feature branch moves the branch's versions."""
    feature = _trail(
        BASE,
        _register("churn", 2, "f", "2024-01-02T00:00:00.000000Z"),
        _register("churn", 3, "g", "2024-01-02T01:00:00.000000Z"),
    )
    main = _trail(BASE, _register("churn", 2, "m", "2024-01-03T00:00:00.000000Z"))
    first = _merge(feature, main, published="theirs")
    assert first.ok and first.renumbered == [("churn", 2, 3), ("churn", 3, 4)]
    assert first.events[: len(main)] == main
    feature = _trail(first.events, _move("churn", 3, "None", "Staging", "2024-01-04T00Z"))
    main = _trail(main, _register("churn", 3, "n", "2024-01-05T00:00:00.000000Z"))
    second = _merge(feature, main, published="theirs")
    assert second.ok, second.problems
    assert second.events[: len(main)] == main
    assert _summary(fold(second.events)) == [
        (1, "None", "0", ()),
        (2, "None", "m", ()),
        (3, "None", "n", ()),
        (4, "Staging", "f", ()),
        (5, "None", "g", ()),
    ]
    # Into main: the branch's trail extends main's, so it is taken as it is.
    back = _merge(main, second.events, published="ours")
    assert back.ok and back.kept == "theirs" and back.events == second.events


def test_direction_dependent_changes_are_refused_with_a_published_side() -> None:
    a = _trail(BASE, _move("churn", 1, "None", "Production", "2024-01-02T00:00:00.000000Z"))
    b = _trail(BASE, _move("churn", 1, "None", "Staging", "2024-01-03T00:00:00.000000Z"))
    for published in ("ours", "theirs"):
        result = _merge(a, b, published=published)
        assert result.problems == [
            "both branches changed the stage of churn v1: 'Production' on this branch, "
            "'Staging' on the other; keep one side and make the other change again after "
            "the merge"
        ]


def test_which_side_is_published() -> None:
    main = _trail(BASE, _register("churn", 2, "m", "2024-01-03T00:00:00.000000Z"))
    feature = _trail(BASE, _register("churn", 2, "f", "2024-01-02T00:00:00.000000Z"))
    local_main = _trail(main, _register("churn", 3, "l", "2024-01-04T00:00:00.000000Z"))
    assert published_side(local_main, feature, main) == "ours"
    assert published_side(feature, main, main) == "theirs"
    assert published_side(feature, _trail(BASE), BASE) is None  # main is what both share
    assert one_extends_the_other(main, local_main) and one_extends_the_other(local_main, main)
    assert not one_extends_the_other(main, feature)
    # The old rule (the later registration moves) would renumber main's version 2.
    old = _merge(feature, main)
    assert moved_published(main, old.events) == [("churn", 2, 3)]
    assert moved_published(main, _merge(feature, main, published="theirs").events) == []


# -- clones pushing and rebasing, any interleaving (the README's retry loop) -------------


class _Clone:
    def __init__(self, upstream: list[Event]) -> None:
        self.base = upstream  # the upstream trail this clone last synced to
        self.commits: list[list[Event]] = []  # the trail of each local commit

    @property
    def head(self) -> list[Event]:
        return self.commits[-1] if self.commits else self.base

    def rebase(self, upstream: list[Event]) -> None:
        """git pull --rebase: replay each local commit onto upstream (driver when diverged)."""
        current, parent, replayed = upstream, self.base, []
        for commit in self.commits:
            if current == parent:
                current = commit
            else:
                result = _merge(current, commit, published="ours")
                assert result.ok, result.problems
                current = result.events
            parent = commit
            replayed.append(current)
        self.base, self.commits = upstream, replayed


_CLONE_OPS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2),
        st.sampled_from(["register", "register", "promote", "alias", "tag", "push"]),
        st.integers(min_value=0, max_value=5),
        st.sampled_from(_STAGES[1:]),
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(_CLONE_OPS)
def test_the_push_and_rebase_loop_converges(ops: list[tuple[int, str, int, str]]) -> None:
    upstream = BASE
    clones = [_Clone(upstream) for _ in range(3)]
    owner: dict[str, int] = {}  # artifact digest -> the clone that registered it
    stages: dict[str, str] = {}
    seen: dict[tuple[str, int], str] = {
        key: r.artifact_sha256 for key, r in fold(BASE).versions.items()
    }

    def push(who: int) -> None:
        nonlocal upstream
        clone = clones[who]
        if clone.base is not upstream:
            clone.rebase(upstream)
        assert clone.head[: len(upstream)] == upstream  # published events never change
        upstream = clone.head
        clone.base, clone.commits = upstream, []
        state = fold(upstream)
        assert state.anomalies == []
        assert parse_events([e.to_line() for e in upstream])[1] == []
        for key, rec in state.versions.items():
            assert seen.setdefault(key, rec.artifact_sha256) == rec.artifact_sha256

    for n, (who, kind, pick, stage) in enumerate(ops):
        clone = clones[who]
        when = f"2024-03-01T00:00:{n:02d}.{who:06d}Z"
        state = fold(clone.head)
        mine = [r for r in state.records() if owner.get(r.artifact_sha256) == who]
        if kind == "push":
            push(who)
        elif kind == "register" or not mine:
            digest = f"c{who}n{n:02d}".ljust(64, "-")
            owner[digest] = who
            stages[digest] = "None"
            draft = Draft(
                "register",
                "churn",
                state.next_version("churn"),
                {"created_at": when, "artifact_sha256": digest, "registered_by": f"c{who}"},
            )
            clone.commits.append(_trail(clone.head, (draft, when)))
        else:
            rec = mine[pick % len(mine)]
            if kind == "promote" and rec.stage != stage:
                step = _move("churn", rec.version, rec.stage, stage, when)
                stages[rec.artifact_sha256] = stage
            elif kind == "alias":
                step = _alias("churn", f"by-c{who}", rec.version, when)
            else:
                step = _tag("churn", rec.version, "checked", str(n), when)
            clone.commits.append(_trail(clone.head, step))
    for who in range(3):
        push(who)
    # Every registration landed once, at the stage its owner last gave it.
    final = {r.artifact_sha256: r for r in fold(upstream).records()}
    assert set(final) == set(owner) | {"0" * 64}
    assert all(final[digest].stage == stage for digest, stage in stages.items())
