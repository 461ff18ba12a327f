"""Benchmark of `minireg export mlflow`: 200 versions of a small model into a SQLite MLflow.

Two figures from the same run:

- the export itself, with the time spent inside MLflow calls measured around
  each call the exporter makes (client setup, searches, runs, log_model,
  registrations, stages, aliases). minireg's own overhead is the rest: reading
  the registry, checking and loading each artifact, building tags and the audit trail.
- a bare baseline: the same MLflow calls with the same payloads (searches, the
  claim (look, create the run with its tags, look again), params and metrics, the
  audit text, the logged model and log_model, create_model_version with its
  tags, stage, the run finished, aliases) made directly by this script, with
  tags precomputed and models already in memory, into its own database.

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
    reg = minireg.init_registry(root / "registry")
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


def bare(uri: str, reg: minireg.Registry, models: list[Any]) -> float:
    """The MLflow calls a first export makes, made directly with the same payloads; seconds.

    Tags, audit texts and requirements are computed before the clock starts and
    the models are already in memory: what is timed is MLflow alone.
    """
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param, RunTag

    from minireg.exporters.mlflow import wanted as plan
    from minireg.exporters.mlflow.lease import CLAIMED_BY, HEARTBEAT

    records = reg.state().of_model(MODEL)
    history = {rec.version: reg.history(MODEL, rec.version) for rec in records}
    wanted = [plan.wanted(rec, history[rec.version]) for rec in records]
    config = reg.config
    aliases = plan.wanted_aliases(
        records, stages=config.stages, initial=config.initial_stage, archive=config.archive_stage
    )
    requirements = plan.requirement_lines(reg.requirements(records[0]) or "")
    run_tags = [plan.run_tags(want) for want in wanted]
    logged_tags = [plan.logged_model_tags(want) for want in wanted]

    start = time.perf_counter()
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.search_experiments(max_results=1)
    client.get_experiment_by_name("bare")
    try:
        client.get_registered_model(MODEL)
    except Exception:
        pass
    exp = client.create_experiment("bare")
    client.create_registered_model(MODEL, tags={"minireg.model": MODEL})
    numbers = {}
    for want, model, tags, logged in zip(wanted, models, run_tags, logged_tags):
        rec = want.rec
        lookup = (
            f"name = '{MODEL}' and tags.`minireg.version` = '{rec.version}' "
            f"and tags.`minireg.artifact_sha256` = '{rec.artifact_sha256}'"
        )
        runs = (
            f"tags.`minireg.model` = '{MODEL}' and tags.`minireg.version` = '{rec.version}' "
            f"and tags.`minireg.artifact_sha256` = '{rec.artifact_sha256}'"
        )
        # The claim: look the version up, claim, look at the version's runs.
        client.search_model_versions(lookup)
        claim = {**tags, HEARTBEAT: str(int(time.time() * 1000)), CLAIMED_BY: "bench"}
        run_id = client.create_run(exp, tags=claim).info.run_id
        client.search_runs([exp], runs, max_results=1000)
        client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), 0, 0) for k, v in rec.metrics.items()],
            params=[Param(k, v) for k, v in want.params.items()],
        )
        client.log_text(run_id, want.audit, "minireg/audit.json")
        model_id = client.create_logged_model(
            exp, name="model", source_run_id=run_id, tags=logged, params=want.params
        ).model_id
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            run_id=run_id,
            model_id=model_id,
            serialization_format="cloudpickle",
            pip_requirements=requirements,
        )
        client.log_batch(
            run_id,
            tags=[
                RunTag("minireg.logged_model", info.model_uri),
                RunTag("minireg.model_id", info.model_id),
            ],
        )
        mv = client.create_model_version(
            MODEL,
            info.model_uri,
            run_id=run_id,
            tags=want.tags,
            description=want.description,
            model_id=info.model_id,
        )
        numbers[rec.version] = mv.version
        client.search_model_versions(lookup)
        if want.stage != "None":
            client.transition_model_version_stage(MODEL, str(mv.version), want.stage)
        client.update_run(run_id, "FINISHED")
    for alias, version in aliases.items():
        client.set_registered_model_alias(MODEL, alias, str(numbers[version]))
    client.set_registered_model_tag(MODEL, "minireg.aliases", ",".join(sorted(aliases)))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    tmp = Path(tempfile.mkdtemp(prefix="minireg-bench-mlflow-"))
    (tmp / "bare").mkdir()
    os.chdir(tmp)
    try:
        t0 = time.perf_counter()
        reg, models = build(tmp / "repo", args.versions)
        print(f"built a registry of {args.versions} versions in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        # Imported once, outside both timings.
        import mlflow.sklearn

        # Silence MLflow's per-model caution in the bare baseline too (the export does).
        logging.getLogger("mlflow").setLevel(logging.ERROR)
        # Both databases are created (migrated) before either clock starts: the
        # first migration in a process pays for importing alembic's scripts.
        from mlflow import MlflowClient

        for db in ("export.db", "bare.db"):
            uri = f"sqlite:///{tmp / db}"
            MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments()
        # One untimed log_model warms MLflow's lazy imports for whichever goes first.
        warm = MlflowClient(tracking_uri=uri, registry_uri=uri)
        mlflow.set_tracking_uri(uri)
        warm_run = warm.create_run(warm.create_experiment("warm-up")).info.run_id
        mlflow.sklearn.log_model(
            models[0], name="model", run_id=warm_run, serialization_format="cloudpickle",
            pip_requirements=["scikit-learn"],
        )  # fmt: skip
        print(f"import mlflow, create both databases: {time.perf_counter() - t0:.1f} s (untimed)")

        first = export_mlflow(reg, f"sqlite:///{tmp / 'export.db'}")
        own = first.seconds - first.mlflow_seconds
        print(
            f"\nexport: {first.count('create')} versions created in {first.seconds:.1f} s "
            f"({first.seconds / args.versions * 1000:.0f} ms a version)"
        )
        print(f"  inside {first.mlflow_calls} MLflow calls: {first.mlflow_seconds:.1f} s")
        for name, secs in sorted(first.mlflow_by_call.items(), key=lambda kv: -kv[1])[:12]:
            print(f"    {name:34s} {secs:7.2f} s")
        print(f"  minireg's own work: {own:.2f} s = {own / first.mlflow_seconds:.1%} over MLflow")

        again = export_mlflow(reg, f"sqlite:///{tmp / 'export.db'}")
        print(
            f"\nsecond export (nothing to do): {again.seconds:.2f} s, "
            f"{again.count('create')} created, {again.count('unchanged')} unchanged, "
            f"{again.mlflow_calls} MLflow calls"
        )

        os.chdir(tmp / "bare")
        base = bare(f"sqlite:///{tmp / 'bare.db'}", reg, models)
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
