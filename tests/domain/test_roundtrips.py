"""Round trips (Hypothesis): record <-> ledger row, event <-> canonical JSON and hash, URIs."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from minireg.domain.canonical import canonical_json, sha256_hex
from minireg.domain.ledger import FIXED_COLUMNS, compare, render_csv
from minireg.domain.records import GENESIS, Draft, Event, VersionRecord, chain
from minireg.domain.uris import ModelURI, parse_uri

# One-line text, as check_text allows (no newline, no NUL).
text = st.text(st.characters(blacklist_characters="\n\x00", blacklist_categories=("Cs",)))
model_names = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,20}\Z")
keys = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.\-/ ]{0,15}\Z").filter(lambda k: k == k.strip())
finite = st.floats(allow_nan=False, allow_infinity=False)
hexes = st.text("0123456789abcdef", min_size=64, max_size=64)


@st.composite
def records(draw: st.DrawFn) -> VersionRecord:
    return VersionRecord(
        model=draw(model_names),
        version=draw(st.integers(1, 10**6)),
        stage=draw(st.sampled_from(["None", "Staging", "Production", "Archived"])),
        aliases=tuple(sorted(draw(st.sets(st.from_regex(r"\A[a-z_-]{1,8}\Z"), max_size=3)))),
        created_at=draw(text),
        registered_by=draw(text),
        git_commit=draw(st.text("0123456789abcdef", max_size=40)),
        git_branch=draw(text),
        git_dirty=draw(st.sampled_from([True, False, None])),
        training_date=draw(text),
        data_sha256=draw(st.one_of(st.just(""), hexes)),
        artifact=draw(text),
        artifact_sha256=draw(hexes),
        artifact_bytes=draw(st.integers(0, 10**12)),
        flavor=draw(st.sampled_from(["joblib", "pickle", "skops", "onnx", "file", "dir"])),
        requirements_sha256=draw(hexes),
        description=draw(text),
        approved_by=draw(text),
        approved_at=draw(text),
        metrics=draw(st.dictionaries(keys, finite, max_size=4)),
        params=draw(st.dictionaries(keys, text, max_size=4)),
        tags=draw(st.dictionaries(keys, text, max_size=4)),
    )


def record_from_row(row: dict[str, str]) -> VersionRecord:
    """The inverse of a ledger row, written here from the documented cell rules."""
    dirty = {"true": True, "false": False, "": None}[row["git_dirty"]]
    fixed: dict[str, Any] = {c: row[c] for c in FIXED_COLUMNS}
    fixed.update(
        version=int(row["version"]),
        aliases=tuple(a for a in row["aliases"].split(";") if a),
        git_dirty=dirty,
        artifact_bytes=int(row["artifact_bytes"]),
    )

    def section(prefix: str) -> dict[str, str]:
        return {
            col[len(prefix) :]: value
            for col, value in row.items()
            if col.startswith(prefix) and value != ""
        }

    return VersionRecord(
        **fixed,
        metrics={k: float(v) for k, v in section("metric.").items()},
        params=section("param."),
        tags=section("tag."),
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(records(), max_size=5, unique_by=lambda r: (r.model, r.version)))
def test_record_ledger_row_round_trip(recs: list[VersionRecord]) -> None:
    recs = sorted(recs, key=lambda r: (r.model, r.version))
    data = render_csv(recs)
    assert b"\r\n" not in data  # rows end in LF; a CR inside a cell is quoted
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    back = [record_from_row(row) for row in rows]
    # An empty param or tag value and an absent one are the same empty cell.
    expected = [
        VersionRecord(
            **{
                **r.__dict__,
                "params": {k: v for k, v in r.params.items() if v != ""},
                "tags": {k: v for k, v in r.tags.items() if v != ""},
            }
        )
        for r in recs
    ]
    assert back == expected
    assert compare(recs, data) == []
    assert render_csv(recs) == data, "the ledger bytes are deterministic"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


@st.composite
def drafts(draw: st.DrawFn) -> Draft:
    return Draft(
        action=draw(st.sampled_from(["register", "transition", "alias_set", "tag", "describe"])),
        model=draw(model_names),
        version=draw(st.one_of(st.none(), st.integers(1, 10**6))),
        data=draw(st.dictionaries(text, json_values, max_size=5)),
        approver=draw(text),
        reason=draw(text),
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(drafts(), min_size=1, max_size=5), text, text)
def test_event_canonical_json_and_hash_round_trip(
    batch: list[Draft], actor: str, time: str
) -> None:
    events = chain(batch, head=None, time=time, actor=actor, tool="minireg test")
    prev = GENESIS
    for seq, event in enumerate(events, start=1):
        assert (event.seq, event.prev) == (seq, prev)
        line = event.to_line()
        assert "\n" not in line
        back = Event.from_line(line)
        assert back == event
        assert back.to_line() == line, "canonical form is stable"
        assert back.compute_hash() == event.hash == sha256_hex(canonical_json(event.body()))
        assert json.loads(line)["hash"] == event.hash
        prev = event.hash
    # The chain continues from a head read back from disk.
    more = chain(
        batch[:1],
        head=Event.from_line(events[-1].to_line()),
        time=time,
        actor=actor,
        tool="minireg test",
    )
    assert (more[0].seq, more[0].prev) == (len(events) + 1, events[-1].hash)


@settings(max_examples=100, deadline=None)
@given(drafts(), text)
def test_any_edit_changes_the_hash(draft: Draft, extra: str) -> None:
    (event,) = chain([draft], head=None, time="t", actor="a", tool="minireg test")
    edited = Event(**{**event.__dict__, "reason": event.reason + extra + "!"})
    assert edited.compute_hash() != event.hash


stages = st.from_regex(r"\A[A-Za-z][A-Za-z0-9_ -]{0,15}\Z").filter(
    lambda s: s.casefold() != "latest"
)
uris = st.one_of(
    st.builds(lambda m, v: ModelURI(m, version=v), model_names, st.integers(1, 10**9)),
    st.builds(lambda m, s: ModelURI(m, stage=s), model_names, stages),
    st.builds(
        lambda m, a: ModelURI(m, alias=a), model_names, st.from_regex(r"\A[A-Za-z0-9_-]{1,20}\Z")
    ),
    st.builds(lambda m: ModelURI(m, latest=True), model_names),
)


@settings(max_examples=300, deadline=None)
@given(uris)
def test_uri_print_parse_round_trip(uri: ModelURI) -> None:
    text_form = str(uri)
    assert parse_uri(text_form) == uri
    assert str(parse_uri(text_form)) == text_form


def test_uri_forms() -> None:
    assert parse_uri("models:/churn/3") == ModelURI("churn", version=3)
    assert parse_uri("models:/churn/Production") == ModelURI("churn", stage="Production")
    assert parse_uri("models:/churn@champion") == ModelURI("churn", alias="champion")
    assert parse_uri("models:/churn/LATEST") == ModelURI("churn", latest=True)


def test_text_that_is_not_unicode_is_refused_as_bad_input() -> None:
    import pytest

    from minireg.domain.names import check_text
    from minireg.errors import InvalidInput

    with pytest.raises(InvalidInput, match="not valid Unicode"):
        check_text("description", "bad \udc80 surrogate")


def test_a_mistyped_uri_is_refused_with_the_accepted_forms() -> None:
    import pytest

    from minireg.domain.uris import is_uri, parse_uri
    from minireg.errors import InvalidInput

    assert is_uri("model:/churn/1")
    with pytest.raises(InvalidInput, match="models:/NAME/VERSION"):
        parse_uri("model:/churn/1")
