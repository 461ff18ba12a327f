"""The MLflow export's pure parts on hand-made records and events: no MLflow, no disk.

What MLflow should hold for each version (tags, stage, audit trail, aliases),
how that differs from what MLflow holds, and the rows of the result.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from minireg.domain.canonical import canonical_json, sha256_hex
from minireg.domain.records import Event, VersionRecord
from minireg.errors import InvalidInput, NotFound, Refused, RemoteError
from minireg.exporters.mlflow import limits, plan, result, tracking, wanted
from minireg.exporters.mlflow.plan import Found, FoundVersion
from minireg.exporters.mlflow.wanted import ModelWant
from tests.conftest import ROOT
from tests.support.records import SHA, event, rec

STAGES = {"stages": ("None", "Staging", "Production", "Archived"), "initial": "None"}


def model_want(*records: VersionRecord, events: list[Event] | None = None) -> ModelWant:
    [want] = wanted.wanted_models(
        {records[0].model: list(records)}, events or [], archive="Archived", **STAGES
    )
    return want


def held(want: wanted.Wanted, number: int, **fields: object) -> FoundVersion:
    """The MLflow version an earlier export left for ``want``, changed by ``fields``."""
    found = FoundVersion(
        number=number,
        tags=dict(want.tags),
        description=want.rec.description,
        stage=want.stage,
        run_id=f"run{number}",
    )
    return replace(found, **fields)  # type: ignore[arg-type]


# -- what MLflow should hold -----------------------------------------------------


def test_wanted_tags_carry_the_record_and_drop_empty_values() -> None:
    want = wanted.wanted(rec(git_dirty=False, tags={"team": "growth", "minireg.x": "no"}), [])
    tags = want.tags
    assert tags["minireg.model"] == "churn"
    assert tags["minireg.version"] == "1"
    assert tags["minireg.artifact_bytes"] == "120"
    assert tags["minireg.git_dirty"] == "false"
    assert tags["minireg.stage"] == "None"
    assert tags["team"] == "growth"
    # A user tag may not pose as one of minireg's own.
    assert "minireg.x" not in tags
    assert tags["minireg.tag_keys"] == "team"
    assert tags["minireg.events"] == "0"
    # Empty fields (no branch, no approval, unknown dirtiness) are not tags at all.
    assert "minireg.git_branch" not in tags
    assert "minireg.approved_by" not in tags
    assert "minireg.git_dirty" not in wanted.wanted(rec(), []).tags


def test_wanted_records_each_stage_entry_and_the_audit_trail() -> None:
    events = [
        event(1, "register", data={"artifact": "model.joblib"}),
        event(2, "transition", data={"from": "None", "to": "Staging"}, reason="candidate"),
        event(
            3,
            "transition",
            data={"from": "Staging", "to": "Production"},
            approver="bob@corp",
            reason="AUC 0.91",
        ),
    ]
    want = wanted.wanted(rec(stage="Production", approved_by="bob@corp"), events)
    assert want.stage == "Production"
    assert want.tags["minireg.stage.Production.approver"] == "bob@corp"
    assert want.tags["minireg.stage.Production.reason"] == "AUC 0.91"
    assert want.tags["minireg.stage.Production.time"] == "2026-03-03T12:00:00Z"
    assert want.tags["minireg.stage.Staging.actor"] == "ci"
    # An empty approver (the Staging move) is no tag.
    assert "minireg.stage.Staging.approver" not in want.tags
    assert want.tags["minireg.events"] == "3"
    trail = [e.to_dict() for e in events]
    assert want.tags["minireg.audit_sha256"] == sha256_hex(canonical_json(trail))
    audit = json.loads(want.audit)
    assert audit == {"format": "minireg-audit/1", "record": want.rec.to_dict(), "events": trail}


def test_a_stage_mlflow_lacks_exports_as_none_and_long_tags_are_cut() -> None:
    assert wanted.wanted(rec(stage="production"), []).stage == "Production"
    assert wanted.wanted(rec(stage="Canary"), []).stage == "None"
    long = wanted.wanted(rec(description="x", tags={"notes": "y" * 6000}), [])
    assert len(long.tags["notes"]) == limits.VERSION_TAG_MAX
    assert long.tags["notes"].endswith(f"; whole in {limits.AUDIT_FILE}]")
    assert long.shortened == ("tag.notes",)


def test_wanted_aliases_minireg_first_then_the_highest_holder_of_each_stage() -> None:
    records = [
        rec(1, stage="Archived"),
        rec(2, stage="Production", aliases=("champion",)),
        rec(3, stage="Staging", aliases=("staging",)),
        rec(4, stage="Staging"),
        rec(5, stage="None"),
    ]
    aliases = wanted.wanted_aliases(records, archive="Archived", **STAGES)
    # @staging is a minireg alias of version 3: it wins over the stage's highest holder (4).
    assert aliases == {"champion": 2, "staging": 3, "production": 2}
    # Without the minireg alias, @staging goes to the highest version in Staging, as MLflow.
    plain = [replace(r, aliases=()) for r in records]
    assert wanted.wanted_aliases(plain, archive="Archived", **STAGES) == {
        "production": 2,
        "staging": 4,
    }
    # The initial and archive stages get no alias; a stage name that is no valid alias neither.
    odd = wanted.wanted_aliases(
        [rec(1, stage="Pre Prod"), rec(2, stage="v2")],
        stages=("None", "Pre Prod", "v2"),
        initial="None",
        archive="Archived",
    )
    assert odd == {}


def test_select_models_keeps_the_order_asked_and_names_a_missing_model() -> None:
    records = [rec(2), rec(1), rec(1, model="fraud")]
    everything = wanted.select_models(records, None)
    assert list(everything) == ["churn", "fraud"]
    assert [r.version for r in everything["churn"]] == [1, 2]
    assert list(wanted.select_models(records, ["fraud", "churn", "fraud"])) == ["fraud", "churn"]
    with pytest.raises(NotFound) as err:
        wanted.select_models(records, ["churn", "nope"])
    assert err.value.message == (
        "Model 'nope' is not in the registry; `minireg list` shows the models."
    )


def test_wanted_models_give_each_version_only_its_own_events() -> None:
    events = [
        event(1, "register", version=1),
        event(2, "register", version=2),
        event(3, "describe", version=None),
        event(4, "transition", version=2, data={"to": "Staging"}),
    ]
    want = model_want(rec(1), rec(2, stage="Staging"), events=events)
    assert [w.tags["minireg.events"] for w in want.versions] == ["1", "2"]
    assert want.aliases == {"staging": 2}


def test_run_tags_hold_identity_and_provenance_only() -> None:
    want = wanted.wanted(rec(stage="Production", approved_by="bob@corp", git_branch=""), [])
    tags = wanted.run_tags(want)
    assert tags["mlflow.runName"] == "churn v1"
    assert tags["mlflow.user"] == "alice@corp"
    assert tags["mlflow.source.git.commit"] == "c0ffee"
    assert "mlflow.source.git.branch" not in tags
    assert tags["minireg.artifact_sha256"] == want.rec.artifact_sha256
    moving = [k for k in tags if k.startswith(("minireg.stage", "minireg.appr"))]
    assert moving == []
    assert "minireg.audit_sha256" not in tags and "minireg.tag_keys" not in tags


def test_finish_tags_requirements_and_times() -> None:
    assert wanted.finish_tags("runs:/r/artifact", None, "") == {
        "minireg.logged_model": "runs:/r/artifact"
    }
    assert wanted.finish_tags("models:/m-1", "m-1", "logged as files: x") == {
        "minireg.logged_model": "models:/m-1",
        "minireg.model_id": "m-1",
        "minireg.note": "logged as files: x",
    }
    text = "scikit-learn==1.5\n# pinned\n--index-url http://x\nnumpy  # math\n\n"
    assert wanted.requirement_lines(text) == ["scikit-learn==1.5", "numpy"]
    assert wanted.ms("2026-03-01T00:00:00Z") == 1772323200000
    assert wanted.ms("") is None
    assert wanted.ms("not a date") is None


# -- what MLflow holds, and the differences ----------------------------------------


def test_found_model_ignores_foreign_versions_and_lists_duplicates() -> None:
    versions = [
        FoundVersion(4, {"minireg.version": "1"}),
        FoundVersion(1, {"minireg.version": "1"}),
        FoundVersion(2, {}),
        FoundVersion(3, {"minireg.version": "two"}),
        FoundVersion(5, {"minireg.version": "2"}),
    ]
    found = plan.found_model({"champion": 1}, ["champion"], versions)
    assert found.exists
    assert {n: v.number for n, v in found.versions.items()} == {1: 1, 2: 5}
    assert found.duplicates == [4]


def test_an_export_of_the_same_registry_changes_nothing() -> None:
    want = model_want(rec(1, description="first"), rec(2, stage="Production"))
    found = Found(
        exists=True, versions={w.rec.version: held(w, w.rec.version) for w in want.versions}
    )
    steps = plan.plan_model(want, found)
    assert [(s.action, s.changes) for s in steps] == [("unchanged", []), ("unchanged", [])]


def test_plan_says_what_moved_since_the_last_export() -> None:
    before = model_want(rec(1, tags={"team": "growth"}), rec(2)).versions[0]
    stray = {**before.tags, "minireg.gone": "x"}
    found = Found(exists=True, versions={1: held(before, 7, stage="Production", tags=stray)})
    now = model_want(rec(1, description="retired", stage="Archived"), rec(2), rec(3))
    steps = plan.plan_model(now, found)
    assert [s.action for s in steps] == ["update", "create", "create"]
    assert steps[1].changes == ["new"]
    assert steps[1].found is None and steps[1].diff is None
    diff = steps[0].diff
    assert diff == plan.VersionDiff(
        number=7,
        set_tags={"minireg.stage": "Archived"},
        # The team tag left minireg, and so did the tag_keys tag (no user tags now).
        delete_tags=["minireg.gone", "minireg.tag_keys", "team"],
        description="retired",
        stage="Archived",
        stage_from="Production",
        # No new events: the audit file in MLflow is still right.
        audit_run="",
    )
    assert steps[0].changes == [
        "tag minireg.stage",
        "untag minireg.gone",
        "untag minireg.tag_keys",
        "untag team",
        "description",
        "stage Production → Archived",
    ]


def test_a_changed_trail_rewrites_the_audit_file_of_the_version_run() -> None:
    want = wanted.wanted(rec(), [event(1, "register")])
    stale = {**want.tags, "minireg.audit_sha256": "0" * 64, "minireg.events": "0"}
    diff = plan.diff_version(want, held(want, 1, tags=stale))
    assert diff.audit_run == "run1"
    assert list(diff.set_tags) == ["minireg.events", "minireg.audit_sha256"]
    # Without a run (a version made by hand) there is no audit file to rewrite.
    assert plan.diff_version(want, held(want, 1, tags=stale, run_id="")).audit_run == ""
    # MLflow's stage spelling differs only in case: no move.
    assert plan.diff_version(want, held(want, 1, stage="none")).stage is None


def test_a_version_of_another_registry_is_refused_before_anything_is_written() -> None:
    want = model_want(rec(1), rec(2))
    mine = Found(exists=True, versions={1: held(want.versions[0], 1)})
    plan.check_identity(want, mine)
    theirs = held(
        want.versions[1], 9, tags={"minireg.version": "2", "minireg.artifact_sha256": "b" * 64}
    )
    with pytest.raises(Refused) as err:
        plan.check_identity(want, Found(exists=True, versions={2: theirs}))
    assert err.value.message == (
        f"MLflow version 9 of churn claims minireg version 2 but holds another artifact "
        f"(bbbbbbbbbbbb…, here {SHA[:12]}…); export this registry to another tracking URI "
        "or model name."
    )
    # A version tagged with no digest at all is not a claim.
    untagged = held(want.versions[1], 9, tags={"minireg.version": "2"})
    plan.check_identity(want, Found(exists=True, versions={2: untagged}))


def test_alias_changes_move_set_and_delete_only_managed_aliases() -> None:
    found = Found(
        exists=True,
        aliases={"champion": 1, "production": 2, "legacy": 1, "handmade": 3},
        managed=["champion", "production", "legacy"],
    )
    wanted = {"champion": 2, "production": 2, "challenger": 4}
    to_set, to_delete = plan.alias_changes(wanted, found, {1: 1, 2: 2, 4: None})
    # champion moves, production is already right; challenger's version is not created yet
    # (a dry run), so it has no MLflow number.
    assert to_set == {"champion": 2, "challenger": -1}
    # legacy was set by an earlier export and is gone from minireg; handmade was never minireg's.
    assert to_delete == ["legacy"]


# -- the rows of the result --------------------------------------------------------


def test_rows_report_aliases_and_how_the_artifact_travels() -> None:
    want = model_want(
        rec(1, aliases=("champion",), stage="Production"),
        rec(2, artifact="features/", flavor="dir"),
        rec(3, artifact="model.onnx", flavor="onnx"),
    )
    rows = result.all_new([want])
    assert rows[0].to_dict() == {
        "model": "churn",
        "version": 1,
        "mlflow_version": None,
        "action": "create",
        "stage": "Production",
        "aliases": ["champion", "production"],
        "changes": ["new"],
        "logged_as": "sklearn",
        "note": "",
        "shortened": [],
    }
    assert [r.logged_as for r in rows] == ["sklearn", "artifact", "artifact"]


def test_alias_moves_turn_unchanged_versions_into_updates() -> None:
    want = model_want(rec(1, aliases=("champion",)), rec(2), rec(3, aliases=("challenger",)))
    found = Found(exists=True, aliases={"champion": 12, "old": 13}, managed=["champion", "old"])
    out = result.ExportResult("sqlite:///m.db", "minireg-export", False, [])
    out.versions = [
        result.entry(want.versions[0], want.aliases, "unchanged", 11, []),
        result.entry(want.versions[1], want.aliases, "unchanged", 12, []),
        result.entry(want.versions[2], want.aliases, "create", 13, ["new"]),
    ]
    result.note_aliases(out, want, found, {1: 11, 2: 12, 3: 13})
    assert [(v.action, v.changes) for v in out.versions] == [
        ("update", ["alias @champion"]),
        ("unchanged", []),
        # A created version reports "new" only; the removed alias is noted on the last version.
        ("create", ["new", "remove alias @old"]),
    ]
    assert out.to_dict() == {
        "tracking_uri": "sqlite:///m.db",
        "experiment": "minireg-export",
        "dry_run": False,
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "shortened": 0,
        "versions": [v.to_dict() for v in out.versions],
    }
    assert out.mapping() == {"churn": {1: 11, 2: 12, 3: 13}}

    # Only a removal: the last version, unchanged otherwise, becomes an update.
    plain = model_want(rec(1), rec(2))
    rows = result.ExportResult("sqlite:///m.db", "minireg-export", True, [])
    rows.versions = [result.entry(w, {}, "unchanged", n, []) for n, w in enumerate(plain.versions)]
    result.note_aliases(rows, plain, found, {1: 0, 2: 1})
    assert [(v.action, v.changes) for v in rows.versions] == [
        ("unchanged", []),
        ("update", ["remove alias @champion", "remove alias @old"]),
    ]


# -- the tracking URI ----------------------------------------------------------------


def test_tracking_uris_credentials_and_messages() -> None:
    assert tracking.check_uri("HTTPS://mlflow.corp") == "https"
    assert tracking.check_uri("postgresql+psycopg2://db/mlflow") == "postgresql"
    for bad in ("./mlruns", "file:///tmp/mlruns", "s3://bucket"):
        with pytest.raises(InvalidInput):
            tracking.check_uri(bad)
    uri = "https://al%40ice:p%3Ass@mlflow.corp:5000/x"
    assert tracking.split_credentials(uri) == ("https://mlflow.corp:5000/x", "al@ice", "p:ss")
    assert tracking.secrets(uri) == ["al@ice", "p:ss"]
    assert tracking.secrets("http://host") == []
    assert tracking.redact_uri(uri) == "https://***@mlflow.corp:5000/x"
    failure = RuntimeError("Bad creds al@ice p:ss at http://al%40ice:p%3Ass@host.\nTraceback")
    assert tracking.detail(failure, ["al@ice", "p:ss"]) == "Bad creds *** *** at http://***@host"
    assert len(tracking.detail(RuntimeError("x" * 500), [])) == 200
    assert tracking.detail(RuntimeError(""), []) == "RuntimeError"
    assert tracking.sqlite_missing("sqlite:///:memory:") is False
    assert tracking.sqlite_missing("http://host") is False


def test_an_unreachable_server_fails_fast_without_its_password(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now: the connection is refused at once.
    with pytest.raises(RemoteError) as err:
        tracking.check_reachable(f"http://bob:s3cret@127.0.0.1:{port}")
    assert err.value.message == (
        f"MLflow at http://***@127.0.0.1:{port} is unreachable "
        "(ConnectionRefusedError: [Errno 111] Connection refused); "
        "nothing was exported: check the tracking URI and re-run."
    )
    tracking.check_reachable(f"sqlite:///{tmp_path / 'never.db'}")
    assert not (tmp_path / "never.db").exists()


# -- purity ------------------------------------------------------------------------


def test_the_pure_modules_import_neither_mlflow_nor_the_disk() -> None:
    folder = ROOT / "minireg" / "exporters" / "mlflow"
    allowed = {"__future__", "json", "collections.abc", "dataclasses", "typing"}
    allowed |= {"minireg.domain.canonical", "minireg.domain.names", "minireg.domain.records"}
    allowed |= {"minireg.errors", "minireg.domain.values", "minireg.exporters.mlflow.plan"}
    allowed |= {"minireg.domain.flavors", "minireg.exporters.mlflow.wanted"}
    allowed |= {"minireg.exporters.mlflow.limits"}
    for name in ("plan.py", "result.py", "wanted.py", "limits.py", "lease.py"):
        tree = ast.parse((folder / name).read_text(encoding="utf-8"))
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert imported <= allowed, (name, sorted(imported - allowed))
    # Only the session and the client name mlflow at all; importing the package loads no mlflow.
    naming = sorted(
        p.name
        for p in folder.glob("*.py")
        if "import mlflow" in p.read_text() or "from mlflow" in p.read_text()
    )
    assert naming == ["client.py", "session.py"]
    code = (
        "import sys, minireg.exporters.mlflow as m; "
        "from minireg.exporters import export_mlflow; "
        "print(sorted(k for k in sys.modules if k.split('.')[0] == 'mlflow'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
