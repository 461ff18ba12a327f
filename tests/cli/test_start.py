"""Fast start: the hot commands run without Typer, pydantic, click or any heavy library.

Each case is a fresh interpreter that calls ``minireg.cli.main(argv)`` on a
real registry and then reports which of the watched packages it imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import minireg
from tests.conftest import ROOT, run_proc

SLOW = ("typer", "pydantic", "click", "rich")
"""Typer's parser and what it brings: the hot path must not need them."""
HEAVY = ("pandas", "openpyxl", "git", "mlflow")
WATCHED = set(SLOW + HEAVY)

WRAPPER = textwrap.dedent(
    """
    import json, sys

    out_file, args = sys.argv[1], sys.argv[2:]
    from minireg.cli import main

    code = main(args)
    with open(out_file, "w") as fh:
        json.dump(sorted({{m.split(".")[0] for m in sys.modules}} & {watched!r}), fh)
    sys.exit(code)
    """
).format(watched=WATCHED)


def loaded_by(tmp_path: Path, cwd: Path, *args: str) -> tuple[set[str], int, str]:
    """The watched top-level packages a fresh `main(ARGS)` imported, its exit code and stderr."""
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
    return set(json.loads(out_file.read_text())), out.returncode, out.stderr


def test_importing_the_cli_loads_nothing_slow_or_heavy() -> None:
    code = (
        "import sys, minireg, minireg.cli, minireg.cli.table; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {WATCHED!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


@pytest.fixture
def populated(reg: minireg.Registry, artifact: Path, repo: Path) -> minireg.Registry:
    reg.register("churn", artifact, metrics={"auc_roc": 0.9}, requirements=b"x==1\n", actor="me")
    reg.register("churn", artifact, metrics={"auc_roc": 0.95}, requirements=b"x==2\n", actor="me")
    reg.set_alias("churn", "old", 1, actor="me")
    return reg


HOT_COMMANDS = [
    ["path", "churn", "1"],
    ["path", "models:/churn/latest"],
    ["show", "churn", "1"],
    ["show", "models:/churn@old", "--json"],
    ["show", "churn", "--at", "2999-01-01"],
    ["list"],
    ["list", "churn", "--json"],
    ["register", "churn", "model.pkl", "--metric", "auc_roc=0.8", "--requirements", "train.py"],
    ["register", "churn", "model.pkl", "--json", "--no-commit"],
    ["promote", "churn", "2", "--to", "Staging"],
    ["transition", "churn", "2", "--to", "Production", "--archive-existing", "--reason", "ok"],
    ["promote", "churn", "1", "--to", "Staging", "--dry-run", "--json"],
    ["alias", "set", "churn", "champion", "2"],
    ["alias", "delete", "churn", "old"],
    ["describe", "churn", "2", "Retrained on March data"],
    ["tag", "churn", "2", "team=growth"],
    ["history", "churn", "--version", "1"],
    ["history", "--json"],
    ["verify"],
    ["rebuild"],
    ["diff", "churn", "1", "2"],
]


@pytest.mark.parametrize("args", HOT_COMMANDS, ids=lambda a: " ".join(a))
def test_hot_commands_take_the_fast_path_and_load_nothing_slow_or_heavy(
    populated: minireg.Registry, repo: Path, tmp_path: Path, args: list[str]
) -> None:
    loaded, code, stderr = loaded_by(tmp_path, repo, *args, "--registry", str(populated.root))
    assert code == 0, stderr
    assert loaded == set()


def test_register_on_the_fast_path_records_the_version(
    populated: minireg.Registry, repo: Path, tmp_path: Path, artifact: Path
) -> None:
    args = ["register", "churn", str(artifact), "--metric", "auc_roc=0.8"]
    loaded, code, stderr = loaded_by(tmp_path, repo, *args, "-r", str(populated.root))
    assert (code, loaded) == (0, set()), stderr
    rec = populated.get("churn", 3)
    assert rec.metrics == {"auc_roc": 0.8}
    assert rec.git_commit and rec.git_dirty is not None, "git facts come from the git CLI"


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["path", "--help", "-r", "REGISTRY"],
        ["promote", "churn", "1", "-r", "REGISTRY"],  # --to missing: Typer's usage error
        ["list", "--json", "--json", "-r", "REGISTRY"],  # left to Typer, still answered
    ],
    ids=lambda a: " ".join(a),
)
def test_every_other_form_goes_to_typer(
    populated: minireg.Registry, repo: Path, tmp_path: Path, args: list[str]
) -> None:
    args = [str(populated.root) if a == "REGISTRY" else a for a in args]
    loaded, code, stderr = loaded_by(tmp_path, repo, *args)
    assert "typer" in loaded
    assert code == (2 if args[0] == "promote" else 0), stderr


def test_an_unknown_option_is_typers_usage_error(populated: minireg.Registry, repo: Path) -> None:
    out = run_proc("path", "churn", "1", "--bogus", "-r", str(populated.root), cwd=repo)
    assert out.returncode == 2
    assert out.stdout == ""
    assert "No such option: --bogus" in out.stderr
    assert out.stderr.startswith("Usage: minireg path [OPTIONS] {MODEL|URI} [VERSION]\n")


def test_the_script_and_python_m_run_main_and_exit_with_its_code(
    populated: minireg.Registry, repo: Path
) -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '[project.scripts]\nminireg = "minireg.cli:main"\n' in pyproject
    main_py = (ROOT / "minireg" / "__main__.py").read_text()
    assert "sys.exit(main())" in main_py
    # Exit codes travel out of `python -m minireg` on both paths.
    assert run_proc("path", "churn", "9", "-r", str(populated.root), cwd=repo).returncode == 3
    assert run_proc("path", "churn", "-r", str(populated.root), cwd=repo).returncode == 2
    assert run_proc("--traceback", "path", "churn", "9", "-r", str(populated.root)).returncode == 3
    ok = run_proc("path", "churn", "1", "-r", str(populated.root), cwd=repo)
    assert ok.returncode == 0
    assert Path(ok.stdout.strip()).is_file()
