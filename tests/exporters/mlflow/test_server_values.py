"""What a real `mlflow server` receives: file names, logged models, long values, run tags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import minireg
from tests.conftest import git, run_cli
from tests.support.mlflow import NOLOAD, client, empty_database, rows, running_server

pytestmark = [pytest.mark.filterwarnings(NOLOAD), pytest.mark.slow]

ONNX = b"\x08\x07\x12\x04onnx-bytes-for-the-export"
NOTES = "p" * 7000
LONG_TAG = "t" * 6000
LONG_DESCRIPTION = "d" * 5500


def build(root: Path) -> minireg.Registry:
    """churn: two scikit-learn versions (one with long values); assets: a text and an ONNX file."""
    import joblib
    from sklearn.linear_model import LogisticRegression

    root.mkdir(parents=True)
    git(root, "init", "-q")
    git(root, "commit", "-q", "--allow-empty", "-m", "start")
    reg = minireg.init_registry(root / "registry")
    x = rows(3)
    y = (x[:, 0] > 0).astype(int)
    for c in (1.0, 2.0):
        joblib.dump(LogisticRegression(C=c).fit(x, y), root / "churn.joblib")
        first = c == 1.0
        reg.register(
            "churn",
            root / "churn.joblib",
            params={"C": str(c), **({"notes": NOTES} if first else {})},
            tags={"team": "growth", **({"long": LONG_TAG} if first else {})},
            description=LONG_DESCRIPTION if first else "short",
            requirements=b"scikit-learn\n",
            code_dir=root,
        )
    (root / "thresholds.txt").write_text("0.42\n")
    reg.register("assets", root / "thresholds.txt", code_dir=root)
    (root / "model.onnx").write_bytes(ONNX)
    reg.register("assets", root / "model.onnx", code_dir=root)
    return reg


def export(reg: minireg.Registry, uri: str, *extra: str) -> Any:
    res = run_cli("export", "mlflow", "--tracking-uri", uri, "--registry", str(reg.root), *extra)
    assert res.exit_code == 0, res.stderr
    return res


def by_version(out: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(v["model"], v["version"]): v for v in out["versions"]}


def test_files_logged_models_long_values_and_run_tags_through_a_server(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    monkeypatch.chdir(tmp_path)
    reg = build(tmp_path / "repo")
    with running_server(tmp_path / "server", empty_database(tmp_path_factory)) as server:
        c = client(server.uri)
        out = json.loads(export(reg, server.uri, "--json").stdout)
        rows_out = by_version(out)
        exp = c.get_experiment_by_name("minireg-export").experiment_id
        mv = {
            (m.name, int(m.tags["minireg.version"])): c.get_model_version(m.name, m.version)
            for m in c.search_model_versions("")
        }

        # Plain files keep their registered names (the store names them by sha256).
        for number, name, data in ((1, "thresholds.txt", b"0.42\n"), (2, "model.onnx", ONNX)):
            run_id = mv[("assets", number)].run_id
            assert [a.path for a in c.list_artifacts(run_id, "artifact")] == [f"artifact/{name}"]
            got = Path(c.download_artifacts(run_id, f"artifact/{name}", str(tmp_path)))
            assert got.name == name
            assert got.read_bytes() == data
            # As serving code would fetch it: by the model version's URI.
            with monkeypatch.context() as env:
                env.setenv("MLFLOW_TRACKING_URI", server.uri)
                folder = mlflow.artifacts.download_artifacts(
                    f"models:/assets/{mv[('assets', number)].version}",
                    dst_path=str(tmp_path / f"v{number}"),
                )
            assert [p.name for p in Path(folder).iterdir()] == [name]
            assert rows_out[("assets", number)]["logged_as"] == "artifact"

        # Logged scikit-learn models are in the export's experiment, not in Default.
        logged = c.search_logged_models([exp])
        assert sorted(m.tags["minireg.version"] for m in logged) == ["1", "2"]
        assert {str(m.status) for m in logged} == {"READY"}
        assert {m.experiment_id for m in logged} == {exp}
        sources = {mv[("churn", n)].source for n in (1, 2)}
        assert {f"models:/{m.model_id}" for m in logged} == sources
        assert c.search_logged_models(["0"]) == []
        assert {m.tags["mlflow.user"] for m in logged} == {reg.get("churn", 1).registered_by}

        # Long values: MLflow's limits hold, each cut is marked, the audit trail keeps them whole.
        long = mv[("churn", 1)]
        run = c.get_run(long.run_id)
        assert len(run.data.params["notes"]) == 6000
        assert run.data.params["notes"].startswith("p" * 5000)
        assert run.data.params["notes"].endswith("; whole in minireg/audit.json]")
        assert "…[7000 characters, sha256 " in run.data.params["notes"]
        assert len(long.tags["long"]) == 5000 and "…[6000 characters" in long.tags["long"]
        assert len(long.description) == 5000 and "…[5500 characters" in long.description
        assert long.tags["minireg.truncated"] == "description,param.notes,tag.long"
        assert run.data.tags["minireg.truncated"] == "param.notes"
        audit_path = c.download_artifacts(long.run_id, "minireg/audit.json", str(tmp_path))
        record = json.loads(Path(audit_path).read_text(encoding="utf-8"))["record"]
        assert record["params"]["notes"] == NOTES
        assert record["tags"]["long"] == LONG_TAG
        assert record["description"] == LONG_DESCRIPTION
        # Said per version in --json, and in the summary.
        assert rows_out[("churn", 1)]["shortened"] == ["description", "param.notes", "tag.long"]
        assert rows_out[("churn", 2)]["shortened"] == []
        assert out["shortened"] == 1
        # Your tags are on the model version only: `minireg tag` changes them later.
        assert long.tags["team"] == "growth"
        assert "team" not in run.data.tags and "long" not in run.data.tags

        # A re-export finds nothing to do, and still says what MLflow holds shortened.
        again = export(reg, server.uri)
        assert "0 were created, 0 updated, 4 unchanged." in again.stderr
        assert "shortened: description, param.notes, tag.long" in again.stdout
        assert "1 version hold values longer than MLflow keeps" in again.stderr

        # A change past the cut is seen; once exported, it is unchanged again (no endless updates).
        reg.set_tag("churn", 1, "long", "t" * 5999 + "u")
        reg.set_tag("churn", 1, "team", "platform")
        moved = by_version(json.loads(export(reg, server.uri, "--json").stdout))
        assert moved[("churn", 1)]["action"] == "update"
        assert "tag long" in moved[("churn", 1)]["changes"]
        assert "tag team" in moved[("churn", 1)]["changes"]
        now = c.get_model_version("churn", long.version)
        assert now.tags["long"] != long.tags["long"] and len(now.tags["long"]) == 5000
        assert now.tags["team"] == "platform"
        audit_path = c.download_artifacts(long.run_id, "minireg/audit.json", str(tmp_path / "2"))
        record = json.loads(Path(audit_path).read_text(encoding="utf-8"))["record"]
        assert record["tags"]["long"] == "t" * 5999 + "u"
        # The run never held your tags, so none went stale there.
        assert "team" not in c.get_run(long.run_id).data.tags

        # Runs made by an earlier minireg carried your tags: the export removes the ones it set.
        old = mv[("churn", 2)].run_id
        c.set_tag(old, "team", "growth")
        c.set_tag(old, "owner", "added in MLflow by hand")
        tidy = by_version(json.loads(export(reg, server.uri, "--json").stdout))
        assert tidy[("churn", 2)]["changes"] == ["untag run team"]
        assert tidy[("churn", 1)]["action"] == "unchanged"
        tags = c.get_run(old).data.tags
        assert "team" not in tags and tags["owner"] == "added in MLflow by hand"
        final = json.loads(export(reg, server.uri, "--json").stdout)
        assert (final["created"], final["updated"], final["unchanged"]) == (0, 0, 4)
