"""`minireg diff MODEL V1 V2`: params, metrics with deltas, data, commit, requirements, artifact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import minireg
from minireg.domain.diff import compare_requirements, parse_requirements
from tests.conftest import git, run_cli
from tests.support.spreadsheet import add

OLD_REQS = b"numpy==1.26.0\npandas==2.1.0\nscipy==1.11.0\n# a comment\n"
NEW_REQS = b"-r base.txt\nNumPy==1.26.4\npandas==2.1.0\nrequests[socks]>=2.31  # http\n"


@pytest.fixture
def two(reg: minireg.Registry, repo: Path, artifact: Path) -> minireg.Registry:
    data = repo / "train.csv"
    data.write_text("a,b\n1,2\n")
    add(
        reg,
        "churn",
        artifact,
        0,
        metrics={"auc_roc": 0.88, "f1": 0.5},
        params={"C": 1, "penalty": "l2"},
        data=data,
        requirements=OLD_REQS,
    )
    (repo / "train.py").write_text("print('training v2')\n")
    git(repo, "commit", "-q", "-am", "better features")
    data.write_text("a,b\n1,2\n3,4\n")
    artifact.write_bytes(b"a better model\n")
    add(
        reg,
        "churn",
        artifact,
        1,
        metrics={"auc_roc": 0.91, "precision": 0.7},
        params={"C": 10, "penalty": "l2", "max_iter": 200},
        data=data,
        requirements=NEW_REQS,
    )
    return reg


def test_diff_json_has_deltas_and_every_change(two: minireg.Registry) -> None:
    res = run_cli("diff", "churn", "1", "2", "--json", "--registry", str(two.root))
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert (out["model"], out["from"], out["to"]) == ("churn", 1, 2)
    assert out["metrics"]["auc_roc"]["delta"] == pytest.approx(0.03)
    assert out["metrics"]["f1"] == {"from": 0.5, "to": None, "delta": None}
    assert out["metrics"]["precision"] == {"from": None, "to": 0.7, "delta": None}
    assert out["params"]["C"] == {"from": "1", "to": "10", "changed": True}
    assert out["params"]["penalty"]["changed"] is False
    assert out["params"]["max_iter"] == {"from": None, "to": "200", "changed": True}
    fields = out["fields"]
    for name in ("data_sha256", "git_commit", "artifact_sha256", "artifact_bytes"):
        assert fields[name]["changed"] is True, name
    assert fields["flavor"] == {"from": "pickle", "to": "pickle", "changed": False}
    v1, v2 = two.get("churn", 1), two.get("churn", 2)
    assert fields["git_commit"] == {"from": v1.git_commit, "to": v2.git_commit, "changed": True}
    assert out["requirements"] == {
        "added": [{"name": "requests", "spec": ">=2.31"}],
        "removed": [{"name": "scipy", "spec": "==1.11.0"}],
        "changed": [{"name": "numpy", "from": "==1.26.0", "to": "==1.26.4"}],
    }


def test_diff_table_shows_deltas_side_by_side(two: minireg.Registry) -> None:
    res = run_cli("diff", "churn", "1", "2", "--registry", str(two.root))
    assert res.exit_code == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "churn: version 1 -> version 2"
    assert ["auc_roc", "0.88", "0.91", "+0.03"] in [line.split() for line in lines]
    assert ["C", "1", "10", "*"] in [line.split() for line in lines]
    assert "requirements: 1 added, 1 removed, 1 changed" in lines
    assert "  + requests>=2.31" in lines
    assert "  - scipy==1.11.0" in lines
    assert "  ~ numpy ==1.26.0 -> ==1.26.4" in lines


def test_diff_unknown_version_exits_3(two: minireg.Registry) -> None:
    res = run_cli("diff", "churn", "1", "9", "--registry", str(two.root))
    assert res.exit_code == 3
    assert res.stderr == "error: Model churn has no version 9; its latest version is 2.\n"
    res = run_cli("diff", "churn", "1", "x", "--registry", str(two.root))
    assert res.exit_code == 2


def test_diff_without_a_requirements_object_says_so(two: minireg.Registry) -> None:
    digest = two.get("churn", 1).requirements_sha256
    two.storage.object_path(digest).unlink()
    res = run_cli("diff", "churn", "1", "2", "--json", "--registry", str(two.root))
    assert res.exit_code == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["requirements"] is None
    assert out["requirements_note"].startswith("the requirements of version 1 are not recorded")


def test_parse_and_compare_requirements() -> None:
    parsed = parse_requirements(
        "# pinned\nscikit_learn==1.3.0\nPyYAML\n--index-url https://x\nfoo[bar] ~= 1.0 # c\n\n"
    )
    assert parsed == {"scikit-learn": "==1.3.0", "pyyaml": "", "foo": "~= 1.0"}
    diff = compare_requirements({"a": "==1", "b": "==2"}, {"b": "==3", "c": ""})
    assert diff.to_dict() == {
        "added": [{"name": "c", "spec": ""}],
        "removed": [{"name": "a", "spec": "==1"}],
        "changed": [{"name": "b", "from": "==2", "to": "==3"}],
    }
    assert compare_requirements({"a": "==1"}, {"a": "==1"}).same
