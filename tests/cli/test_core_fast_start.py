"""Fast start: the CLI and its hot commands load no heavy library (real fresh interpreters)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import minireg

HEAVY = ("pandas", "openpyxl", "mlflow", "git")

WRAPPER = textwrap.dedent(
    """
    import atexit, json, sys

    out_file, args = sys.argv[1], sys.argv[2:]

    def report():
        with open(out_file, "w") as fh:
            json.dump(sorted(m for m in sys.modules if m.split(".")[0] in {heavy}), fh)

    atexit.register(report)
    sys.argv = ["minireg", *args]
    from minireg.cli import main

    main()
    """
).format(heavy=set(HEAVY))


def heavy_loaded(tmp_path: Path, cwd: Path, *args: str) -> tuple[set[str], int]:
    """The heavy top-level packages a fresh `minireg ARGS` loaded, and its exit code."""
    script = tmp_path / "wrapper.py"
    script.write_text(WRAPPER)
    out_file = tmp_path / "loaded.json"
    out = subprocess.run(
        [sys.executable, str(script), str(out_file), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=120,
        check=False,
    )
    loaded = {name.split(".")[0] for name in json.loads(out_file.read_text())}
    return loaded, out.returncode


def test_importing_the_cli_loads_nothing_heavy() -> None:
    code = (
        "import sys, minireg, minireg.cli; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


@pytest.fixture
def populated(reg: minireg.Registry, artifact: Path, repo: Path) -> minireg.Registry:
    reg.register("churn", artifact, metrics={"auc_roc": 0.9}, requirements=b"x==1\n", actor="me")
    return reg


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["register", "--help"],
        ["list"],
        ["list", "churn", "--json"],
        ["path", "churn", "1"],
        ["path", "models:/churn/latest"],
        ["show", "churn", "1"],
    ],
    ids=lambda a: " ".join(a),
)
def test_read_commands_load_neither_pandas_openpyxl_mlflow_nor_git(
    populated: minireg.Registry, repo: Path, tmp_path: Path, args: list[str]
) -> None:
    loaded, code = heavy_loaded(tmp_path, repo, *args)
    assert code == 0
    assert loaded == set()


def test_register_loads_no_pandas_openpyxl_or_mlflow(
    populated: minireg.Registry, repo: Path, tmp_path: Path, artifact: Path
) -> None:
    loaded, code = heavy_loaded(
        tmp_path, repo, "register", "churn", str(artifact), "--metric", "auc_roc=0.8"
    )
    assert code == 0
    assert loaded <= {"git"}, "register may use GitPython for git metadata, nothing else heavy"
    assert [r.version for r in populated.versions("churn")] == [1, 2]
