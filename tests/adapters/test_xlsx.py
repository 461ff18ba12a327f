"""The XLSX ledger: same behaviour as the CSV one, typed cells, deterministic bytes, verify."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minireg
from minireg.adapters.xlsx import escape_text, read_text, workbook_bytes
from minireg.service.spreadsheet import set_format_line
from tests.conftest import run_cli, tree_digest
from tests.support.spreadsheet import add, at

DATE_COLUMNS = {"created_at", "approved_at", "training_date"}


def _run_story(reg: minireg.Registry, artifact: Path) -> None:
    """Register, promote, alias, tag and describe: the same calls on any registry."""
    add(reg, "churn", artifact, 0, metrics={"auc_roc": 0.88, "f1": 0.5}, params={"C": 1})
    add(reg, "churn", artifact, 1, metrics={"auc_roc": 0.91}, description="=1+1")
    add(reg, "other", artifact, 2, metrics={"auc_roc": 0.7}, tags={"team": "b"})
    reg.promote("churn", 1, "Staging", actor="ci", now=at(3))
    reg.promote(
        "churn",
        2,
        "Production",
        approver="alice@corp",
        reason="AUC 0.91 vs 0.88",
        archive_existing=True,
        actor="ci",
        now=at(4),
    )
    reg.set_alias("churn", "champion", 2, actor="ci", now=at(5))
    reg.set_alias("churn", "challenger", 1, actor="ci", now=at(6))
    reg.set_tag("churn", 1, "team", "a", actor="ci", now=at(7))
    reg.set_description("churn", 1, "baseline", actor="ci", now=at(8))
    reg.delete_alias("churn", "challenger", actor="ci", now=at(9))


def _typed(col: str, text: str) -> object:
    """What the workbook must hold for one CSV cell."""
    if text == "":
        return None
    if col in DATE_COLUMNS:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    if col in ("version", "artifact_bytes"):
        return int(text)
    if col == "git_dirty":
        return text == "true"
    if col.startswith("metric."):
        return float(text)
    return text


@pytest.fixture
def pair(repo: Path, tmp_path: Path, artifact: Path) -> tuple[minireg.Registry, minireg.Registry]:
    """A CSV registry and an XLSX one (both outside the repo) after the same story."""
    plain = minireg.init_registry(tmp_path / "csvreg")
    sheet = minireg.init_registry(tmp_path / "xlsxreg")
    res = run_cli("convert", "--to", "xlsx", "--registry", str(sheet.root))
    assert res.exit_code == 0, res.stderr
    sheet = minireg.open_registry(sheet.root)
    assert sheet.config.format == "xlsx"
    _run_story(plain, artifact)
    _run_story(sheet, artifact)
    return plain, sheet


def test_xlsx_registry_goes_through_the_same_story(
    pair: tuple[minireg.Registry, minireg.Registry],
) -> None:
    plain, sheet = pair
    assert (plain.root / "events.jsonl").read_bytes() == (sheet.root / "events.jsonl").read_bytes()
    assert not (sheet.root / "ledger.csv").exists()
    assert (sheet.root / "ledger.xlsx").is_file()
    for reg in pair:
        assert minireg.open_registry(reg.root).verify().ok
        assert reg.resolve("models:/churn@champion").version == 2
        assert reg.resolve("models:/churn/Production").version == 2
        assert reg.get("churn", 1).stage == "Staging"
    outs = [run_cli("list", "--json", "--registry", str(r.root)) for r in pair]
    assert outs[0].exit_code == outs[1].exit_code == 0
    assert json.loads(outs[0].stdout) == json.loads(outs[1].stdout)
    res = run_cli("verify", "--registry", str(sheet.root))
    assert res.exit_code == 0, res.stderr


def test_workbook_cells_equal_the_csv_ledger_with_types(
    pair: tuple[minireg.Registry, minireg.Registry],
) -> None:
    plain, sheet = pair
    rows = list(csv.reader(io.StringIO((plain.root / "ledger.csv").read_text("utf-8"))))
    header, body = rows[0], rows[1:]
    wb = openpyxl.load_workbook(sheet.root / "ledger.xlsx")
    assert wb.sheetnames == ["ledger", "audit"]
    ws = wb["ledger"]
    cells = [list(r) for r in ws.iter_rows(values_only=True)]
    assert cells[0] == header
    assert len(cells) - 1 == len(body) == 3
    for got, want in zip(cells[1:], body):
        for col, value, text in zip(header, got, want):
            assert value == _typed(col, text), col
            if value is not None and col in DATE_COLUMNS:
                assert isinstance(value, datetime)
    by = {c: i for i, c in enumerate(header)}
    assert isinstance(cells[1][by["version"]], int)
    assert isinstance(cells[1][by["metric.auc_roc"]], float)
    assert cells[2][by["description"]] == "=1+1"
    assert cells[2][by["approved_by"]] == "alice@corp"
    # Bold frozen header, autofilter over the data, widths set.
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}4"
    assert all(c.font.bold for c in ws[1])
    assert ws.column_dimensions["A"].width >= 8
    assert ws.column_dimensions["G"].width >= 40  # git_commit: 40 hex digits fit
    # The audit sheet: one row per event, times as dates.
    audit = [list(r) for r in wb["audit"].iter_rows(values_only=True)]
    events = sheet.events()
    assert len(audit) - 1 == len(events) == 10
    assert audit[0][:4] == ["seq", "time", "actor", "action"]
    assert audit[5][1] == at(4).replace(tzinfo=None, microsecond=123000)
    assert audit[5][7:9] == ["alice@corp", "AUC 0.91 vs 0.88"]


def test_workbook_bytes_are_deterministic_and_rebuild_keeps_them(
    pair: tuple[minireg.Registry, minireg.Registry],
) -> None:
    _, sheet = pair
    state = sheet.state()
    events = sheet.events()
    first = workbook_bytes(state.records(), events)
    assert first == workbook_bytes(state.records(), events)
    assert first == (sheet.root / "ledger.xlsx").read_bytes()
    before = tree_digest(sheet.root)
    assert sheet.rebuild() == 3
    assert tree_digest(sheet.root) == before


def test_verify_names_an_edited_workbook_cell_and_rebuild_fixes_it(
    pair: tuple[minireg.Registry, minireg.Registry],
) -> None:
    _, sheet = pair
    path = sheet.root / "ledger.xlsx"
    wb = openpyxl.load_workbook(path)
    header = [c.value for c in wb["ledger"][1]]
    wb["ledger"].cell(row=3, column=header.index("metric.auc_roc") + 1, value=0.99)
    assert header[-1] == "tag.team"
    wb["ledger"].cell(row=4, column=len(header)).value = None  # the row's last cell emptied
    wb.save(path)
    res = run_cli("verify", "--registry", str(sheet.root))
    assert res.exit_code == 6
    assert (
        "ledger.xlsx sheet ledger row 3 (churn 2), column metric.auc_roc: 0.99 but the events "
        "say 0.91" in res.stderr
    )
    assert (
        "ledger.xlsx sheet ledger row 4 (other 1), column tag.team: (empty) but the events "
        "say 'b'" in res.stderr
    )
    assert "run `minireg rebuild` to regenerate ledger.xlsx" in res.stderr
    assert run_cli("rebuild", "--registry", str(sheet.root)).exit_code == 0
    assert run_cli("verify", "--registry", str(sheet.root)).exit_code == 0


def test_verify_names_a_resaved_and_a_broken_workbook(
    pair: tuple[minireg.Registry, minireg.Registry],
) -> None:
    _, sheet = pair
    path = sheet.root / "ledger.xlsx"
    openpyxl.load_workbook(path).save(path)  # same cells, other bytes
    problems = minireg.open_registry(sheet.root).verify().problems
    assert problems[0].startswith("ledger.xlsx holds the right cells but not the bytes")
    path.write_bytes(b"PK not really a workbook")
    problems = minireg.open_registry(sheet.root).verify().problems
    assert problems[0] == "ledger.xlsx is not a readable workbook (BadZipFile)"


def test_convert_back_and_forth_keeps_comments_and_bytes(
    reg: minireg.Registry, artifact: Path
) -> None:
    add(reg, "churn", artifact, 0, metrics={"auc_roc": 0.9})
    csv_before = (reg.root / "ledger.csv").read_bytes()
    toml_before = (reg.root / "minireg.toml").read_text()
    res = run_cli("convert", "--to", "xlsx", "--registry", str(reg.root))
    assert res.exit_code == 0, res.stderr
    assert res.stderr == "The ledger is now xlsx (1 version); removed ledger.csv.\n"
    toml_after = (reg.root / "minireg.toml").read_text()
    assert toml_after == toml_before.replace('format = "csv"', 'format = "xlsx"')
    assert not (reg.root / "ledger.csv").exists()
    assert minireg.open_registry(reg.root).verify().ok
    # Writes keep going to the workbook.
    minireg.open_registry(reg.root).promote("churn", 1, "Staging", actor="ci", now=at(1))
    wb = openpyxl.load_workbook(reg.root / "ledger.xlsx")
    assert wb["ledger"]["C2"].value == "Staging"
    res = run_cli("convert", "--to", "CSV", "--registry", str(reg.root))
    assert res.exit_code == 0, res.stderr
    assert (reg.root / "minireg.toml").read_text() == toml_before
    assert not (reg.root / "ledger.xlsx").exists()
    assert (reg.root / "ledger.csv").read_bytes() == csv_before.replace(b",None,", b",Staging,")
    assert minireg.open_registry(reg.root).verify().ok


def test_convert_to_an_unknown_format_changes_nothing(reg: minireg.Registry) -> None:
    before = tree_digest(reg.root)
    res = run_cli("convert", "--to", "ods", "--registry", str(reg.root))
    assert res.exit_code == 2
    assert res.stderr == "error: Format 'ods' is not known; use --to csv or --to xlsx.\n"
    assert tree_digest(reg.root) == before


def test_set_format_line_edits_one_line_only() -> None:
    text = "# top\nformat = 'csv'  # the ledger\nlock_timeout = 3\n\n[stages]\nformat = 1\n"
    assert set_format_line(text, "xlsx") == text.replace("'csv'", '"xlsx"')
    bare = "# settings\nlock_timeout = 3\n\n[stages]\nnames = ['a']\n"
    assert set_format_line(bare, "xlsx") == (
        "# settings\nlock_timeout = 3\n\nformat = \"xlsx\"\n\n[stages]\nnames = ['a']\n"
    )
    assert set_format_line("", "xlsx") == 'format = "xlsx"\n'


@pytest.mark.parametrize(
    "text", ["plain", "_x0041_ literal", "bell\x07 and cr\r here", "\rstarts with CR", "é 😀"]
)
def test_escape_text_round_trips(text: str) -> None:
    escaped = escape_text(text)
    assert read_text(escaped) == text
    assert not any(ch < " " and ch not in "\t\n" for ch in escaped)


@settings(max_examples=60, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\x00"),
        max_size=40,
    )
)
def test_any_one_line_text_reads_back_exactly_from_the_workbook(text: str) -> None:
    from minireg.adapters.xlsx import read_sheet
    from minireg.domain.records import VersionRecord

    rec = VersionRecord("m", 1, description=text, tags={"note": text}, params={"p": text})
    data = workbook_bytes([rec], [])
    header, rows = read_sheet(data, "ledger")
    for col in ("description", "tag.note", "param.p"):
        assert rows[0][header.index(col)] == (text or None)
    for xml in _sheet_xml_of(data).values():
        assert "<f>" not in xml and "<f " not in xml


def _sheet_xml_of(data: bytes) -> dict[str, str]:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {
            n: archive.read(n).decode("utf-8")
            for n in archive.namelist()
            if n.startswith("xl/worksheets/")
        }


def test_queries_on_an_xlsx_registry_match_the_csv_one(
    pair: tuple[minireg.Registry, minireg.Registry],
) -> None:
    import pandas as pd

    plain, sheet = pair
    pd.testing.assert_frame_equal(plain.to_pandas(), sheet.to_pandas())
    args = ("list", "--where", "metric.auc_roc > 0.8", "--sort", "-metric.auc_roc", "--json")
    outs = [run_cli(*args, "--registry", str(r.root)) for r in pair]
    assert outs[0].exit_code == outs[1].exit_code == 0
    assert outs[0].stdout == outs[1].stdout
    assert [(r["model"], r["version"]) for r in json.loads(outs[1].stdout)] == [
        ("churn", 2),
        ("churn", 1),
    ]
