"""Exports running at the same time, as separate processes against one real `mlflow server`.

Each process is the real command line (`minireg export mlflow`), started at the
same moment as the others; they share nothing but the server, as two CI jobs
on two machines would. Every one must exit 0, and MLflow must hold every
version exactly once: one run, one model version, one logged model each.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import minireg
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
