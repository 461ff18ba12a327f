"""`minireg export mlflow` against a real MLflow on SQLite: field by field, idempotent."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

import minireg
from minireg.exporters import export_mlflow, redact_uri
from tests.conftest import run_cli, tree_digest
from tests.support.mlflow import (
    NOLOAD,
    build_registry,
    check_matches,
    client,
    counts,
    empty_database,
    fresh_uri,
    mlflow_versions,
    predict_in_fresh_process,
)

pytestmark = [pytest.mark.filterwarnings(NOLOAD)]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> minireg.Registry:
    """The registry every test here exports (tests that change it work on a copy)."""
    return build_registry(tmp_path_factory.mktemp("export") / "repo")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return empty_database(tmp_path_factory)


@pytest.fixture
def uri(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty MLflow database in the test's folder, which is the working directory."""
    monkeypatch.chdir(tmp_path)
    return fresh_uri(template, tmp_path)


def copy_of(reg: minireg.Registry, dest: Path) -> minireg.Registry:
    shutil.copytree(reg.root.parent, dest)
    return minireg.open_registry(dest / "registry")


@pytest.mark.slow
def test_export_to_sqlite_matches_field_by_field_and_loads_in_a_fresh_process(
    source: minireg.Registry, uri: str, tmp_path: Path
) -> None:
    before = tree_digest(source.root)
    res = run_cli(
        "export", "mlflow", "--tracking-uri", uri, "--registry", str(source.root), "--json"
    )
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert (out["created"], out["updated"], out["unchanged"]) == (6, 0, 0)
    mapping = {(v["model"], v["version"]): v["mlflow_version"] for v in out["versions"]}
    assert mapping == {
        ("churn_predictor", 1): 1,
        ("churn_predictor", 2): 2,
        ("churn_predictor", 3): 3,
        ("churn_predictor", 4): 4,
        ("fraud_model", 1): 1,
        ("fraud_model", 2): 2,
    }
    logged = {(v["model"], v["version"]): v["logged_as"] for v in out["versions"]}
    assert logged[("fraud_model", 2)] == "artifact"
    assert logged[("fraud_model", 1)] == "sklearn"
    check_matches(source, uri, tmp_path / "audit")
    # Exporting reads the registry and never writes it.
    assert tree_digest(source.root) == before

    fresh = predict_in_fresh_process(uri, source, ["churn_predictor", "fraud_model"])
    assert fresh["models:/churn_predictor/Production"] is True
    assert fresh["models:/churn_predictor@production"] is True
    # A pipeline with a custom class loads too (skops, MLflow's default, would refuse it).
    assert fresh["models:/fraud_model/Production"] is True
    assert fresh["models:/fraud_model@production"] is True
    assert fresh["models:/fraud_model/Production type"] == "Pipeline"

    # Again: nothing is created, every version is reported unchanged.
    c = client(uri)
    runs_before, versions_before = counts(c)
    assert (runs_before, versions_before) == (6, 6)
    res = run_cli("export", "mlflow", "--tracking-uri", uri, "--registry", str(source.root))
    assert res.exit_code == 0, res.stderr
    assert counts(c) == (runs_before, versions_before)
    assert "0 were created, 0 updated, 6 unchanged" in res.stderr
    assert "churn_predictor  2 → 2" in res.stdout
    assert "@champion @production" in res.stdout


@pytest.mark.slow
def test_new_registrations_and_promotions_are_added_and_moved(
    source: minireg.Registry, uri: str, tmp_path: Path
) -> None:
    reg = copy_of(source, tmp_path / "repo")
    first = export_mlflow(reg, uri, models=["churn_predictor"])
    assert first.count("create") == 4
    assert client(uri).search_registered_models()[0].name == "churn_predictor"

    reg.register(
        "churn_predictor",
        reg.artifact_path(reg.get("churn_predictor", 4)),
        metrics={"auc_roc": 0.9},
        requirements=b"scikit-learn\n",
        code_dir=reg.root.parent,
    )
    reg.promote("churn_predictor", 5, "Production", approver="dana@corp", archive_existing=True)
    reg.delete_alias("churn_predictor", "challenger")
    reg.set_alias("churn_predictor", "champion", 5)
    reg.set_description("churn_predictor", 1, "the first one")
    reg.delete_tag("churn_predictor", 3, "team")

    c = client(uri)
    runs, versions = counts(c)
    plan = export_mlflow(reg, uri, models=["churn_predictor"], dry_run=True)
    assert counts(c) == (runs, versions)
    actions = {v.version: v.action for v in plan.versions}
    assert actions == {1: "update", 2: "update", 3: "update", 4: "unchanged", 5: "create"}
    changes = {v.version: v.changes for v in plan.versions}
    assert "stage Production → Archived" in changes[2]
    assert "description" in changes[1]
    assert "untag team" in changes[3]

    done = export_mlflow(reg, uri, models=["churn_predictor"])
    assert done.mapping() == {"churn_predictor": {1: 1, 2: 2, 3: 3, 4: 4, 5: 5}}
    assert counts(c) == (runs + 1, versions + 1)
    check_matches(reg, uri, tmp_path / "audit", ["churn_predictor"])
    aliases = {a: int(v) for a, v in c.get_registered_model("churn_predictor").aliases.items()}
    # @challenger was deleted in minireg, so the export removed it from MLflow too.
    assert aliases == {"champion": 5, "production": 5, "staging": 3}
    again = export_mlflow(reg, uri, models=["churn_predictor"])
    assert again.count("unchanged") == 5


