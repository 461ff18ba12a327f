from __future__ import annotations

from pathlib import Path

import minireg
from tests.conftest import run_cli, tree_digest


def test_register_list_show_path(reg: minireg.Registry, artifact: Path) -> None:
    res = run_cli(
        "register", "churn", str(artifact), "--metric", "auc_roc=0.91", "--registry", str(reg.root)
    )
    assert res.exit_code == 0, res.stderr
    assert res.stdout.strip() == "1"
    res = run_cli("path", "churn", "1", "--registry", str(reg.root))
    assert Path(res.stdout.strip()).read_bytes() == artifact.read_bytes()


def test_bad_metric_leaves_registry_unchanged(reg: minireg.Registry, artifact: Path) -> None:
    before = tree_digest(reg.root)
    res = run_cli(
        "register", "churn", str(artifact), "--metric", "auc_roc=high", "--registry", str(reg.root)
    )
    assert res.exit_code == 2
    assert res.stderr == "error: Metric 'auc_roc' is 'high'; metrics must be numbers.\n"
    assert tree_digest(reg.root) == before
