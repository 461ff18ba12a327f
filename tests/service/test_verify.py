"""Tampering with the trail or the ledger: verify names line, row and column; rebuild repairs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

import minireg
from minireg.domain.records import Draft, chain
from tests.conftest import run_cli, run_proc
from tests.support.stages import add_version, event_lines


@pytest.fixture
def trail(reg: minireg.Registry) -> minireg.Registry:
    """Eight events: two registrations, promotions with approval, an alias, a description."""
    add_version(reg, 0.88)
    add_version(reg, 0.91)
    reg.promote("churn", 1, "Production", approver="bob@corp", reason="first", actor="ci@corp")
    reg.promote(
        "churn",
        2,
        "Production",
        approver="alice@corp",
        reason="AUC 0.91 vs 0.88",
        archive_existing=True,
        actor="ci@corp",
    )
    reg.set_alias("churn", "champion", 2, actor="ci@corp")
    reg.set_description("churn", 1, "retired", actor="ci@corp")
    assert len(event_lines(reg.root)) == 7
    assert reg.verify().ok
    return reg


def _write_lines(root: Path, lines: list[str]) -> None:
    (root / "events.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _verify(root: Path) -> tuple[int, list[str]]:
    res = run_cli("verify", "--registry", str(root))
    return res.exit_code, res.stderr.splitlines()


def _edit_char(text: str, old: str, new: str) -> str:
    """Change one character: the first ``old`` becomes ``new``; after a longer ``old``
    (a prefix to find), the character that follows it is changed instead."""
    at = text.index(old)
    if len(old) > 1:
        at += len(old)
        return text[:at] + ("0" if text[at] != "0" else "1") + text[at + 1 :]
    return text[:at] + new + text[at + 1 :]


EDITS: list[tuple[str, Callable[[str], str]]] = [
    ("reason", lambda line: line.replace('"reason":"first"', '"reason":"firsT"')),
    ("approver", lambda line: line.replace("bob@corp", "bob@corq")),
    ("stage", lambda line: line.replace('"to":"Production"', '"to":"Pzoduction"')),
    ("hash", lambda line: _edit_char(line, '"hash":"', '"hash":"')),
    ("quote", lambda line: _edit_char(line, "{", "[")),
    ("time", lambda line: _edit_char(line, "T", "t")),
]


@pytest.mark.parametrize(("field", "edit"), EDITS, ids=[e[0] for e in EDITS])
def test_editing_one_character_of_a_past_event(
    trail: minireg.Registry, field: str, edit: Callable[[str], str]
) -> None:
    lines = event_lines(trail.root)
    changed = edit(lines[2])  # line 3: version 1 to Production, approved by bob
    assert changed != lines[2] and len(changed) == len(lines[2])
    assert sum(a != b for a, b in zip(changed, lines[2])) == 1
    lines[2] = changed
    _write_lines(trail.root, lines)
    code, err = _verify(trail.root)
    assert code == 6
    assert err[0].startswith("error: The registry does not check out:")
    if field == "hash":
        assert err[1:] == [
            "  - events.jsonl line 3: content does not match its hash (the event was edited)",
            "  - events.jsonl line 4: prev does not match the hash of the line before "
            "(a line was deleted, inserted or moved)",
        ]
    elif field == "quote":
        assert err[1:] == [
            "  - events.jsonl line 3: not a valid event (malformed JSON or missing fields)",
            "  - events.jsonl line 4: prev does not match the hash of the line before "
            "(a line was deleted, inserted or moved)",
        ]
    else:
        assert err[1] == (
            "  - events.jsonl line 3: content does not match its hash (the event was edited)"
        )


def test_deleting_a_middle_line(trail: minireg.Registry) -> None:
    lines = event_lines(trail.root)
    del lines[3]
    _write_lines(trail.root, lines)
    code, err = _verify(trail.root)
    assert code == 6
    assert err[1] == (
        "  - events.jsonl line 4: prev does not match the hash of the line before "
        "(a line was deleted, inserted or moved)"
    )
    assert "  - events.jsonl line 4: seq is 5, expected 4" in err


def test_swapping_two_lines(trail: minireg.Registry) -> None:
    lines = event_lines(trail.root)
    lines[4], lines[5] = lines[5], lines[4]
    _write_lines(trail.root, lines)
    out = run_proc("verify", "--registry", str(trail.root))
    assert out.returncode == 6
    problems = out.stderr.splitlines()
    assert problems[1] == (
        "  - events.jsonl line 5: prev does not match the hash of the line before "
        "(a line was deleted, inserted or moved)"
    )
    assert "  - events.jsonl line 5: seq is 6, expected 5" in problems


def test_verify_json_lists_the_problems(trail: minireg.Registry) -> None:
    lines = event_lines(trail.root)
    del lines[1]
    _write_lines(trail.root, lines)
    res = run_cli("verify", "--json", "--registry", str(trail.root))
    assert res.exit_code == 6
    report = json.loads(res.stdout)
    assert report["ok"] is False and report["events"] == 6
    assert any(p.startswith("events.jsonl line 2: prev does not match") for p in report["problems"])


def test_hand_edited_ledger_stage_then_rebuild(trail: minireg.Registry) -> None:
    ledger = trail.root / "ledger.csv"
    good = ledger.read_bytes()
    rows = good.decode().splitlines()
    assert rows[1].startswith("churn,1,Archived,")
    rows[1] = rows[1].replace("churn,1,Archived,", "churn,1,Production,", 1)
    ledger.write_text("\n".join(rows) + "\n", encoding="utf-8")

    out = run_proc("verify", "--registry", str(trail.root))
    assert out.returncode == 6
    assert out.stderr.splitlines() == [
        "error: The registry does not check out: 2 problem(s).",
        "  - ledger.csv row 2 (churn v1), column stage: 'Production' but the events say 'Archived'",
        "  - run `minireg rebuild` to regenerate ledger.csv from the events",
    ]
    # Reads fold the events, so the hand edit never changes an answer.
    assert trail.resolve("models:/churn/Production").version == 2

    out = run_proc("rebuild", "--registry", str(trail.root))
    assert (out.returncode, out.stderr) == (0, "Rebuilt the ledger from the events: 2 versions.\n")
    assert ledger.read_bytes() == good
    out = run_proc("verify", "--registry", str(trail.root))
    assert out.returncode == 0, out.stderr
    assert out.stderr == "OK: 7 events, 2 versions, 4 objects check out.\n"


def test_lost_ledger_is_rebuilt(trail: minireg.Registry) -> None:
    ledger = trail.root / "ledger.csv"
    good = ledger.read_bytes()
    ledger.unlink()
    code, err = _verify(trail.root)
    assert code == 6 and "ledger.csv is missing; run `minireg rebuild`" in err[1]
    assert run_cli("rebuild", "--registry", str(trail.root)).exit_code == 0
    assert ledger.read_bytes() == good
    assert _verify(trail.root)[0] == 0


def test_tampered_object_is_named(trail: minireg.Registry) -> None:
    rec = trail.get("churn", 2)
    path = trail.storage.object_path(rec.artifact_sha256)
    path.chmod(0o644)
    path.write_bytes(b"swapped model\n")
    code, err = _verify(trail.root)
    assert code == 6
    assert any(line.startswith("  - churn v2:") for line in err)


def test_a_repeated_version_number_is_named(trail: minireg.Registry) -> None:
    """A correctly chained trail can still register version 2 twice (a union merge does)."""
    events = trail.events()
    again = Draft("register", "churn", 2, events[1].data)
    extra = chain([again], head=events[-1], time=events[-1].time, actor="x", tool="minireg")
    with (trail.root / "events.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(extra[0].to_line() + "\n")
    code, err = _verify(trail.root)
    assert code == 6
    assert err[1:] == ["  - events.jsonl line 8: version 2 of churn is registered twice"]
