"""Shared by the MLflow export tests: a registry worth exporting, a real MLflow server, checks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import minireg
from tests.conftest import ROOT, git
from tests.support.servers import free_port, log_text, spawn, stop_group, wait_until_answering

# The custom transformer lives in its own module, importable by a fresh process:
# MLflow's default (skops) refuses such a class on load; cloudpickle loads it.
FEATURES = textwrap.dedent(
    """
    import numpy as np
    from sklearn.base import BaseEstimator, TransformerMixin


    class Squares(BaseEstimator, TransformerMixin):
        def fit(self, x, y=None):
            return self

        def transform(self, x):
            return np.hstack([x, np.asarray(x) ** 2])
    """
)

# Silences the SQLAlchemy 2.1 deprecation that MLflow's SQL store triggers on import.
NOLOAD = "ignore:The ``noload`` loader strategy is deprecated"


def rows(seed: int = 0) -> Any:
    import numpy as np

    return np.random.default_rng(seed).normal(size=(40, 4))


def build_registry(root: Path) -> minireg.Registry:
    """Two models, seven versions, stages, archived versions, aliases, descriptions, tags.

    ``root`` becomes a git repo holding ``features.py`` (import it with root on sys.path).
    """
    import joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    root.mkdir(parents=True)
    git(root, "init", "-q")
    (root / "features.py").write_text(FEATURES)
    git(root, "add", "features.py")
    git(root, "commit", "-q", "-m", "features")
    sys.path.insert(0, str(root))
    try:
        from features import Squares  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(root))
    reg = minireg.init_registry(root / "registry")
    x = rows(1)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    req = b"scikit-learn\nnumpy\n# a comment\njoblib>=1.3\n"
    for n, c in enumerate((0.05, 0.3, 1.0, 3.0), start=1):
        path = root / "churn.joblib"
        joblib.dump(LogisticRegression(C=c).fit(x, y), path)
        reg.register(
            "churn_predictor",
            path,
            metrics={"auc_roc": 0.8 + n / 100, "n_train": 40},
            params={"C": c, "solver": "lbfgs"},
            tags={"team": "growth"} if n == 3 else None,
            data=root / "features.py",
            training_date=f"2026-0{n}-01",
            description=f"logistic regression, C={c}",
            requirements=req,
            code_dir=root,
        )
    fraud = root / "fraud.joblib"
    joblib.dump(make_pipeline(Squares(), LogisticRegression()).fit(x, y), fraud)
    reg.register("fraud_model", fraud, metrics={"recall": 0.7}, requirements=req, code_dir=root)
    notes = root / "thresholds.txt"
    notes.write_text("0.42\n")
    reg.register("fraud_model", notes, description="decision threshold", code_dir=root)
    reg.promote("churn_predictor", 1, "Staging")
    reg.promote("churn_predictor", 1, "Production", approver="bob@corp", reason="first model")
    reg.promote("churn_predictor", 2, "Staging", approver="ci", reason="evaluation passed")
    reg.promote(
        "churn_predictor",
        2,
        "Production",
        approver="alice@corp",
        reason="AUC 0.82 vs 0.81",
        archive_existing=True,
    )
    reg.promote("churn_predictor", 3, "Staging", reason="candidate")
    reg.set_alias("churn_predictor", "champion", 2)
    reg.set_alias("churn_predictor", "challenger", 3)
    reg.set_description("churn_predictor", 2, "the model in production since March")
    reg.promote("fraud_model", 1, "Production", approver="carol@corp", reason="recall ok")
    reg.set_alias("fraud_model", "champion", 1)
    return reg


_TEMPLATES: list[Path] = []


def empty_database(factory: Any) -> Path:
    """An MLflow SQLite database with its tables created, made once per test run.

    Migrating a new MLflow database takes about 8 s here: tests copy this one instead.
    ``factory`` is pytest's ``tmp_path_factory``.
    """
    if not _TEMPLATES:
        path = Path(factory.mktemp("mlflow-template")) / "mlflow.db"
        client(f"sqlite:///{path}")
        _TEMPLATES.append(path)
    return _TEMPLATES[0]


def fresh_uri(template: Path, folder: Path) -> str:
    """A new, empty MLflow SQLite database in ``folder`` (a copy of ``template``)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, folder / "mlflow.db")
    return f"sqlite:///{folder / 'mlflow.db'}"


