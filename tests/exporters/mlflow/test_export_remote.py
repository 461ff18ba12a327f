"""`minireg export mlflow` from a fresh clone whose artifacts live in a remote for objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import minireg
from tests.conftest import run_cli
from tests.support.clones import fresh_clone, publish, remote_registry
from tests.support.mlflow import NOLOAD, client, empty_database, fresh_uri, mlflow_versions, rows
from tests.support.remotes import make_remote

pytestmark = [pytest.mark.filterwarnings(NOLOAD), pytest.mark.slow]


def test_a_fresh_clone_exports_after_fetching_each_artifact(
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    import joblib
    from sklearn.linear_model import LogisticRegression

    remote = make_remote("file", tmp_path, monkeypatch, None)
    reg = remote_registry(repo, remote)
    x = rows(3)
    y = (x[:, 0] > 0).astype(int)
    model = tmp_path / "work" / "churn.joblib"
    model.parent.mkdir()
    joblib.dump(LogisticRegression().fit(x, y), model)
    first = reg.register("churn", model, requirements=b"scikit-learn\njoblib\n")
    notes = tmp_path / "work" / "threshold.txt"
    notes.write_text("0.42\n")
    second = reg.register("churn", notes, requirements=b"")
    reg.promote("churn", 1, "Production", archive_existing=True)
    publish(repo)

    clone = fresh_clone(repo, tmp_path)
    objects = clone / "objects" / "sha256"
    assert not objects.exists()
    monkeypatch.chdir(tmp_path)
    uri = fresh_uri(empty_database(tmp_path_factory), tmp_path / "mlflow")
    res = run_cli("export", "mlflow", "--tracking-uri", uri, "--registry", str(clone), "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["created"] == 2
    for rec in (first, second):
        digest = rec.artifact_sha256
        assert (objects / digest[:2] / digest[2:]).is_file()  # fetched (and checked) on demand
    versions = mlflow_versions(client(uri), "churn")
    assert sorted(int(v.version) for v in versions) == [1, 2]
    assert minireg.open_registry(clone).verify().ok
