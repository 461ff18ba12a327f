"""No formulas, ever: dangerous text stays text in the workbooks, and --excel quotes it in CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

import minireg
from tests.conftest import run_cli, tree_digest
from tests.support.spreadsheet import DANGEROUS, add, at, has_formula, sheet_xml


@pytest.fixture
def risky(reg: minireg.Registry, artifact: Path) -> minireg.Registry:
    """One version per dangerous text: as description, tag value, and promotion reason."""
    for number, text in enumerate(DANGEROUS, start=1):
        add(
            reg,
            "churn",
            artifact,
            number,
            metrics={"auc_roc": 0.5 + number / 100, "delta": -0.25},
            tags={"note": text},
            description=text,
        )
        reg.promote("churn", number, "Staging", reason=text, actor="ci", now=at(50))
    return reg


def _column(rows: list[list[object]], name: str) -> list[object]:
    index = rows[0].index(name)
    return [row[index] for row in rows[1:]]


def _check_workbook(path: Path) -> None:
    xml = sheet_xml(path)
    assert len(xml) == 2
    for name, text in xml.items():
        assert not has_formula(text), name
    wb = openpyxl.load_workbook(path)
    ledger = [list(r) for r in wb["ledger"].iter_rows(values_only=True)]
    assert _column(ledger, "description") == DANGEROUS
    assert _column(ledger, "tag.note") == DANGEROUS
    assert _column(ledger, "metric.delta") == [-0.25] * len(DANGEROUS)
    for row in wb["ledger"].iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"
    audit = [list(r) for r in wb["audit"].iter_rows(values_only=True)]
    reasons = [
        r for r, a in zip(_column(audit, "reason"), _column(audit, "action")) if a == "transition"
    ]
    assert reasons == DANGEROUS


def test_ledger_xlsx_stores_dangerous_text_as_strings(risky: minireg.Registry) -> None:
    res = run_cli("convert", "--to", "xlsx", "--registry", str(risky.root))
    assert res.exit_code == 0, res.stderr
    _check_workbook(risky.root / "ledger.xlsx")
    # And after one more write through the xlsx registry.
    reg = minireg.open_registry(risky.root)
    reg.set_description("churn", 1, "=1+1", actor="ci", now=at(60))
    _check_workbook(risky.root / "ledger.xlsx")
    assert reg.verify().ok


def test_export_xlsx_stores_dangerous_text_as_strings(
    risky: minireg.Registry, tmp_path: Path
) -> None:
    out = tmp_path / "models.xlsx"
    before = tree_digest(risky.root)
    res = run_cli("export", "xlsx", str(out), "--registry", str(risky.root))
    assert res.exit_code == 0, res.stderr
    assert res.stderr == f"Wrote {out} ({len(DANGEROUS)} versions).\n"
    _check_workbook(out)
    assert tree_digest(risky.root) == before


def test_ledger_csv_keeps_raw_text_and_export_csv_excel_quotes_it(
    risky: minireg.Registry, tmp_path: Path
) -> None:
    ledger = (risky.root / "ledger.csv").read_bytes()
    rows = list(csv.reader(io.StringIO(ledger.decode("utf-8"))))
    assert _column(rows, "description") == DANGEROUS  # type: ignore[arg-type]

    raw = tmp_path / "raw.csv"
    assert run_cli("export", "csv", str(raw), "--registry", str(risky.root)).exit_code == 0
    assert raw.read_bytes() == ledger

    safe = tmp_path / "safe.csv"
    res = run_cli("export", "csv", "--excel", str(safe), "--registry", str(risky.root))
    assert res.exit_code == 0, res.stderr
    data = safe.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    quoted = ["'" + text for text in DANGEROUS]
    assert _column(rows, "description") == quoted  # type: ignore[arg-type]
    assert _column(rows, "tag.note") == quoted  # type: ignore[arg-type]
    # Numbers stay numbers so the sheet can still sort by them.
    assert _column(rows, "metric.delta") == ["-0.25"] * len(DANGEROUS)  # type: ignore[arg-type]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell


def test_export_refuses_a_path_inside_the_registry(risky: minireg.Registry) -> None:
    before = tree_digest(risky.root)
    res = run_cli("export", "xlsx", str(risky.root / "ledger.xlsx"), "--registry", str(risky.root))
    assert res.exit_code == 2
    assert res.stderr.startswith("error: ")
    assert "is inside the registry; export to a path outside" in res.stderr
    assert tree_digest(risky.root) == before


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["register", "churn", "model.pkl", "--description", "two\nlines"], "description"),
        (["register", "churn", "model.pkl", "--tag", "note=a\x00b"], "tag 'note'"),
        (["register", "churn", "model.pkl", "--param", "C=1\n2"], "param 'C'"),
        (["describe", "churn", "1", "one\ntwo"], "description"),
        (["promote", "churn", "1", "--to", "Staging", "--reason", "because\nso"], "reason"),
        (["tag", "churn", "1", "note=x\ny"], "tag 'note'"),
    ],
)
def test_newline_or_nul_is_refused_at_input(
    reg: minireg.Registry, artifact: Path, args: list[str], field: str
) -> None:
    add(reg, "churn", artifact, 0)
    before = tree_digest(reg.root)
    res = run_cli(*args, "--registry", str(reg.root))
    assert res.exit_code == 2, res.stderr
    assert res.stderr == (
        f"error: The {field} contains a newline or NUL character; write it on one line.\n"
    )
    assert tree_digest(reg.root) == before


def test_control_characters_survive_the_workbook(reg: minireg.Registry, artifact: Path) -> None:
    run_cli("convert", "--to", "xlsx", "--registry", str(reg.root))
    reg = minireg.open_registry(reg.root)
    text = "\rbell\x07 _x0041_ end"
    add(reg, "churn", artifact, 0, description=text)
    assert reg.verify().ok
    from minireg.adapters.xlsx import read_sheet

    header, rows = read_sheet((reg.root / "ledger.xlsx").read_bytes(), "ledger")
    assert rows[0][header.index("description")] == text