def client(uri: str) -> Any:
    from mlflow import MlflowClient

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"The ``noload`` loader strategy")
        c = MlflowClient(tracking_uri=uri, registry_uri=uri)
        c.search_experiments()
    return c


def mlflow_versions(c: Any, model: str) -> list[Any]:
    """Every MLflow version of ``model``, each fetched whole (search can omit tags)."""
    found = c.search_model_versions(f"name = '{model}'")
    return sorted(
        (c.get_model_version(model, str(mv.version)) for mv in found),
        key=lambda mv: int(mv.version),
    )


def counts(c: Any) -> tuple[int, int]:
    """(runs in every experiment, registered model versions)."""
    exps = [e.experiment_id for e in c.search_experiments()]
    runs = len(c.search_runs(exps, max_results=1000)) if exps else 0
    return runs, len(c.search_model_versions(""))


def check_matches(
    reg: minireg.Registry, uri: str, tmp: Path, models: list[str] | None = None
) -> None:
    """MLflow holds every version exactly once, field by field as the registry says."""
    c = client(uri)
    state = reg.state()
    for model in models or state.models():
        records = state.of_model(model)
        versions = mlflow_versions(c, model)
        tagged = [int(mv.tags["minireg.version"]) for mv in versions]
        assert sorted(tagged) == [r.version for r in records], (model, tagged)
        by_number = {int(mv.tags["minireg.version"]): mv for mv in versions}
        aliases = c.get_registered_model(model).aliases
        for rec in records:
            mv = by_number[rec.version]
            assert mv.tags["minireg.model"] == model
            assert mv.tags["minireg.artifact_sha256"] == rec.artifact_sha256
            assert mv.tags["minireg.created_at"] == rec.created_at
            assert mv.tags["minireg.registered_by"] == rec.registered_by
            assert mv.tags["minireg.stage"] == rec.stage
            assert (mv.description or "") == rec.description
            assert mv.current_stage == rec.stage, (model, rec.version, mv.current_stage)
            for key, value in rec.tags.items():
                assert mv.tags[key] == value
            events = reg.history(model, rec.version)
            for event in events:
                if event.action == "transition":
                    stage = event.data["to"]
                    assert mv.tags[f"minireg.stage.{stage}.time"] == event.time
                    if event.approver:
                        assert mv.tags[f"minireg.stage.{stage}.approver"] == event.approver
                    if event.reason:
                        assert mv.tags[f"minireg.stage.{stage}.reason"] == event.reason
            run = c.get_run(mv.run_id)
            assert run.info.status == "FINISHED"
            assert run.data.params == rec.params
            assert run.data.metrics == rec.metrics
            assert run.data.tags["mlflow.source.git.commit"] == rec.git_commit
            assert run.data.tags["minireg.training_date"] == rec.training_date
            assert run.data.tags.get("minireg.data_sha256", "") == rec.data_sha256
            where = tmp / f"{model}-{rec.version}"
            where.mkdir(parents=True, exist_ok=True)
            audit_path = c.download_artifacts(mv.run_id, "minireg/audit.json", str(where))
            audit = json.loads(Path(audit_path).read_text(encoding="utf-8"))
            assert audit["events"] == [e.to_dict() for e in events]
            # Exactly one run per version.
            same = c.search_runs(
                [run.info.experiment_id],
                f"tags.`minireg.model` = '{model}' and tags.`minireg.version` = '{rec.version}'",
            )
            assert len(same) == 1
            expected = set(rec.aliases)
            if rec.stage in ("Staging", "Production"):
                expected.add(rec.stage.lower())
            assert {a for a, v in aliases.items() if int(v) == int(mv.version)} == expected


PREDICT = textwrap.dedent(
    """
    import json, logging, sys, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    import mlflow.sklearn
    import minireg
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    uri, registry, models = sys.argv[1], sys.argv[2], sys.argv[3:]
    mlflow.set_tracking_uri(uri)
    x = np.random.default_rng(7).normal(size=(40, 4))
    out = {}
    for model in models:
        mine = minireg.load_model(f"models:/{model}/Production", registry)
        for ref in (f"models:/{model}/Production", f"models:/{model}@production"):
            loaded = mlflow.sklearn.load_model(ref)
            out[ref] = bool(np.array_equal(loaded.predict_proba(x), mine.predict_proba(x)))
            out[ref + " type"] = type(loaded).__name__
    print(json.dumps(out))
    """
)


