"""The seed workflow end to end: register, Staging, Production with approval, archive, history."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import minireg
from minireg import __version__
from tests.conftest import run_cli, run_proc
from tests.support.stages import REGISTRANT, STRICT, add_version, configure, event_lines

T0 = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)


def _ok(res: object) -> str:
    code = getattr(res, "returncode", getattr(res, "exit_code", None))
    assert code == 0, getattr(res, "stderr", "")
    return str(res.stdout)


def test_seed_workflow_through_the_cli(reg: minireg.Registry, repo: Path) -> None:
    """Every step runs as a real `python -m minireg` process, as CI would run it."""
    configure(reg, STRICT)
    r = ["--registry", str(reg.root)]
    ds = {"MINIREG_ACTOR": REGISTRANT}
    ci = {"MINIREG_ACTOR": "ci@corp"}
    (repo / "m1.pkl").write_bytes(b"model one\n")
    (repo / "m2.pkl").write_bytes(b"model two\n")

    # The previous Production version: version 1.
    assert _ok(run_proc("register", "churn", "m1.pkl", "-m", "auc_roc=0.88", *r, env=ds)) == "1\n"
    _ok(run_proc("promote", "churn", "1", "--to", "Staging", *r, env=ci))
    _ok(
        run_proc(
            "promote",
            "churn",
            "1",
            "--to",
            "Production",
            "--approver",
            "bob@corp",
            "--reason",
            "first model",
            *r,
            env=ci,
        )
    )

    # Version N = 2 replaces it.
    assert _ok(run_proc("register", "churn", "m2.pkl", "-m", "auc_roc=0.91", *r, env=ds)) == "2\n"
    out = run_proc("promote", "churn", "2", "--to", "staging", *r, env=ci)
    assert out.returncode == 0, out.stderr
    assert out.stderr == "Moved churn version 2 from None to Staging.\n"
    out = run_proc(
        "transition",
        "churn",
        "2",
        "--to",
        "Production",
        "--approver",
        "alice@corp",
        "--reason",
        "AUC 0.91 vs 0.88",
        "--archive-existing",
        *r,
        env=ci,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == (
        "Moved churn version 2 from Staging to Production.\n"
        "Moved version 1 from Production to Archived.\n"
    )
    assert "four eyes" in out.stdout and "FAIL" not in out.stdout  # every check's verdict

    v1 = json.loads(_ok(run_proc("show", "churn", "1", "--json", *r)))
    v2 = json.loads(_ok(run_proc("show", "churn", "2", "--json", *r)))
    assert v1["stage"] == "Archived"
    assert (v2["stage"], v2["approved_by"]) == ("Production", "alice@corp")
    _ok(run_proc("describe", "churn", "1", "Retired: AUC 0.88 < 0.91", *r, env=ds))
    v1 = json.loads(_ok(run_proc("show", "churn", "1", "--json", *r)))
    assert v1["description"] == "Retired: AUC 0.88 < 0.91"
    assert "Retired: AUC 0.88 < 0.91" in _ok(run_proc("show", "churn", "1", *r))
    assert _ok(run_proc("path", "models:/churn/Production", *r)).strip() == v2["path"]

    events = json.loads(_ok(run_proc("history", "churn", "--json", *r)))
    steps = [
        (
            e["actor"],
            e["action"],
            e["version"],
            e["data"].get("from"),
            e["data"].get("to"),
            e["approver"],
            e["reason"],
        )
        for e in events
    ]
    archival = "archived by the promotion of version 2 to Production"
    assert steps == [
        (REGISTRANT, "register", 1, None, None, "", ""),
        ("ci@corp", "transition", 1, "None", "Staging", "", ""),
        ("ci@corp", "transition", 1, "Staging", "Production", "bob@corp", "first model"),
        (REGISTRANT, "register", 2, None, None, "", ""),
        ("ci@corp", "transition", 2, "None", "Staging", "", ""),
        ("ci@corp", "transition", 1, "Production", "Archived", "alice@corp", archival),
        ("ci@corp", "transition", 2, "Staging", "Production", "alice@corp", "AUC 0.91 vs 0.88"),
        (REGISTRANT, "describe", 1, None, None, "", ""),
    ]
    # The archival and the promotion are one locked operation: one time, adjacent seqs.
    assert events[5]["time"] == events[6]["time"]
    assert events[5]["data"]["archived_by"] == 2

    table = _ok(run_proc("history", "churn", *r)).splitlines()
    assert table[0].split() == [
        "time",
        "(UTC)",
        "actor",
        "action",
        "model",
        "version",
        "change",
        "approver",
        "reason",
    ]
    assert len(table) == 2 + len(events)
    promo = table[2 + 6]
    for text in ("ci@corp", "transition", "Staging → Production", "alice@corp", "AUC 0.91 vs 0.88"):
        assert text in promo
    assert "Production → Archived" in table[2 + 5] and archival in table[2 + 5]
    assert "Retired: AUC 0.88 < 0.91" in table[2 + 7] and REGISTRANT in table[2 + 7]

    only_v1 = json.loads(_ok(run_proc("history", "churn", "--version", "1", "--json", *r)))
    assert [e["seq"] for e in only_v1] == [1, 2, 3, 6, 8]
    assert run_proc("verify", *r).returncode == 0


def test_seed_workflow_through_the_python_api(reg: minireg.Registry) -> None:
    reg = configure(reg, STRICT)
    old = add_version(reg, 0.88, now=T0)
    reg.promote("churn", old, "Staging", actor="ci@corp", now=T0 + timedelta(hours=1))
    reg.promote(
        "churn",
        old,
        "Production",
        approver="bob@corp",
        reason="first model",
        actor="ci@corp",
        now=T0 + timedelta(hours=2),
    )
    new = add_version(reg, 0.91, now=T0 + timedelta(days=1))
    staged = reg.promote("churn", new, "STAGING", actor="ci@corp")
    assert (staged.from_stage, staged.to_stage, staged.changed) == ("None", "Staging", True)
    done = reg.promote(
        "churn",
        new,
        "production",
        approver="alice@corp",
        reason="AUC 0.91 vs 0.88",
        archive_existing=True,
        actor="ci@corp",
        now=T0 + timedelta(days=2),
    )
    assert done.allowed and done.changed and done.archived == [old]
    assert [(e.version, e.data["to"]) for e in done.events] == [
        (old, "Archived"),
        (new, "Production"),
    ]
    assert reg.get("churn", old).stage == "Archived"
    prod = reg.resolve("models:/churn/Production")
    assert (prod.version, prod.approved_by, prod.approved_at) == (
        new,
        "alice@corp",
        "2024-03-03T09:00:00.000000Z",
    )
    change = reg.set_description("churn", old, "Retired", actor=REGISTRANT)
    assert change.changed and reg.get("churn", old).description == "Retired"
    again = reg.set_description("churn", old, "Retired", actor=REGISTRANT)
    assert not again.changed and "nothing to do" in again.message

    history = reg.history("churn")
    assert [(e.action, e.version, e.approver, e.reason) for e in history] == [
        ("register", 1, "", ""),
        ("transition", 1, "", ""),
        ("transition", 1, "bob@corp", "first model"),
        ("register", 2, "", ""),
        ("transition", 2, "", ""),
        ("transition", 1, "alice@corp", "archived by the promotion of version 2 to Production"),
        ("transition", 2, "alice@corp", "AUC 0.91 vs 0.88"),
        ("describe", 1, "", ""),
    ]
    assert [e.seq for e in reg.history("churn", since="2024-03-02")] == [4, 5, 6, 7, 8]
    assert [e.seq for e in reg.history(version=2)] == [4, 5, 7]
    assert reg.verify().ok


def test_every_event_records_actor_utc_time_and_tool(reg: minireg.Registry) -> None:
    """Approver and reason are fields of their own, not folded into the data."""
    v = add_version(reg, 0.9)
    reg.promote("churn", v, "Staging", approver="alice@corp", reason="looks good", actor="ci@corp")
    reg.set_alias("churn", "champion", v, actor="ci@corp")
    reg.set_tag("churn", v, "team", "growth", actor="ci@corp")
    reg.set_description("churn", v, "first", actor="ci@corp")
    lines = [json.loads(line) for line in event_lines(reg.root)]
    assert [raw["action"] for raw in lines] == [
        "register",
        "transition",
        "alias_set",
        "tag",
        "describe",
    ]
    for raw in lines:
        assert raw["actor"] in (REGISTRANT, "ci@corp")
        assert raw["tool"] == f"minireg {__version__}"
        assert raw["time"].endswith("Z")
        moment = datetime.fromisoformat(raw["time"].replace("Z", "+00:00"))
        assert moment.utcoffset() == timedelta(0)
        assert abs(datetime.now(timezone.utc) - moment) < timedelta(minutes=5)
        assert {"seq", "model", "version", "data", "approver", "reason", "prev", "hash"} <= set(raw)
    promo = lines[1]
    assert (promo["approver"], promo["reason"]) == ("alice@corp", "looks good")
    assert promo["data"] == {"from": "None", "to": "Staging"}


def test_cli_actor_comes_from_the_environment(
    reg: minireg.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_version(reg, 0.9)
    monkeypatch.setenv("MINIREG_ACTOR", "release-bot@corp")
    res = run_cli("promote", "churn", "1", "--to", "Staging", "--registry", str(reg.root))
    assert res.exit_code == 0, res.stderr
    assert reg.history()[-1].actor == "release-bot@corp"


def test_tag_and_describe_are_events_shown_by_show(reg: minireg.Registry) -> None:
    add_version(reg, 0.9)
    r = ["--registry", str(reg.root)]
    res = run_cli("tag", "churn", "1", "team=growth", *r)
    assert (res.exit_code, res.stderr) == (0, "churn version 1 is tagged team=growth.\n")
    res = run_cli("describe", "churn", "1", "Trained on March data", *r)
    assert (res.exit_code, res.stderr) == (0, "churn version 1 is described.\n")
    shown = run_cli("show", "churn", "1", *r).stdout
    assert "tag.team" in shown and "growth" in shown and "Trained on March data" in shown
    assert [e.action for e in reg.history("churn")] == ["register", "tag", "describe"]
    res = run_cli("history", "nosuch", *r)
    assert res.exit_code == 3


def test_history_filters_through_the_cli(reg: minireg.Registry) -> None:
    add_version(reg, 0.8, now=T0)
    add_version(reg, 0.9, now=T0 + timedelta(days=2))
    reg.promote("churn", 1, "Staging", actor="ci@corp", now=T0 + timedelta(days=3))
    r = ["--registry", str(reg.root)]

    def seqs(*args: str) -> list[int]:
        res = run_cli("history", *args, "--json", *r)
        assert res.exit_code == 0, res.stderr
        return [e["seq"] for e in json.loads(res.stdout)]

    assert seqs() == [1, 2, 3]
    assert seqs("churn", "--since", "2024-03-02") == [2, 3]
    assert seqs("churn", "--since", "2024-03-03T09:00:00Z") == [2, 3]
    assert seqs("churn", "--since", "2024-03-03T09:00:01Z") == [3]
    assert seqs("churn", "--version", "1") == [1, 3]
    assert seqs("churn", "--version", "1", "--since", "2024-03-02") == [3]
    res = run_cli("history", "churn", "--since", "yesterday", *r)
    assert res.exit_code == 2 and "--since date 'yesterday' is not an ISO 8601" in res.stderr
    assert run_cli("history", "churn", "--version", "zero", *r).exit_code == 2


def test_archive_existing_archives_every_holder_each_as_its_own_event(
    reg: minireg.Registry,
) -> None:
    for auc in (0.8, 0.85, 0.9):
        add_version(reg, auc)
    reg.promote("churn", 1, "Staging")
    reg.promote("churn", 2, "Staging")  # Staging is not exclusive: two holders
    res = run_cli(
        "promote", "churn", "3", "--to", "Staging", "--archive-existing", "--json",
        "--registry", str(reg.root),
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    done = json.loads(res.stdout)
    assert done["archived"] == [1, 2]
    assert [(e["version"], e["data"]["from"], e["data"]["to"]) for e in done["events"]] == [
        (1, "Staging", "Archived"),
        (2, "Staging", "Archived"),
        (3, "None", "Staging"),
    ]
    assert len({e["time"] for e in done["events"]}) == 1
    assert [r.stage for r in reg.versions("churn")] == ["Archived", "Archived", "Staging"]
