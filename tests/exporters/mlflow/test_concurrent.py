"""Exports running at the same time, as separate processes against one real `mlflow server`.

Each process is the real command line (`minireg export mlflow`), started at the
same moment as the others; they share nothing but the server, as two CI jobs
on two machines would. Every one must exit 0, and MLflow must hold every
version exactly once: one run, one model version, one logged model each.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

import minireg
from minireg.errors import NotFound
from minireg.exporters import export_mlflow
from minireg.exporters.mlflow.lease import HEARTBEAT
from tests.conftest import ROOT
from tests.support.mlflow import (
    NOLOAD,
    build_registry,
    check_matches,
    client,
    empty_database,
    export_together,
    inventory,
    running_server,
)

pytestmark = [pytest.mark.filterwarnings(NOLOAD), pytest.mark.slow]

# The versions of build_registry logged with mlflow.sklearn (fraud_model 2 is a text file).
SKLEARN = {("churn_predictor", n) for n in (1, 2, 3, 4)} | {("fraud_model", 1)}


def add_versions(reg: minireg.Registry) -> None:
    """Two new versions, a promotion that archives the old holder, a moved alias, a new tag."""
    model = reg.root.parent / "churn.joblib"
    shutil.copyfile(reg.artifact_path(reg.get("churn_predictor", 4)), model)
    for auc in (0.9, 0.91):
        reg.register(
            "churn_predictor",
            model,
            metrics={"auc_roc": auc},
            requirements=b"scikit-learn\n",
            code_dir=reg.root.parent,
        )
    reg.promote("churn_predictor", 6, "Production", approver="dana@corp", archive_existing=True)
    reg.set_alias("churn_predictor", "champion", 6)
    reg.set_tag("churn_predictor", 2, "reviewed", "yes")


def check_once_each(
    reg: minireg.Registry, uri: str, runs: list[Any], tmp: Path, sklearn: set[tuple[str, int]]
) -> list[dict[str, Any]]:
    """Every process exited 0 and MLflow holds each version once; the processes' outputs."""
    for proc in runs:
        assert proc.returncode == 0, proc.stderr
    outs = [json.loads(proc.stdout) for proc in runs]
    total = len(reg.versions())
    c = client(uri)
    held = inventory(c)
    exp = c.get_experiment_by_name("minireg-export").experiment_id
    assert held["runs"] == held["versions"] == total
    assert len(set(held["run_keys"])) == total
    # One logged model per scikit-learn version, finished, in the export's experiment.
    assert held["logged"] == [(exp, "READY")] * len(sklearn)
    # What the exports gave up (their own claims when they met) is deleted and not left running.
    assert held["deleted_running"] == []
    check_matches(reg, uri, tmp)
    # Each version was created by exactly one process; every process reports the same mapping.
    created = [
        (v["model"], v["version"])
        for out in outs
        for v in out["versions"]
        if v["action"] == "create"
    ]
    assert len(created) == len(set(created))
    mappings = [
        {(v["model"], v["version"]): v["mlflow_version"] for v in out["versions"]} for out in outs
    ]
    assert all(m == mappings[0] for m in mappings)
    return outs


@pytest.mark.parametrize(("fresh", "then"), [(2, 3), (3, 2)])
def test_exports_at_once_create_each_version_once(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, fresh: int, then: int
) -> None:
    reg = build_registry(tmp_path / "repo")
    template = empty_database(tmp_path_factory)
    with running_server(tmp_path / "server", template) as server:
        # A fresh server: the experiment, the models and every version are made at once.
        runs = export_together(fresh, server.uri, reg, tmp_path)
        outs = check_once_each(reg, server.uri, runs, tmp_path / "audit1", SKLEARN)
        created = sum(out["created"] for out in outs)
        assert created == 6

        # Existing models plus new versions, promotions, aliases and tags.
        add_versions(reg)
        runs = export_together(then, server.uri, reg, tmp_path)
        sklearn = SKLEARN | {("churn_predictor", 5), ("churn_predictor", 6)}
        outs = check_once_each(reg, server.uri, runs, tmp_path / "audit2", sklearn)
        assert sum(out["created"] for out in outs) == 2
        aliases = client(server.uri).get_registered_model("churn_predictor").aliases
        assert {a: int(v) for a, v in aliases.items()}["champion"] == outs[0]["versions"][5][
            "mlflow_version"
        ]

        # And once more, alone: nothing left to do.
        [alone] = export_together(1, server.uri, reg, tmp_path)
        assert alone.returncode == 0, alone.stderr
        out = json.loads(alone.stdout)
        assert (out["created"], out["updated"], out["unchanged"]) == (0, 0, 8)
    shutil.rmtree(tmp_path / "server", ignore_errors=True)