@pytest.mark.slow
def test_duplicates_and_unfinished_runs_from_an_interrupted_export_are_cleaned(
    source: minireg.Registry, uri: str, tmp_path: Path
) -> None:
    export_mlflow(source, uri, models=["fraud_model"])
    c = client(uri)
    # A create retried by the REST client after its answer was lost: a twin version.
    first = mlflow_versions(c, "fraud_model")[0]
    c.create_model_version("fraud_model", first.source, run_id=first.run_id, tags=first.tags)
    # An export killed while logging churn_predictor v1: an unfinished run.
    exp = c.get_experiment_by_name("minireg-export").experiment_id
    rec = source.get("churn_predictor", 1)
    c.create_run(
        exp,
        tags={
            "minireg.model": rec.model,
            "minireg.version": "1",
            "minireg.artifact_sha256": rec.artifact_sha256,
        },
    )
    assert len(mlflow_versions(c, "fraud_model")) == 3

    export_mlflow(source, uri)
    check_matches(source, uri, tmp_path / "audit")
    assert counts(c) == (6, 6)


def test_dry_run_plans_without_creating_the_database(
    source: minireg.Registry, tmp_path: Path
) -> None:
    db = tmp_path / "never.db"
    res = run_cli(
        "export",
        "mlflow",
        "--tracking-uri",
        f"sqlite:///{db}",
        "--dry-run",
        "--model",
        "fraud_model",
        "--registry",
        str(source.root),
    )
    assert res.exit_code == 0, res.stderr
    assert not db.exists()
    assert "fraud_model  1 → ?" in res.stdout
    assert "fraud_model  2 → ?" in res.stdout
    assert "churn_predictor" not in res.stdout
    assert "2 would be created, 0 updated, 0 unchanged" in res.stderr


def test_unsupported_uri_unknown_model_and_missing_mlflow(
    source: minireg.Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree_digest(source.root)
    res = run_cli("export", "mlflow", "--tracking-uri", "./mlruns", "--registry", str(source.root))
    assert res.exit_code == 2
    assert res.stderr == (
        "error: Tracking URI './mlruns' is not supported; use an MLflow server "
        "(http://host:5000) or a database such as sqlite:///mlflow.db.\n"
    )
    uri = f"sqlite:///{tmp_path / 'x.db'}"
    res = run_cli(
        "export", "mlflow", "--tracking-uri", uri, "-m", "nope", "--registry", str(source.root)
    )
    assert res.exit_code == 3
    assert "Model 'nope' is not in the registry" in res.stderr
    monkeypatch.setitem(sys.modules, "mlflow", None)
    res = run_cli("export", "mlflow", "--tracking-uri", uri, "--registry", str(source.root))
    assert res.exit_code == 2
    assert res.stderr == (
        "error: Exporting to MLflow needs MLflow; install it with "
        "`pip install 'minireg[mlflow]'`.\n"
    )
    assert not (tmp_path / "x.db").exists()
    assert tree_digest(source.root) == before


def test_redact_uri_hides_user_and_password() -> None:
    assert redact_uri("https://alice:s3cret@mlflow.corp:5000/api") == (
        "https://***@mlflow.corp:5000/api"
    )
    assert redact_uri("http://token@host") == "http://***@host"
    assert redact_uri("sqlite:///tmp/mlflow.db") == "sqlite:///tmp/mlflow.db"
    assert redact_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


@pytest.mark.slow
def test_without_mlflow_stages_the_export_carries_on_with_aliases_and_tags(
    source: minireg.Registry, uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    # A future MLflow without stages: the deprecated call is gone.
    monkeypatch.delattr(MlflowClient, "transition_model_version_stage")
    result = export_mlflow(source, uri, models=["churn_predictor"])
    assert result.count("create") == 4
    c = client(uri)
    versions = {int(mv.tags["minireg.version"]): mv for mv in mlflow_versions(c, "churn_predictor")}
    assert {n: mv.current_stage for n, mv in versions.items()} == dict.fromkeys(range(1, 5), "None")
    assert {n: mv.tags["minireg.stage"] for n, mv in versions.items()} == {
        1: "Archived",
        2: "Production",
        3: "Staging",
        4: "None",
    }
    aliases = {a: int(v) for a, v in c.get_registered_model("churn_predictor").aliases.items()}
    assert aliases == {"champion": 2, "challenger": 3, "production": 2, "staging": 3}
