"""Benchmark of `minireg export mlflow`: 200 versions of a small model into a SQLite MLflow.

Two figures from the same run:

- the export itself, with the time spent inside MLflow calls measured around
  each call the exporter makes (client setup, searches, runs, log_model,
  registrations, stages, aliases). minireg's own overhead is the rest: reading
  the registry, checking and loading each artifact, building tags and the audit trail.
- a bare baseline: the same MLflow calls made directly by this script (one run,
  log_batch, audit text, log_model, create_model_version, stage, aliases) for
  the same number of versions with the model already in memory, into its own database.

Then a second export of the unchanged registry (it should create nothing).

    python bench/bench_export_mlflow.py [--versions 200] [--keep]

Target (issue 5): minireg's overhead at most 20% over the MLflow calls. The
script prints figures, not a verdict that fails a build: a loaded machine is slower.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import minireg
from minireg.exporters import export_mlflow

MODEL = "churn_predictor"
TARGET = 0.20


def build(root: Path, n: int) -> tuple[minireg.Registry, list[Any]]:
    """A registry with ``n`` versions of a small classifier, a few promoted and aliased."""
    import joblib
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    root.mkdir(parents=True)
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "bench"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env)
    reg, _ = minireg.init_registry(root / "registry")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5))
    y = (x[:, 0] - x[:, 1] > 0).astype(int)
    models = []
    for i in range(n):
        model = LogisticRegression(C=0.01 * (i + 1)).fit(x, y)
        models.append(model)
        path = root / "model.joblib"
        joblib.dump(model, path)
        reg.register(
            MODEL,
            path,
            metrics={"auc_roc": 0.8 + i / (10 * n), "n_train": 200},
            params={"C": 0.01 * (i + 1), "max_iter": 100},
            requirements=b"scikit-learn\nnumpy\njoblib\n",
            description=f"version {i + 1}",
            code_dir=root,
            actor="bench@example.com",
        )
    reg.promote(MODEL, n - 1, "Production", approver="alice@example.com", reason="bench")
    reg.promote(MODEL, n, "Staging", reason="bench")
    reg.set_alias(MODEL, "champion", n - 1)
    return reg, models


def bare(uri: str, models: list[Any], n: int) -> float:
    """The MLflow calls of an export, made directly, for ``n`` versions; seconds."""
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    start = time.perf_counter()
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.create_experiment("bare")
    name = "bare_model"
    client.create_registered_model(name)
    for i, model in enumerate(models[:n], start=1):
        client.search_model_versions(f"name = '{name}' and tags.`minireg.version` = '{i}'")
        client.search_runs([exp], f"tags.`minireg.version` = '{i}'")
        run = client.create_run(exp, tags={"minireg.model": name, "minireg.version": str(i)})
        run_id = run.info.run_id
        client.log_batch(
            run_id,
            metrics=[Metric("auc_roc", 0.8, 0, 0), Metric("n_train", 200, 0, 0)],
            params=[Param("C", str(0.01 * i)), Param("max_iter", "100")],
        )
        client.log_text(run_id, "{}", "minireg/audit.json")
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            run_id=run_id,
            serialization_format="cloudpickle",
            pip_requirements=["scikit-learn", "numpy", "joblib"],
        )
        client.log_batch(run_id, tags=[RunTag("minireg.logged_model", info.model_uri)])
        client.update_run(run_id, "FINISHED")
        mv = client.create_model_version(
            name,
            info.model_uri,
            run_id=run_id,
            tags={"minireg.version": str(i)},
            description=f"version {i}",
            model_id=info.model_id,
        )
        client.search_model_versions(f"name = '{name}' and tags.`minireg.version` = '{i}'")
        if i >= n - 1:
            client.transition_model_version_stage(name, str(mv.version), "Production")
    for alias, version in (("champion", n - 1), ("production", n - 1), ("staging", n)):
        client.set_registered_model_alias(name, alias, str(version))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    tmp = Path(tempfile.mkdtemp(prefix="minireg-bench-mlflow-"))
    os.chdir(tmp)
    try:
        t0 = time.perf_counter()
        reg, models = build(tmp / "repo", args.versions)
        print(f"built a registry of {args.versions} versions in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        # Imported once, outside both timings.
        import mlflow.sklearn  # noqa: F401

        # Silence MLflow's per-model caution in the bare baseline too (the export does).
        logging.getLogger("mlflow").setLevel(logging.ERROR)
        print(f"import mlflow: {time.perf_counter() - t0:.1f} s (outside both timings)")

        first = export_mlflow(reg, f"sqlite:///{tmp / 'export.db'}")
        own = first.seconds - first.mlflow_seconds
        print(
            f"\nexport: {first.count('create')} versions created in {first.seconds:.1f} s "
            f"({first.seconds / args.versions * 1000:.0f} ms a version)"
        )
        print(f"  inside {first.mlflow_calls} MLflow calls: {first.mlflow_seconds:.1f} s")
        for name, secs in sorted(first.mlflow_by_call.items(), key=lambda kv: -kv[1])[:8]:
            print(f"    {name:34s} {secs:7.2f} s")
        print(f"  minireg's own work: {own:.2f} s = {own / first.mlflow_seconds:.1%} over MLflow")

        again = export_mlflow(reg, f"sqlite:///{tmp / 'export.db'}")
        print(
            f"\nsecond export (nothing to do): {again.seconds:.2f} s, "
            f"{again.count('create')} created, {again.count('unchanged')} unchanged, "
            f"{again.mlflow_calls} MLflow calls"
        )

        base = bare(f"sqlite:///{tmp / 'bare.db'}", models, args.versions)
        print(f"\nbare MLflow calls, same work, model in memory: {base:.1f} s")
        print(f"  export vs bare: {first.seconds / base - 1:+.1%}")
        verdict = "within" if own / first.mlflow_seconds <= TARGET else "over"
        print(f"\ntarget: minireg overhead <= {TARGET:.0%} over the MLflow calls: {verdict}")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
