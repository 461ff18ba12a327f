"""`minireg list` cells: read from ledger lines they are exactly the cells of the records."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from minireg.domain.ledger import render_csv
from minireg.domain.listing import of_ledger, of_records
from minireg.domain.records import VersionRecord

MODELS = ("a", "a-b", "a.b", "B", "churn", "ü")

version = st.fixed_dictionaries(
    {
        "model": st.sampled_from(MODELS),
        "stage": st.sampled_from(["None", "Staging", "Production"]),
        "aliases": st.lists(st.sampled_from(["champion", "challenger", "x-1"]), unique=True).map(
            lambda found: tuple(sorted(found))
        ),
        "created_at": st.sampled_from(
            ["", "2024-03-01T10:00:00.000000Z", "2024-03-02T09:00:00.500000Z", "2023-12-31"]
        ),
        "git_commit": st.sampled_from(["", "0123456789abcdef0123456789abcdef01234567"]),
        "git_dirty": st.sampled_from([None, True, False]),
        "metrics": st.dictionaries(
            st.sampled_from(["auc_roc", "f1", "loss"]),
            st.floats(allow_nan=False, allow_infinity=False),
            max_size=3,
        ),
        "description": st.sampled_from(["", 'has, comma and "quotes"', "ünïcode"]),
    }
)


def numbered(drawn: list[dict[str, object]]) -> list[VersionRecord]:
    """The drawn versions numbered per model, in ledger order (model, then version)."""
    top: dict[str, int] = {}
    out = []
    for fields in drawn:
        model = str(fields["model"])
        top[model] = top.get(model, 0) + 1
        out.append(VersionRecord(version=top[model], **fields))  # type: ignore[arg-type]
    return sorted(out, key=lambda rec: (rec.model, rec.version))


@settings(max_examples=300, deadline=None)
@given(
    drawn=st.lists(version, max_size=30),
    model=st.sampled_from([None, *MODELS]),
    newest=st.sampled_from([None, 1, 3, 10]),
)
def test_the_ledger_gives_the_cells_of_the_records(
    drawn: list[dict[str, object]], model: str | None, newest: int | None
) -> None:
    records = numbered(drawn)
    chosen = [rec for rec in records if model is None or rec.model == model]
    from_records = of_records(chosen, newest, one_model=model is not None)
    from_ledger = of_ledger(render_csv(records), model, newest)
    assert from_ledger == from_records
    assert from_records.total == len(chosen)
    assert len(from_records.rows) == min(len(chosen), newest or len(chosen))


def test_the_newest_of_one_model_are_its_highest_versions_and_of_all_the_latest() -> None:
    records = numbered(
        [
            {"model": "a", "created_at": "2024-03-01"},
            {"model": "b", "created_at": "2024-03-05"},
            {"model": "a", "created_at": "2024-03-02"},
            {"model": "a", "created_at": "2024-03-03"},
            {"model": "b", "created_at": "2024-03-04"},
        ]
    )
    shown = of_ledger(render_csv(records), None, 2)
    assert shown is not None
    assert [row[:2] for row in shown.rows] == [["b", "1"], ["b", "2"]]
    assert (shown.total, shown.omitted) == (5, 3)
    one = of_ledger(render_csv(records), "a", 2)
    assert one is not None and [row[:2] for row in one.rows] == [["a", "2"], ["a", "3"]]
    assert one == of_records([r for r in records if r.model == "a"], 2, one_model=True)
    assert of_ledger(render_csv(records), "c", 2) == of_records([], 2, one_model=True)


def test_a_cell_across_lines_is_left_to_the_records() -> None:
    records = [VersionRecord(model="a", version=1, description="two\nlines")]
    assert of_ledger(render_csv(records)) is None
