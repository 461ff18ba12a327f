"""minireg end to end: train, register, list, promote, load by stage.

Runs in a temporary git repository so it never touches yours. `make demo` runs it.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split


def sh(*args: str, cwd: Path) -> str:
    """Run a command as a person would type it, show it and its output."""
    print(f"\n$ {shlex.join(args)}", flush=True)
    cmd = [sys.executable, "-m", "minireg", *args[1:]] if args[0] == "minireg" else list(args)
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    sys.stdout.write(out.stdout)
    sys.stdout.write(out.stderr)
    if out.returncode != 0:
        raise SystemExit(f"demo step failed with exit code {out.returncode}")
    return out.stdout


def train(work: Path, c: float, seed: int) -> None:
    """Train a small classifier on synthetic data; write model, data, metrics and params."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(600, 5))
    y = (x @ np.array([1.5, -2.0, 0.7, 0.0, 0.3]) + rng.normal(scale=1.0, size=600) > 0).astype(int)
    np.savetxt(work / "data" / "train.csv", np.column_stack([x, y]), delimiter=",", fmt="%.6f")
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=seed)
    model = LogisticRegression(C=c, max_iter=200).fit(x_tr, y_tr)
    auc = float(roc_auc_score(y_te, model.predict_proba(x_te)[:, 1]))
    joblib.dump(model, work / "model.joblib")
    (work / "metrics.json").write_text(json.dumps({"auc_roc": round(auc, 4), "n_train": len(y_tr)}))
    (work / "params.json").write_text(json.dumps({"C": c, "max_iter": 200, "seed": seed}))


def main() -> None:
    report = Path.cwd() / "demo-report.html"  # outlives the temporary repository
    with tempfile.TemporaryDirectory(prefix="minireg-demo-") as tmp:
        work = Path(tmp)
        (work / "data").mkdir()
        os.environ["MINIREG_ACTOR"] = "data.scientist@example.com"
        sh("git", "init", "-q", cwd=work)
        sh("git", "config", "user.email", "data.scientist@example.com", cwd=work)
        sh("git", "config", "user.name", "Data Scientist", cwd=work)
        (work / "train.py").write_text("# the training code would live here\n")
        (work / ".gitignore").write_text("model.joblib\nmetrics.json\nparams.json\ndata/\n")
        sh("git", "add", ".", cwd=work)
        sh("git", "commit", "-q", "-m", "training code", cwd=work)

        sh("minireg", "init", cwd=work)
        aucs = []
        for c, seed in ((0.05, 1), (1.0, 2)):
            train(work, c, seed)
            aucs.append(json.loads((work / "metrics.json").read_text())["auc_roc"])
            sh(
                "minireg", "register", "churn_predictor", "model.joblib",
                "--metrics", "metrics.json", "--params", "params.json",
                "--data", "data/train.csv", "--description", f"logistic regression, C={c}",
                cwd=work,
            )  # fmt: skip
        sh("minireg", "list", "churn_predictor", cwd=work)
        sh("minireg", "path", "churn_predictor", "2", cwd=work)

        sh("minireg", "promote", "churn_predictor", "1", "--to", "Staging", cwd=work)
        sh("minireg", "promote", "churn_predictor", "1", "--to", "Production",
           "--approver", "alice@example.com", "--reason", "first model", cwd=work)  # fmt: skip
        sh(
            "minireg", "promote", "churn_predictor", "2", "--to", "Production",
            "--approver", "alice@example.com",
            "--reason", f"AUC {aucs[1]} vs {aucs[0]} on its own holdout",
            "--archive-existing", cwd=work,
        )  # fmt: skip
        sh("minireg", "alias", "set", "churn_predictor", "champion", "2", cwd=work)
        sh("minireg", "history", "churn_predictor", cwd=work)
        sh("minireg", "verify", cwd=work)
        # The story as one page to open in a browser (or publish from CI): needs minireg[report].
        sh("minireg", "report", str(report), cwd=work)
        sh("minireg", "path", "models:/churn_predictor/Production", cwd=work)

        # Serving code names a stage, never a version; the artifact is checked before it loads.
        print("\n>>> model = minireg.load_model('models:/churn_predictor/Production')")
        import minireg

        model = minireg.load_model("models:/churn_predictor/Production", registry=work / "registry")
        rows = np.array([[0.5, -1.0, 0.2, 0.0, 1.0], [-1.0, 1.0, 0.0, 0.3, -0.5]])
        proba = model.predict_proba(rows)[:, 1].round(3)
        print(f">>> model.predict_proba(rows)[:, 1]  ->  {proba}")
        served = minireg.resolve("models:/churn_predictor/Production", registry=work / "registry")
        print(f"    served {served.model} version {served.version} ({served.stage}), "
              f"sha256 {served.sha256[:12]}")  # fmt: skip

        # The day the team outgrows the spreadsheet: one command, and MLflow serves the same model.
        tracking = f"sqlite:///{work / 'mlflow.db'}"
        sh("minireg", "export", "mlflow", "--tracking-uri", tracking, cwd=work)
        print("\n>>> mlflow.sklearn.load_model('models:/churn_predictor/Production')")
        import logging

        import mlflow.sklearn

        logging.getLogger("mlflow").setLevel(logging.ERROR)
        mlflow.set_tracking_uri(tracking)
        from_mlflow = mlflow.sklearn.load_model("models:/churn_predictor/Production")
        same = bool((from_mlflow.predict_proba(rows) == model.predict_proba(rows)).all())
        print(f">>> predict_proba(rows)[:, 1]  ->  {from_mlflow.predict_proba(rows)[:, 1].round(3)}"
              f"  (identical to minireg's: {same})")  # fmt: skip
        if not same:
            raise SystemExit("MLflow's model predicts differently from minireg's")
        print("\nThe demo ran end to end.")
        print(f"The registry's report: {report}")


if __name__ == "__main__":
    main()
