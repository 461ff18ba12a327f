"""`show --at`: what held each stage and alias at a moment, answered from the events."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

import minireg
from tests.conftest import run_cli, run_proc, tree_digest
from tests.support.stages import add_version

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


@pytest.fixture
def timeline(reg: minireg.Registry) -> minireg.Registry:
    """Three versions registered on day 0; promoted to Production on days 1, 2 and 3."""
    for auc in (0.8, 0.85, 0.9):
        add_version(reg, auc, now=T0)
    for day, version in ((1, 1), (2, 2), (3, 3)):
        reg.promote("churn", version, "Production", archive_existing=True, now=T0 + day * DAY)
        if day > 1:
            reg.set_alias("churn", "champion", version, now=T0 + day * DAY + timedelta(hours=1))
    return reg


def _held(snap: minireg.Snapshot) -> dict[str, list[int]]:
    return {stage: versions for stage, versions in snap.stages.items() if versions}


CASES = [
    (T0 - DAY, {}, {}, []),
    (T0, {"None": [1, 2, 3]}, {}, [1, 2, 3]),
    (T0 + DAY - timedelta(microseconds=1), {"None": [1, 2, 3]}, {}, [1, 2, 3]),
    (T0 + DAY, {"None": [2, 3], "Production": [1]}, {}, [1, 2, 3]),
    (T0 + 1.5 * DAY, {"None": [2, 3], "Production": [1]}, {}, [1, 2, 3]),
    (T0 + 2.5 * DAY, {"None": [3], "Production": [2], "Archived": [1]}, {"champion": 2}, None),
    (T0 + 3 * DAY, {"Production": [3], "Archived": [1, 2]}, {"champion": 2}, None),
    (T0 + 30 * DAY, {"Production": [3], "Archived": [1, 2]}, {"champion": 3}, None),
]


@pytest.mark.parametrize(("moment", "stages", "aliases", "versions"), CASES)
def test_snapshot_before_between_and_after(
    timeline: minireg.Registry,
    moment: datetime,
    stages: dict[str, list[int]],
    aliases: dict[str, int],
    versions: list[int] | None,
) -> None:
    snap = timeline.snapshot("churn", moment)
    assert _held(snap) == stages
    assert snap.aliases == aliases
    assert snap.versions == (versions if versions is not None else [1, 2, 3])
    # Every configured stage is listed, in configured order, even when nobody held it.
    assert list(snap.stages) == ["None", "Staging", "Production", "Archived"]


def test_show_at_through_the_cli(timeline: minireg.Registry) -> None:
    r = ["--registry", str(timeline.root)]
    before = tree_digest(timeline.root)
    res = run_cli("show", "churn", "--at", "2024-03-03T00:00:00Z", "--json", *r)
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["at"] == "2024-03-03T00:00:00.000000Z"
    assert data["stages"]["Production"] == [1] and data["stages"]["Archived"] == []

    # A date alone is midnight UTC; other offsets are converted.
    res = run_cli("show", "churn", "--at", "2024-03-04", "--json", *r)
    assert json.loads(res.stdout)["stages"]["Production"] == [2]
    res = run_cli("show", "churn", "--at", "2024-03-04T13:30:00+02:00", "--json", *r)
    data = json.loads(res.stdout)
    assert (data["stages"]["Production"], data["aliases"]) == ([2], {"champion": 2})

    out = run_proc("show", "churn", "--at", "2024-03-02 13:00", *r)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "churn at 2024-03-02T13:00:00.000000Z",
        "stage/alias  versions",
        "-----------  --------",
        "None         2, 3",
        "Staging      -",
        "Production   1",
        "Archived     -",
    ]
    out = run_proc("show", "churn", "--at", "2024-04-01", *r)
    assert out.stdout.splitlines()[-1].split() == ["@champion", "3"]
    assert tree_digest(timeline.root) == before


def test_show_at_bad_input(timeline: minireg.Registry) -> None:
    r = ["--registry", str(timeline.root)]
    res = run_cli("show", "churn", "--at", "last tuesday", *r)
    assert res.exit_code == 2 and "is not an ISO 8601 date or time" in res.stderr
    assert run_cli("show", "nosuch", "--at", "2024-03-01", *r).exit_code == 3
    assert run_cli("show", "churn", "1", "--at", "2024-03-01", *r).exit_code == 2


def test_trail_out_of_time_order(timeline: minireg.Registry) -> None:
    """A trail merged from two branches can hold an earlier time after a later one."""
    timeline.set_alias("churn", "challenger", 1, now=T0 + 1.5 * DAY)
    timeline.set_tag("churn", 1, "note", "late entry", now=T0 + 1.5 * DAY)
    snap = timeline.snapshot("churn", T0 + 2.5 * DAY)
    assert snap.aliases == {"challenger": 1, "champion": 2}
    assert _held(snap) == {"None": [3], "Production": [2], "Archived": [1]}
    assert timeline.snapshot("churn", T0 + DAY).aliases == {}
    latest = timeline.snapshot("churn", T0 + 99 * DAY)
    assert latest.aliases == {"challenger": 1, "champion": 3}
