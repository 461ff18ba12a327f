"""`register` inserting one ledger row gives exactly the ledger a full rebuild gives."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import minireg
from minireg.domain import ledger_update
from minireg.domain.ledger import render_csv
from minireg.domain.ledger_append import plan
from minireg.domain.state import fold
from tests.support.registry import checked_events


class Spy:
    """Counts ledgers rendered in full rather than by inserting a row (the real method runs)."""

    def __init__(self, reg: minireg.Registry, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = 0
        real = reg._writer.render

        def counting(*args: object, **kwargs: object) -> object:
            self.full += 1
            return real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(reg._writer, "render", counting)


def assert_ledger_is_the_view(reg: minireg.Registry) -> None:
    events = checked_events(reg.root)
    assert (reg.root / "ledger.csv").read_bytes() == render_csv(fold(events).records())
    assert reg.verify().ok


def test_random_registers_match_a_full_render(
    reg: minireg.Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(reg, monkeypatch)
    rng = random.Random(7)
    models = ["b", "a", "c", "a-x", "a.b", "A", "zz", "a0"]
    for n in range(40):
        model = rng.choice(models)
        metrics = {"auc_roc": rng.random()}
        if n % 9 == 4:
            metrics[f"new_{n}"] = 1.0  # a new column: the whole ledger is rendered again
        description = rng.choice(["", "plain", 'has, comma and "quotes"', "ünïcode"])
        reg.register(
            model,
            artifact,
            metrics=metrics,
            params={"n": n},
            description=description,
            requirements=b"x==1\n",
            actor="me",
        )
        if n == 20:
            reg.promote("a", 1, "Staging", actor="me")
        assert_ledger_is_the_view(reg)
    versions = {m: [r.version for r in reg.versions(m)] for m in reg.state().models()}
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values())
    # The first register (no stamp yet) and the new columns took the full path; the promotion
    # replaced its one row.
    assert spy.full == 1 + 4, spy.full


def test_a_hand_edited_ledger_is_repaired_by_the_next_register(
    reg: minireg.Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    ledger = reg.root / "ledger.csv"
    ledger.write_bytes(ledger.read_bytes().replace(b",None,", b",Production,", 1))
    assert not reg.verify().ok
    spy = Spy(reg, monkeypatch)
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    assert spy.full == 1, "an untrusted ledger is rendered from the events"
    assert_ledger_is_the_view(reg)


def test_a_cell_with_a_line_break_takes_the_full_path(
    reg: minireg.Registry, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    odd = repo / "odd\nname.pkl"
    odd.write_bytes(b"model bytes\n")
    reg.register("churn", odd, requirements=b"x==1\n", actor="me")
    spy = Spy(reg, monkeypatch)
    reg.register("churn", odd, requirements=b"x==1\n", actor="me")
    assert spy.full == 1
    assert_ledger_is_the_view(reg)


def test_plan_numbers_and_places() -> None:
    header = b"model,version,stage\n"
    ledger = header + b"a,1,None\na,2,None\nc,1,None\n"
    rows = [len(header), len(header) + 18, len(header) + 27]  # where the rows end
    found = plan(ledger, "a")
    assert found is not None and (found.offset, found.next_version) == (rows[1], 3)
    found = plan(ledger, "b", 3)
    assert found is not None and (found.offset, found.next_version) == (rows[1], 1)
    found = plan(ledger, "d")
    assert found is not None and (found.offset, found.next_version) == (rows[2], 1)
    found = plan(ledger, "0")
    assert found is not None and (found.offset, found.next_version) == (rows[0], 1)
    found = plan(header, "a")
    assert found is not None and (found.offset, found.next_version) == (len(header), 1)
    assert plan(ledger.replace(b"\n", b"\r\n"), "a") is None
    assert plan(header + b'a,1,"two\nlines"\n', "a") is None
    assert plan(header + b'a,1,"two\nlines"\n', "a", 1) is None
    assert plan(ledger[:-1], "a") is None


def stamp_says_lines(reg: minireg.Registry) -> bool:
    stamp = json.loads((reg.root / ".cache" / "ledger.stamp").read_text())
    return stamp["lines"] is True


def test_the_stamp_says_rows_are_lines_only_for_a_ledger_made_from_checked_rows(
    reg: minireg.Registry, repo: Path, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    assert not stamp_says_lines(reg), "a full render says nothing"
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    assert stamp_says_lines(reg), "rows inserted into a ledger of one-line rows"
    scans: list[bool] = []
    real = ledger_update.rows_are_lines

    def counting(ledger: bytes, rows: int | None, known: bool = False) -> bool:
        scans.append(known)
        return real(ledger, rows, known)

    monkeypatch.setattr(ledger_update, "rows_are_lines", counting)
    reg.promote("churn", 2, "Staging", actor="me")
    assert scans == [True], "the stamp spares the write a scan of the ledger"
    assert stamp_says_lines(reg)
    assert_ledger_is_the_view(reg)
    odd = repo / "odd\nname.pkl"
    odd.write_bytes(b"model bytes\n")
    reg.register("churn", odd, requirements=b"x==1\n", actor="me")
    assert not stamp_says_lines(reg), "a row spanning lines: rendered in full"
    reg.promote("churn", 1, "Staging", actor="me")
    assert not stamp_says_lines(reg)
    assert_ledger_is_the_view(reg)
