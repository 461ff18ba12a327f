"""Build the example registry committed at ``registry/`` (``make example-registry``).

Two tiny scikit-learn models trained on synthetic data, saved with joblib and
registered through the Python API with metrics, params, a data hash, pinned
requirements and git metadata, then promoted, aliased and described. Times,
actors and the code's git commit are fixed, so a rerun with the same library
versions gives the same bytes.

    python examples/make_example_registry.py [--registry PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from datetime import datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import train_test_split

import minireg
from minireg.domain.config import DEFAULT_TOML

ROOT = Path(__file__).resolve().parent.parent
SCIENTIST = "data.scientist@example.com"
APPROVER = "alice@example.com"
CI = "ci@example.com"
START = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)

SETTINGS = (
    DEFAULT_TOML
    + """
# The example's rule for Production: a named approver other than the registrant, and a reason.
[policies.Production]
require_approver = true
require_reason = true
four_eyes = true
"""
)


def code_repo(path: Path) -> str:
    """A git repository holding the training code, with a fixed commit (so a fixed sha)."""
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Data Scientist",
        "GIT_AUTHOR_EMAIL": SCIENTIST,
        "GIT_AUTHOR_DATE": "2024-03-01T08:00:00+00:00",
        "GIT_COMMITTER_NAME": "Data Scientist",
        "GIT_COMMITTER_EMAIL": SCIENTIST,
        "GIT_COMMITTER_DATE": "2024-03-01T08:00:00+00:00",
    }

    def git(*args: str) -> str:
        out = subprocess.run(
            ["git", *args], cwd=path, env=env, check=True, capture_output=True, text=True
        )
        return out.stdout.strip()

    path.mkdir()
    git("init", "-q", "-b", "main")
    (path / "train.py").write_text("# LogisticRegression on synthetic churn and fraud data\n")
    (path / ".gitignore").write_text("out/\n")
    git("add", "train.py", ".gitignore")
    git("commit", "-q", "-m", "training code")
    return git("rev-parse", "HEAD")


def train(out: Path, name: str, c: float, seed: int, weights: list[float]) -> dict[str, Path]:
    """Fit a LogisticRegression on synthetic data; write model, data, metrics and params."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, len(weights)))
    y = (x @ np.array(weights) + rng.normal(scale=1.0, size=400) > 0).astype(int)
    data = out / f"{name}-train.csv"
    np.savetxt(data, np.column_stack([x, y]), delimiter=",", fmt="%.6f")
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=seed)
    model = LogisticRegression(C=c, max_iter=200).fit(x_tr, y_tr)
    proba = model.predict_proba(x_te)[:, 1]
    model_path = out / f"{name}.joblib"
    joblib.dump(model, model_path)
    metrics = {
        "auc_roc": round(float(roc_auc_score(y_te, proba)), 4),
        "accuracy": round(float(accuracy_score(y_te, model.predict(x_te))), 4),
        "n_train": len(y_tr),
    }
    params = {"C": c, "max_iter": 200, "seed": seed, "model": "LogisticRegression"}
    (out / "metrics.json").write_text(json.dumps(metrics))
    (out / "params.json").write_text(json.dumps(params))
    return {"model": model_path, "data": data}


def requirements() -> bytes:
    """The packages the models need to load, pinned to the versions that trained them."""
    names = ("joblib", "numpy", "scikit-learn", "scipy")
    return "".join(f"{n}=={version(n)}\n" for n in names).encode()


def build(root: Path) -> minireg.Registry:
    if root.exists():
        shutil.rmtree(root)
    reg = minireg.init_registry(root)
    (root / "minireg.toml").write_text(SETTINGS)
    reg = minireg.open_registry(root)
    clock = iter(START + timedelta(hours=n) for n in range(100))
    reqs = requirements()
    with tempfile.TemporaryDirectory(prefix="minireg-example-") as tmp:
        code = Path(tmp) / "code"
        code_repo(code)
        runs = [
            ("churn_predictor", 0.05, 1, [1.5, -2.0, 0.7, 0.0, 0.3], "baseline, strong L2"),
            ("churn_predictor", 1.0, 2, [1.5, -2.0, 0.7, 0.0, 0.3], "weaker regularisation"),
            ("churn_predictor", 10.0, 3, [1.5, -2.0, 0.7, 0.0, 0.3], "candidate, C=10"),
            ("fraud_detector", 0.5, 7, [2.5, 0.0, -1.0], "first fraud model"),
            ("fraud_detector", 2.0, 8, [2.5, 0.0, -1.0], "more features weight"),
        ]
        for name, c, seed, weights, text in runs:
            out = code / "out"
            files = train(out, name, c, seed, weights)
            metrics = json.loads((out / "metrics.json").read_text())
            params = json.loads((out / "params.json").read_text())
            trained = next(clock)
            rec = reg.register(
                name,
                files["model"],
                metrics=metrics,
                params=params,
                tags={"team": "growth" if name.startswith("churn") else "risk"},
                data=files["data"],
                training_date=trained.strftime("%Y-%m-%dT%H:%M:%SZ"),
                description=text,
                requirements=reqs,
                code_dir=code,
                actor=SCIENTIST,
                now=trained + timedelta(minutes=5),
            )
            print(f"registered {rec.model} version {rec.version} (AUC {metrics['auc_roc']})")
    steps = [
        ("churn_predictor", 1, "Staging", "", "passed offline evaluation", CI),
        ("churn_predictor", 1, "Production", APPROVER, "first churn model", CI),
        ("churn_predictor", 2, "Staging", "", "passed offline evaluation", CI),
        ("churn_predictor", 2, "Production", APPROVER, "better AUC on the holdout", CI),
        ("churn_predictor", 3, "Staging", "", "passed offline evaluation", CI),
        ("fraud_detector", 1, "Staging", "", "shadow traffic", CI),
    ]
    for model, number, stage, approver, reason, actor in steps:
        reg.promote(
            model,
            number,
            stage,
            approver=approver,
            reason=reason,
            archive_existing=stage == "Production",
            actor=actor,
            now=next(clock),
        )
        print(f"moved {model} version {number} to {stage}")
    reg.set_alias("churn_predictor", "champion", 2, actor=APPROVER, now=next(clock))
    reg.set_alias("churn_predictor", "challenger", 3, actor=SCIENTIST, now=next(clock))
    reg.set_tag("fraud_detector", 2, "status", "needs review", actor=SCIENTIST, now=next(clock))
    report = reg.verify()
    if not report.ok:
        raise SystemExit("the example registry does not verify: " + "; ".join(report.problems))
    return reg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registry", type=Path, default=ROOT / "registry", help="where to build")
    args = parser.parse_args()
    reg = build(args.registry)
    print(f"built {reg.root}: {len(reg.versions())} versions, {len(reg.events())} events")


if __name__ == "__main__":
    main()
