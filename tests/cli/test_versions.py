"""Versions (init, register, list, show, path): bad input, missing things, one clear sentence.

Bad input to `register`: one sentence on stderr, the documented exit code,
nothing written. Each case runs the real `minireg` in a subprocess and hashes
every registry file before and after.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import minireg
from tests.conftest import run_cli, run_proc, tree_digest

NAME_RULE = (
    "use letters, digits, '_', '.' and '-', starting with a letter or digit "
    "(no '/', '..', spaces or control characters)."
)


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return path.name


CASES = {
    "missing artifact": (
        ["churn", "nope.pkl"],
        2,
        "error: The artifact nope.pkl does not exist.",
    ),
    "metric without =": (
        ["churn", "model.pkl", "--metric", "auc_roc"],
        2,
        "error: Metric 'auc_roc' is not of the form key=value.",
    ),
    "metric without name": (
        ["churn", "model.pkl", "--metric", "=0.9"],
        2,
        "error: Metric '=0.9' is not of the form key=value.",
    ),
    "non-numeric metric": (
        ["churn", "model.pkl", "--metric", "auc_roc=high"],
        2,
        "error: Metric 'auc_roc' is 'high'; metrics must be numbers.",
    ),
    "infinite metric": (
        ["churn", "model.pkl", "--metric", "auc_roc=inf"],
        2,
        "error: Metric 'auc_roc' is 'inf'; metrics must be finite numbers.",
    ),
    "missing metrics file": (
        ["churn", "model.pkl", "--metrics", "absent.json"],
        2,
        "error: The metrics file absent.json does not exist.",
    ),
    "metrics JSON not an object": (
        ["churn", "model.pkl", "--metrics", "list.json"],
        2,
        "error: The metrics file list.json must hold a JSON object of name: value.",
    ),
    "non-numeric metric in JSON": (
        ["churn", "model.pkl", "--metrics", "words.json"],
        2,
        "error: Metric 'auc_roc' is 'good'; metrics must be numbers.",
    ),
    "boolean metric in JSON": (
        ["churn", "model.pkl", "--metrics", "bool.json"],
        2,
        "error: Metric 'auc_roc' is True; metrics must be numbers.",
    ),
    "param without =": (
        ["churn", "model.pkl", "--param", "C"],
        2,
        "error: Param 'C' is not of the form key=value.",
    ),
    "missing data path": (
        ["churn", "model.pkl", "--data", "nodata.csv"],
        2,
        "error: The data path nodata.csv does not exist.",
    ),
    "bad training date": (
        ["churn", "model.pkl", "--training-date", "yesterday"],
        2,
        "error: The training date 'yesterday' is not an ISO 8601 date or time "
        "(for example 2024-03-01 or 2024-03-01T12:00:00Z).",
    ),
    "unknown flavor": (
        ["churn", "model.pkl", "--flavor", "tensorflow"],
        2,
        "error: Flavor 'tensorflow' is not known; use one of joblib, pickle, skops, onnx, "
        "file, dir.",
    ),
    "missing requirements file": (
        ["churn", "model.pkl", "--requirements", "req.txt"],
        2,
        "error: The requirements file req.txt is not readable.",
    ),
    "model name with /": (
        ["team/churn", "model.pkl"],
        2,
        f"error: Model name 'team/churn' is not valid; {NAME_RULE}",
    ),
    "model name with ..": (
        ["churn..v2", "model.pkl"],
        2,
        f"error: Model name 'churn..v2' is not valid; {NAME_RULE}",
    ),
    "model name ..": (
        ["..", "model.pkl"],
        2,
        f"error: Model name '..' is not valid; {NAME_RULE}",
    ),
    "model name with a space": (
        ["churn model", "model.pkl"],
        2,
        f"error: Model name 'churn model' is not valid; {NAME_RULE}",
    ),
    "model name with a control character": (
        ["churn\x01", "model.pkl"],
        2,
        f"error: Model name 'churn\\x01' is not valid; {NAME_RULE}",
    ),
    "model name with a tab": (
        ["churn\tv2", "model.pkl"],
        2,
        f"error: Model name 'churn\\tv2' is not valid; {NAME_RULE}",
    ),
    "description with a newline": (
        ["churn", "model.pkl", "--description", "two\nlines"],
        2,
        "error: The description contains a newline or NUL character; write it on one line.",
    ),
}


@pytest.fixture
def inputs(repo: Path, artifact: Path) -> Path:
    write(repo / "list.json", "[0.9]")
    write(repo / "words.json", '{"auc_roc": "good"}')
    write(repo / "bool.json", '{"auc_roc": true}')
    return repo


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_register_input(reg: minireg.Registry, inputs: Path, case: str) -> None:
    args, code, message = CASES[case]
    reg.register("churn", inputs / "model.pkl", requirements=b"x==1\n", actor="me")
    before = tree_digest(reg.root)
    out = run_proc("register", *args, "--registry", str(reg.root), cwd=inputs)
    assert (out.returncode, out.stderr) == (code, message + "\n")
    assert out.stdout == ""
    assert tree_digest(reg.root) == before


def test_unreadable_metrics_json(reg: minireg.Registry, repo: Path, artifact: Path) -> None:
    write(repo / "broken.json", '{"auc_roc": 0.9,')
    before = tree_digest(reg.root)
    out = run_proc(
        "register", "churn", "model.pkl", "--metrics", "broken.json", "-r", str(reg.root), cwd=repo
    )
    assert out.returncode == 2
    assert out.stderr == (
        "error: The metrics file broken.json is not readable JSON (Expecting property name "
        "enclosed in double quotes: line 1 column 17 (char 16)).\n"
    )
    assert tree_digest(reg.root) == before
    # Not UTF-8 at all is "not readable" too, not a crash.
    (repo / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    out = run_proc(
        "register", "churn", "model.pkl", "--metrics", "binary.json", "-r", str(reg.root), cwd=repo
    )
    assert out.returncode == 2
    assert out.stderr.startswith("error: The metrics file binary.json is not readable JSON (")
    assert out.stderr.count("\n") == 1
    assert tree_digest(reg.root) == before


def test_missing_registry(repo: Path, artifact: Path) -> None:
    missing = repo / "no-registry"
    out = run_proc("register", "churn", "model.pkl", "--registry", str(missing), cwd=repo)
    assert (out.returncode, out.stderr) == (
        3,
        f"error: No minireg registry at {missing}; create one with `minireg init`.\n",
    )
    assert not missing.exists()
    # Reads say the same.
    for args in (["list"], ["path", "churn", "1"], ["show", "churn", "1"]):
        out = run_proc(*args, "--registry", str(missing), cwd=repo)
        assert (out.returncode, out.stderr) == (
            3,
            f"error: No minireg registry at {missing}; create one with `minireg init`.\n",
        )
    assert not missing.exists()


def test_registry_found_from_the_environment(
    reg: minireg.Registry, repo: Path, artifact: Path, tmp_path: Path
) -> None:
    out = run_proc(
        "register", "churn", str(artifact), cwd=tmp_path, env={"MINIREG_REGISTRY": str(reg.root)}
    )
    assert (out.returncode, out.stdout) == (0, "1\n"), out.stderr


def test_not_found_reads(reg: minireg.Registry, artifact: Path) -> None:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    before = tree_digest(reg.root)
    cases = {
        ("path", "churn", "7"): "error: Model churn has no version 7; its latest version is 1.",
        ("path", "fraud", "1"): "error: Model 'fraud' is not in the registry; `minireg list` "
        "shows the models.",
        ("list", "fraud"): "error: Model 'fraud' is not in the registry; `minireg list` "
        "shows the models.",
        ("show", "churn", "0"): "error: Version '0' is not a positive whole number.",
        ("path", "models:/churn/Production"): "error: No version of churn is in Production.",
        ("path", "models:/churn@champion"): "error: Model churn has no alias @champion.",
        ("path", "models:/churn"): "error: 'models:/churn' is not a model URI; use one of: "
        "models:/NAME/VERSION, models:/NAME/STAGE, models:/NAME@ALIAS, models:/NAME/latest.",
        ("path", "churn"): "error: Name a version of churn (MODEL VERSION) or give a models:/ URI.",
    }
    for args, message in cases.items():
        res = run_cli(*args, "--registry", str(reg.root))
        code = 2 if "not a" in message or "Name a version" in message else 3
        assert (res.exit_code, res.stderr) == (code, message + "\n"), args
        assert res.stdout == ""
    assert tree_digest(reg.root) == before


def test_init_twice_changes_nothing(repo: Path) -> None:
    out = run_proc("init", cwd=repo)
    assert out.returncode == 0, out.stderr
    root = repo / "registry"
    assert out.stderr == f"Created a minireg registry at {root}.\n"
    assert sorted(p.name for p in root.iterdir()) == [
        ".gitattributes",
        ".gitignore",
        "events.jsonl",
        "ledger.csv",
        "minireg.toml",
        "objects",
    ]
    assert "ledger.csv text eol=lf" in (root / ".gitattributes").read_text()
    assert "events.jsonl text eol=lf" in (root / ".gitattributes").read_text()
    assert ".minireg.lock" in (root / ".gitignore").read_text()
    before = tree_digest(root)
    out = run_proc("init", cwd=repo)
    assert (out.returncode, out.stderr) == (
        0,
        f"A minireg registry already exists at {root}; nothing changed.\n",
    )
    assert tree_digest(root) == before


def test_missing_registry_through_the_fast_path(repo: Path) -> None:
    out = run_proc("path", "churn", "1", "-r", "nowhere", cwd=repo)
    assert (out.returncode, out.stdout, out.stderr) == (
        3,
        "",
        "error: No minireg registry at nowhere; create one with `minireg init`.\n",
    )
