"""Inserting the rows of a batch of new versions gives exactly the bytes of a full render."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from minireg.domain.ledger import columns, render_csv
from minireg.domain.ledger_append import insert_rows
from minireg.domain.ledger_rows import edited
from minireg.domain.records import VersionRecord

MODELS = ("a", "a-b", "a.b", "a0", "B", "b", "churn", "zz", "ü")
TEXTS = ("", "plain", 'has, comma and "quotes"', "ünïcode", "x" * 30)

record = st.fixed_dictionaries(
    {
        "model": st.sampled_from(MODELS),
        "metrics": st.dictionaries(
            st.sampled_from(["auc_roc", "f1", "loss"]), st.floats(-1e6, 1e6), max_size=2
        ),
        "params": st.dictionaries(st.sampled_from(["C", "seed"]), st.sampled_from(TEXTS)),
        "tags": st.dictionaries(st.sampled_from(["team"]), st.sampled_from(TEXTS)),
        "description": st.sampled_from(TEXTS),
        "git_dirty": st.sampled_from([None, True, False]),
    }
)


def inserted(ledger: bytes, new: list[VersionRecord]) -> bytes | None:
    """:func:`insert_rows`' edits made (None stays None)."""
    edits = insert_rows(ledger, new)
    return None if edits is None else edited(ledger, edits)


def numbered(
    drawn: list[dict[str, object]], start: dict[str, int] | None = None
) -> list[VersionRecord]:
    """Records of the drawn fields, each model numbered on from ``start`` in order."""
    top = dict(start or {})
    out = []
    for fields in drawn:
        model = str(fields["model"])
        top[model] = top.get(model, 0) + 1
        out.append(VersionRecord(version=top[model], artifact="m.bin", **fields))  # type: ignore[arg-type]
    return out


def ledger_order(records: list[VersionRecord]) -> list[VersionRecord]:
    return sorted(records, key=lambda rec: (rec.model, rec.version))


@settings(max_examples=300, deadline=None)
@given(
    before=st.lists(record, max_size=25),
    batch=st.lists(record, min_size=1, max_size=15),
    seed=st.integers(0, 2**16),
)
def test_inserted_rows_equal_a_full_render(
    before: list[dict[str, object]], batch: list[dict[str, object]], seed: int
) -> None:
    old = numbered(before)
    top = {rec.model: rec.version for rec in old}
    new = numbered(batch, top)
    random.Random(seed).shuffle(new)  # any order: each model's rows go in by number
    full = render_csv(ledger_order([*old, *new]))
    got = inserted(render_csv(ledger_order(old)), new)
    if set(columns(new)) <= set(columns(old)):
        assert got == full
    else:
        assert got is None, "a new column needs a full render"


def test_numbers_that_do_not_follow_on_need_a_full_render() -> None:
    old = numbered([{"model": "a"}, {"model": "a"}, {"model": "c"}])
    ledger = render_csv(old)
    skipping = VersionRecord(model="a", version=4, artifact="m.bin")
    assert inserted(ledger, [skipping]) is None
    taken = VersionRecord(model="c", version=1, artifact="m.bin")
    assert inserted(ledger, [taken]) is None
    fine = [VersionRecord(model=m, version=v, artifact="m.bin") for m, v in [("b", 1), ("a", 3)]]
    assert inserted(ledger, fine) == render_csv(ledger_order([*old, *fine]))


def test_a_line_break_in_a_cell_needs_a_full_render() -> None:
    old = numbered([{"model": "a"}])
    broken = VersionRecord(model="a", version=2, artifact="two\nlines.bin")
    assert inserted(render_csv(old), [broken]) is None
    assert inserted(render_csv(old).replace(b"\n", b"\r\n"), numbered([{"model": "b"}])) is None
