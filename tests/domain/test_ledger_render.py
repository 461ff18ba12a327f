"""The ledger rendered column by column is byte for byte the ledger rendered cell by cell."""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from minireg.domain.ledger import render_csv, table
from minireg.domain.records import VersionRecord

TEXT = st.text(alphabet=st.sampled_from('ab,"\r\n ü;\t'), max_size=6)
ODD = st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | TEXT
RECORDS = st.lists(
    st.builds(
        VersionRecord,
        model=st.sampled_from(["a", "b"]),
        version=st.integers(1, 50),
        stage=TEXT,
        aliases=st.lists(st.sampled_from(["x", "y;z"]), max_size=2).map(tuple),
        git_dirty=st.none() | st.booleans(),
        artifact_bytes=st.integers(0, 10**20),
        description=ODD,  # events written by hand may hold any JSON value
        metrics=st.dictionaries(st.sampled_from(["auc", "f1"]), ODD, max_size=2),
        params=st.dictionaries(st.sampled_from(["C", "n"]), TEXT, max_size=2),
        tags=st.dictionaries(st.sampled_from(["t", "u"]), TEXT, max_size=2),
    ),
    max_size=8,
)


def cell_by_cell(records: list[VersionRecord]) -> bytes:
    """The ledger as minireg rendered it before: every cell through ``cell``."""
    cols, rows = table(records)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    if not any("\r" in value for cells in rows for value in cells):
        writer.writerows(rows)
        return buf.getvalue().encode("utf-8")
    one = io.StringIO()
    crlf = csv.writer(one, lineterminator="\r\n")
    for cells in rows:
        one.seek(0)
        one.truncate()
        crlf.writerow(cells)
        buf.write(one.getvalue()[:-2] + "\n")
    return buf.getvalue().encode("utf-8")


@settings(max_examples=400, deadline=None)
@given(records=RECORDS)
def test_column_by_column_is_cell_by_cell(records: list[Any]) -> None:
    records.sort(key=lambda r: (r.model, r.version))
    assert render_csv(records) == cell_by_cell(records)


def test_odd_values_are_written_as_cells() -> None:
    rec = VersionRecord("m", 1, description=True, metrics={"auc": 1.5, "n": 3})  # type: ignore[arg-type]
    text = render_csv([rec]).decode()
    assert text.splitlines()[1].split(",")[16] == "true"
    assert text.endswith(",1.5,3\n")