# An export killed (SIGKILL, no clean-up) while it holds its claim on version 2: it has
# created the version's run and is logging the audit trail when it dies.
KILLED = textwrap.dedent(
    """
    import os, signal, sys, warnings
    warnings.simplefilter("ignore")
    import minireg
    from minireg.exporters import export_mlflow
    from minireg.exporters.mlflow import client
    log_text = client.log_text
    def dying(s, run_id, text, path):
        if '"version": 2' in text:
            os.kill(os.getpid(), signal.SIGKILL)
        return log_text(s, run_id, text, path)
    client.log_text = dying
    export_mlflow(minireg.open_registry(sys.argv[2]), sys.argv[1], models=["churn_predictor"])
    """
)


def claims_of(c: Any, version: int) -> list[Any]:
    """Every run (deleted or not) tagged as churn_predictor ``version``."""
    from mlflow.entities import ViewType

    exp = c.get_experiment_by_name("minireg-export").experiment_id
    query = f"tags.`minireg.model` = 'churn_predictor' and tags.`minireg.version` = '{version}'"
    return c.search_runs([exp], query, run_view_type=ViewType.ALL)


def test_a_killed_export_is_taken_over_and_a_failed_one_gives_its_claim_up(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    reg = build_registry(tmp_path / "repo")
    with running_server(tmp_path / "server", empty_database(tmp_path_factory)) as server:
        c = client(server.uri)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(reg.root.parent)])}
        killed = subprocess.run(
            [sys.executable, "-c", KILLED, server.uri, str(reg.root)],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        [left] = claims_of(c, 2)
        assert left.info.status == "RUNNING"
        assert left.data.tags[HEARTBEAT] != "0"

        # Version 3's artifact is missing: the next export takes version 2 over once the dead
        # claim's lease (3 s) has passed, then fails on version 3 while holding its claim.
        stored = reg.artifact_path(reg.get("churn_predictor", 3))
        stored.rename(tmp_path / "away")
        with pytest.raises(NotFound):
            export_mlflow(reg, server.uri, models=["churn_predictor"], lease=3)
        gone = {run.info.run_id: run for run in claims_of(c, 2)}[left.info.run_id]
        assert (gone.info.lifecycle_stage, gone.info.status) == ("deleted", "KILLED")
        [given_up] = claims_of(c, 3)
        assert given_up.data.tags[HEARTBEAT] == "0"

        # Given up, it is taken over at once, long before a 120 s lease would pass.
        (tmp_path / "away").rename(stored)
        started = time.monotonic()
        done = export_mlflow(reg, server.uri, models=["churn_predictor"], lease=120)
        assert time.monotonic() - started < 100
        assert done.mapping() == {"churn_predictor": {1: 1, 2: 2, 3: 3, 4: 4}}
        # Version 2 was made by the failed export, which stopped before the aliases.
        assert [v.action for v in done.versions] == ["unchanged", "update", "create", "create"]
        assert done.versions[1].changes == ["alias @champion", "alias @production"]
        held = inventory(c)
        assert held["runs"] == held["versions"] == 4
        assert held["deleted_running"] == []
        assert len(held["logged"]) == 4
        check_matches(reg, server.uri, tmp_path / "audit", ["churn_predictor"])
