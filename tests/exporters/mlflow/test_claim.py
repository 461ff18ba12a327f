"""Claims on versions, step by step, against a real MLflow (SQLite): give way, take over, give up.

The processes racing for real are in test_concurrent.py; here each situation
is set up by hand, so that every branch of the protocol is seen to happen.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import minireg
from minireg.errors import NotFound
from minireg.exporters.mlflow import client as calls
from minireg.exporters.mlflow.claim import Claims
from minireg.exporters.mlflow.lease import CLAIMED_BY, HEARTBEAT, Watch
from minireg.exporters.mlflow.session import Session, session
from minireg.exporters.mlflow.wanted import Wanted, run_tags, wanted
from tests.support.mlflow import NOLOAD, build_registry, empty_database, fresh_uri

pytestmark = [pytest.mark.filterwarnings(NOLOAD)]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> minireg.Registry:
    return build_registry(tmp_path_factory.mktemp("claims") / "repo")


@pytest.fixture
def mlflow_session(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Session]:
    monkeypatch.chdir(tmp_path)
    with session(fresh_uri(empty_database(tmp_path_factory), tmp_path)) as s:
        yield s


def version(reg: minireg.Registry, number: int) -> Wanted:
    return wanted(reg.get("churn_predictor", number), reg.history("churn_predictor", number))


def other_claim(s: Session, exp: str, want: Wanted, **tags: str) -> str:
    """A run of the version as another export would have left it."""
    return calls.start_run(s, exp, None, {**run_tags(want), CLAIMED_BY: "ci-2 pid 9", **tags})


def run_of(s: Session, run_id: str) -> Any:
    return s.client.get_run(run_id).info


def runs_of(s: Session, exp: str, want: Wanted, deleted: bool = False) -> list[Any]:
    """The version's runs: active ones, or deleted ones."""
    from mlflow.entities import ViewType

    view = ViewType.DELETED_ONLY if deleted else ViewType.ACTIVE_ONLY
    query = f"tags.`minireg.version` = '{want.rec.version}'"
    return list(s.client.search_runs([exp], query, run_view_type=view))


def test_a_claim_gives_way_to_a_live_one_and_takes_over_abandoned_ones(
    source: minireg.Registry, mlflow_session: Session
) -> None:
    s = mlflow_session
    exp = calls.experiment_id(s, "minireg-export")
    pauses: list[float] = []
    claims = Claims(s, exp, Watch(lease=30), me="ci-1 pid 7", sleep=pauses.append)
    want = version(source, 1)
    live = other_claim(s, exp, want, **{HEARTBEAT: str(int(time.time() * 1000))})

    # Claimed at the same moment as a live claim: it gives way; its own run is deleted,
    # not left running, and it pauses a random moment before it looks again.
    assert claims.claim(want, look_first=False) is None
    assert [r.info.run_id for r in runs_of(s, exp, want)] == [live]
    [gave_way] = runs_of(s, exp, want, deleted=True)
    assert gave_way.info.status == "KILLED"
    assert gave_way.data.tags[CLAIMED_BY] == "ci-1 pid 7"
    assert len(pauses) == 1 and 0.5 <= pauses[0] <= 2.0
    # Looking first, it waits for the live claim without claiming at all.
    assert claims.claim(want) is None
    assert len(runs_of(s, exp, want, deleted=True)) == 1
    assert pauses[1] == claims.watch.poll

    # The other export failed and gave its claim up; a third left a finished run whose
    # version is gone. Both are abandoned: taken over, deleted with their logged models.
    calls.set_run_tag(s, live, HEARTBEAT, "0")
    calls.create_logged_model(s, exp, live, {"minireg.version": "1"}, {})
    orphan = other_claim(s, exp, want, **{"minireg.logged_model": "runs:/x/artifact"})
    calls.set_run_status(s, orphan, "FINISHED")
    mine = claims.claim(want)
    assert mine is not None
    assert [r.info.run_id for r in runs_of(s, exp, want)] == [mine]
    gone = {r.info.run_id: r.info.status for r in runs_of(s, exp, want, deleted=True)}
    assert gone[live] == "KILLED" and gone[orphan] == "KILLED"
    assert list(s.client.search_logged_models([exp])) == []
    held = s.client.get_run(mine)
    assert held.info.status == "RUNNING"
    assert held.data.tags[CLAIMED_BY] == "ci-1 pid 7"
    assert held.data.tags["minireg.version"] == "1"


def test_a_held_claim_beats_and_is_given_up_when_the_work_fails(
    source: minireg.Registry, mlflow_session: Session
) -> None:
    s = mlflow_session
    exp = calls.experiment_id(s, "minireg-export")
    ticks = iter(range(1_000_000, 2_000_000))
    # A short lease: the heartbeat thread beats every 20 ms, with a clock that always moves.
    claims = Claims(s, exp, Watch(lease=0.08), clock=lambda: float(next(ticks)))
    want = version(source, 2)
    mine = claims.claim(want)
    assert mine is not None
    first = s.client.get_run(mine).data.tags[HEARTBEAT]
    with claims.holding(mine):
        deadline = time.monotonic() + 10
        while s.client.get_run(mine).data.tags[HEARTBEAT] == first:
            assert time.monotonic() < deadline, "no heartbeat in 10 s"
            time.sleep(0.01)
    assert s.client.get_run(mine).data.tags[HEARTBEAT] != "0"

    # A failure of the export's own (not MLflow's) gives the claim up for the next export.
    with pytest.raises(NotFound), claims.holding(mine):
        raise NotFound("The artifact of churn_predictor version 2 is missing.")
    assert s.client.get_run(mine).data.tags[HEARTBEAT] == "0"
    claims.close()
    assert claims.watch.state(calls.version_runs(s, exp, want.rec)[0], 0, 0.0) == "abandoned"


def test_a_version_another_export_is_finishing_is_waited_for(
    source: minireg.Registry, mlflow_session: Session
) -> None:
    s = mlflow_session
    exp = calls.experiment_id(s, "minireg-export")
    pauses: list[float] = []
    claims = Claims(s, exp, Watch(lease=30), sleep=pauses.append)
    want = version(source, 3)
    theirs = other_claim(s, exp, want, **{HEARTBEAT: str(int(time.time() * 1000))})
    assert claims.still_working(want, theirs)
    assert pauses == [claims.watch.poll]
    calls.set_run_tags(s, theirs, {"minireg.logged_model": "runs:/x/artifact"})
    calls.set_run_status(s, theirs, "FINISHED")
    assert not claims.still_working(want, theirs)
    assert pauses == [claims.watch.poll]