def predict_in_fresh_process(uri: str, reg: minireg.Registry, models: list[str]) -> dict[str, Any]:
    """Load the Production model through MLflow in a new interpreter; compare with minireg."""
    env = {**os.environ, "PYTHONPATH": str(reg.root.parent)}
    env.pop("MLFLOW_TRACKING_URI", None)
    out = subprocess.run(
        [sys.executable, "-c", PREDICT, uri, str(reg.root), *models],
        capture_output=True,
        text=True,
        env=env,
        cwd=reg.root.parent,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@dataclass
class Server:
    """A real ``mlflow server`` on SQLite, in its own process group."""

    folder: Path
    port: int
    template: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        db = self.folder / "mlflow.db"
        if self.template is not None and not db.exists():
            shutil.copyfile(self.template, db)
        log = self.folder / "server.log"
        self.proc = spawn(
            [
                str(Path(sys.executable).parent / "mlflow"),
                "server",
                "--backend-store-uri",
                f"sqlite:///{self.folder / 'mlflow.db'}",
                "--artifacts-destination",
                str(self.folder / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            log,
            cwd=self.folder,
        )
        url = f"{self.uri}/health"
        wait_until_answering(
            self.proc, url, what="mlflow server", log=log, stop=self.stop, timeout=timeout, poll=0.2
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server's whole process group (uvicorn runs workers under it)."""
        if self.proc is None:
            return
        stop_group(self.proc, sig, wait=15, kill_late=True)
        self.proc = None

    def log(self) -> str:
        return log_text(self.folder / "server.log")


@contextmanager
def running_server(folder: Path, template: Path | None = None) -> Iterator[Server]:
    folder.mkdir(parents=True, exist_ok=True)
    server = Server(folder, free_port(), template)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# Each process loads MLflow first, says it is ready, then waits for the word to start the
# export: so they reach `minireg export mlflow` together, as two CI jobs can.
TOGETHER = textwrap.dedent(
    """
    import os, sys, time, warnings
    warnings.simplefilter("ignore")
    import mlflow, mlflow.sklearn
    from minireg.cli import main
    folder = sys.argv[1]
    open(os.path.join(folder, f"ready-{os.getpid()}"), "w").close()
    while not os.path.exists(os.path.join(folder, "go")):
        time.sleep(0.01)
    sys.exit(main(sys.argv[2:]))
    """
)


def export_together(
    n: int, uri: str, reg: minireg.Registry, cwd: Path, *args: str
) -> list[subprocess.CompletedProcess[str]]:
    """``n`` separate ``minireg export mlflow --json`` processes, started at the same moment."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(reg.root.parent)])}
    env.pop("MLFLOW_TRACKING_URI", None)
    signals = Path(tempfile.mkdtemp(prefix="together-", dir=cwd))
    command = ["export", "mlflow", "--tracking-uri", uri, "--registry", str(reg.root), "--json"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", TOGETHER, str(signals), *command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=cwd,
        )
        for _ in range(n)
    ]
    deadline = time.monotonic() + 120
    while len(list(signals.glob("ready-*"))) < n and time.monotonic() < deadline:
        if any(proc.poll() is not None for proc in procs):
            break
        time.sleep(0.02)
    (signals / "go").touch()
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def inventory(c: Any) -> dict[str, Any]:
    """Everything MLflow holds that an export makes, to check that nothing is doubled or left.

    runs: active runs; versions: registered model versions; logged: logged models (all
    experiments) by experiment id and status; deleted_running: deleted runs still RUNNING.
    """
    from mlflow.entities import ViewType

    exps = [e.experiment_id for e in c.search_experiments(view_type=ViewType.ALL)]
    runs = c.search_runs(exps, max_results=1000)
    deleted = c.search_runs(exps, run_view_type=ViewType.DELETED_ONLY, max_results=1000)
    logged = c.search_logged_models(exps, max_results=1000)
    return {
        "runs": len(runs),
        "versions": len(c.search_model_versions("")),
        "logged": sorted((m.experiment_id, str(m.status)) for m in logged),
        "deleted_running": [r.info.run_id for r in deleted if r.info.status == "RUNNING"],
        "run_keys": sorted(
            (r.data.tags["minireg.model"], r.data.tags["minireg.version"]) for r in runs
        ),
    }
