"""A ledger that went through a spreadsheet: verify names what changed, rebuild restores it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

import minireg
from tests.conftest import run_cli
from tests.support.spreadsheet import add, at

HINT = "run `minireg rebuild` to regenerate ledger.csv from the events"


@pytest.fixture
def filled(reg: minireg.Registry, artifact: Path) -> minireg.Registry:
    add(reg, "churn", artifact, 0, metrics={"auc_roc": 0.88}, description="first, with a comma")
    add(reg, "churn", artifact, 1, metrics={"auc_roc": 0.91})
    add(reg, "fraud", artifact, 2, metrics={"auc_roc": 0.97})
    reg.promote("churn", 2, "Production", actor="ci", now=at(3))
    return reg


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _write(rows: list[list[str]], *, crlf: bool = False, bom: bool = False) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n" if crlf else "\n").writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8")


def _problems(reg: minireg.Registry) -> list[str]:
    return minireg.open_registry(reg.root).verify().problems


def _rebuild_restores(reg: minireg.Registry, original: bytes) -> None:
    res = run_cli("rebuild", "--registry", str(reg.root))
    assert res.exit_code == 0, res.stderr
    assert (reg.root / "ledger.csv").read_bytes() == original
    res = run_cli("verify", "--registry", str(reg.root))
    assert res.exit_code == 0, res.stderr


def test_crlf_is_named_and_rebuild_fixes_it(filled: minireg.Registry) -> None:
    path = filled.root / "ledger.csv"
    original = path.read_bytes()
    path.write_bytes(original.replace(b"\n", b"\r\n"))
    assert _problems(filled) == ["ledger.csv has CRLF line ends; minireg writes LF", HINT]
    res = run_cli("verify", "--registry", str(filled.root))
    assert res.exit_code == 6
    assert "  - ledger.csv has CRLF line ends; minireg writes LF\n" in res.stderr
    _rebuild_restores(filled, original)


def test_bom_is_named_and_rebuild_fixes_it(filled: minireg.Registry) -> None:
    path = filled.root / "ledger.csv"
    original = path.read_bytes()
    path.write_bytes(b"\xef\xbb\xbf" + original)
    assert _problems(filled) == [
        "ledger.csv starts with a UTF-8 byte order mark (re-saved by a spreadsheet?)",
        HINT,
    ]
    _rebuild_restores(filled, original)


def test_reordered_columns_are_named_and_rebuild_fixes_them(filled: minireg.Registry) -> None:
    path = filled.root / "ledger.csv"
    original = path.read_bytes()
    rows = _rows(original)
    moved = [[r[-1], *r[:-1]] for r in rows]  # metric.auc_roc first, as a sort in a sheet might
    path.write_bytes(_write(moved))
    problems = _problems(filled)
    assert len(problems) == 2
    assert problems[0] == "ledger.csv columns are reordered: metric.auc_roc is column 1, not 20"
    _rebuild_restores(filled, original)


def test_an_excel_resave_names_every_change_with_row_and_column(filled: minireg.Registry) -> None:
    path = filled.root / "ledger.csv"
    original = path.read_bytes()
    rows = _rows(original)
    header = rows[0]
    auc = header.index("metric.auc_roc")
    rows[2][auc] = "0.95"  # a hand edit in row 3 (churn v2)
    moved = [[r[auc], *r[:auc], *r[auc + 1 :]] for r in rows]
    path.write_bytes(_write(moved, crlf=True, bom=True))
    problems = _problems(filled)
    assert problems[:2] == [
        "ledger.csv starts with a UTF-8 byte order mark (re-saved by a spreadsheet?)",
        "ledger.csv has CRLF line ends; minireg writes LF",
    ]
    assert problems[2] == "ledger.csv columns are reordered: metric.auc_roc is column 1, not 20"
    assert (
        "ledger.csv row 3 (churn v2), column metric.auc_roc: '0.95' but the events say '0.91'"
        in problems
    )
    assert problems[-1] == HINT
    _rebuild_restores(filled, original)


def test_rows_sorted_differently_and_blank_rows_are_named(filled: minireg.Registry) -> None:
    path = filled.root / "ledger.csv"
    original = path.read_bytes()
    rows = _rows(original)
    path.write_bytes(_write([rows[0], rows[3], rows[1], rows[2], [""] * len(rows[0])], crlf=True))
    problems = _problems(filled)
    assert "ledger.csv rows are not sorted by model then version" in problems
    assert "ledger.csv row 5 is empty" in problems
    _rebuild_restores(filled, original)


def test_a_deleted_row_and_a_missing_column_are_named(filled: minireg.Registry) -> None:
    path = filled.root / "ledger.csv"
    original = path.read_bytes()
    rows = _rows(original)
    desc = rows[0].index("description")
    cut = [[c for i, c in enumerate(r) if i != desc] for r in rows[:-1]]
    path.write_bytes(_write(cut))
    problems = _problems(filled)
    assert "ledger.csv lacks columns: description" in problems
    assert "ledger.csv: fraud version 1 is missing" in problems
    _rebuild_restores(filled, original)
