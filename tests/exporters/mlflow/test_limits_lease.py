"""The MLflow export's pure rules for long values, run tags and claims: no MLflow, no disk."""

from __future__ import annotations

import json

from minireg.exporters.mlflow import limits, plan, wanted
from minireg.exporters.mlflow.lease import CLAIMED_BY, HEARTBEAT, Watch
from minireg.exporters.mlflow.plan import FoundRun, FoundVersion
from tests.support.records import event, rec


def held(want: wanted.Wanted, run_id: str = "run1") -> FoundVersion:
    """The MLflow version an earlier export left for ``want``."""
    return FoundVersion(1, dict(want.tags), want.description, want.stage, run_id)


# -- long values -------------------------------------------------------------------


def test_fit_keeps_short_values_and_marks_long_ones_the_same_way_each_time() -> None:
    assert limits.fit("abc", 10) == "abc"
    assert limits.fit("x" * 6000, limits.PARAM_MAX) == "x" * 6000
    long = "x" * 7000
    fitted = limits.fit(long, limits.PARAM_MAX)
    assert len(fitted) == limits.PARAM_MAX
    assert fitted.startswith("x" * 5000)
    assert fitted.endswith(limits.marker(long))
    assert limits.marker(long).startswith("…[7000 characters, sha256 ")
    assert limits.marker(long).endswith("; whole in minireg/audit.json]")
    # The same value gives the same text (a re-export finds nothing to do); a change past the
    # cut changes the marker (a re-export sees it).
    assert limits.fit(long, limits.PARAM_MAX) == fitted
    assert limits.fit("x" * 6999 + "y", limits.PARAM_MAX) != fitted


def test_wanted_shortens_params_tags_and_description_and_lists_them() -> None:
    record = rec(
        params={"C": "1.0", "notes": "p" * 7000},
        tags={"team": "growth", "long": "t" * 6000},
        description="d" * 5500,
    )
    want = wanted.wanted(record, [])
    assert want.params["C"] == "1.0"
    assert len(want.params["notes"]) == limits.PARAM_MAX
    assert len(want.tags["long"]) == limits.VERSION_TAG_MAX
    assert want.tags["team"] == "growth"
    assert len(want.description) == limits.DESCRIPTION_MAX
    assert want.shortened == ("description", "param.notes", "tag.long")
    assert want.tags["minireg.truncated"] == "description,param.notes,tag.long"
    # The audit trail keeps every value whole.
    audit = json.loads(want.audit)["record"]
    assert audit["params"]["notes"] == "p" * 7000
    assert audit["tags"]["long"] == "t" * 6000
    assert audit["description"] == "d" * 5500
    # The run marks what it holds shortened (its params), and holds none of your tags.
    tags = wanted.run_tags(want)
    assert tags["minireg.truncated"] == "param.notes"
    assert "team" not in tags and "long" not in tags
    # Nothing long, nothing marked.
    plain = wanted.wanted(rec(tags={"team": "growth"}), [])
    assert plain.shortened == ()
    assert "minireg.truncated" not in plain.tags
    assert "minireg.truncated" not in wanted.run_tags(plain)


def test_a_shortened_version_stays_unchanged_until_its_whole_value_changes() -> None:
    want = wanted.wanted(rec(tags={"long": "t" * 6000}, description="d" * 5500), [])
    same = plan.diff_version(want, held(want))
    assert same.changes() == []
    # Only the tail moved, past the cut: the export still sees it.
    moved = wanted.wanted(rec(tags={"long": "t" * 5999 + "u"}, description="d" * 5500), [])
    assert plan.diff_version(moved, held(want)).changes() == ["tag long"]
    longer = wanted.wanted(rec(tags={"long": "t" * 6000}, description="d" * 5501), [])
    assert plan.diff_version(longer, held(want)).changes() == ["description"]


# -- run tags ---------------------------------------------------------------------------


def test_your_tags_that_an_earlier_export_copied_onto_the_run_are_removed() -> None:
    events = [
        event(1, "register", data={"tags": {"team": "growth"}}),
        event(2, "tag", data={"key": "reviewed", "value": "yes"}),
        event(3, "tag", data={"key": "team", "value": None}),
    ]
    want = wanted.wanted(rec(tags={"reviewed": "yes"}), events)
    assert want.tagged == frozenset({"team", "reviewed"})
    run = FoundRun(
        "run1",
        "FINISHED",
        {"team": "growth", "owner": "added in MLflow", "mlflow.user": "alice@corp"},
    )
    diff = plan.diff_version(want, held(want), run)
    # minireg set "team" on this version once; "owner" was never minireg's.
    assert diff.run_untag == ["team"]
    assert diff.changes() == ["untag run team"]
    assert not diff.finish_run
    # A run whose version exists, left running by an export that stopped just after creating it.
    left = FoundRun("run1", "RUNNING", {})
    assert plan.diff_version(want, held(want), left).changes() == ["finish run"]


# -- claims ---------------------------------------------------------------------------


def test_watch_tells_a_live_claim_from_an_abandoned_one() -> None:
    now = 1_800_000_000_000
    watch = Watch(lease=10)

    def run(status: str = "RUNNING", **tags: str) -> FoundRun:
        return FoundRun("r1", status, {CLAIMED_BY: "ci-1 pid 7", **tags})

    assert watch.state(run(**{HEARTBEAT: str(now - 2000)}), now, 0.0) == "live"
    assert watch.state(run(**{HEARTBEAT: str(now - 11_000)}), now, 0.0) == "abandoned"
    # Given up by its owner, never beaten, or no longer running.
    assert watch.state(run(**{HEARTBEAT: "0"}), now, 0.0) == "abandoned"
    assert watch.state(run(), now, 0.0) == "abandoned"
    assert watch.state(run("FAILED", **{HEARTBEAT: str(now)}), now, 0.0) == "abandoned"
    # Finished with its model logged: done; finished without: abandoned.
    assert watch.state(run("FINISHED", **{"minireg.logged_model": "m"}), now, 0.0) == "done"
    assert watch.state(run("FINISHED"), now, 0.0) == "abandoned"


def test_a_silent_heartbeat_ages_out_on_the_watchers_own_clock() -> None:
    # The owner's clock runs ahead: by wall clock its beat looks fresh for ever.
    watch = Watch(lease=10)
    now = 1_800_000_000_000
    future = {HEARTBEAT: str(now + 3_600_000)}
    claim = FoundRun("r1", "RUNNING", future)
    assert watch.state(claim, now, 100.0) == "live"
    assert watch.state(claim, now + 9000, 109.0) == "live"
    # Seen unchanged for more than a lease: abandoned.
    assert watch.state(claim, now + 11000, 111.0) == "abandoned"
    # A new beat makes it live again.
    beaten = FoundRun("r1", "RUNNING", {HEARTBEAT: str(now + 3_700_000)})
    assert watch.state(beaten, now + 12000, 112.0) == "live"
    assert watch.beat == 2.5
    assert Watch(lease=60).poll == 1.0
    assert Watch(lease=1).poll == 0.05
