"""A stage URI names what was promoted last: exclusive Production, and saying when it does not."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import minireg
from tests.conftest import run_cli, run_proc, tree_digest
from tests.support.stages import add_version, configure, stage_of

SHARED = """\
[stages]
exclusive = []
"""


def test_a_new_registry_keeps_production_exclusive(reg: minireg.Registry) -> None:
    assert reg.config.exclusive == frozenset({"Production"})


def test_a_rollback_to_production_really_serves_the_old_version(reg: minireg.Registry) -> None:
    add_version(reg, 0.80)
    add_version(reg, 0.90)
    root = str(reg.root)
    assert run_cli("promote", "churn", "1", "--to", "Production", "-r", root).exit_code == 0
    refused = run_cli("promote", "churn", "2", "--to", "Production", "-r", root)
    assert refused.exit_code == 4
    assert "Production is held by version 1; add --archive-existing to replace it" in (
        refused.stderr
    )
    args = ("--to", "Production", "--archive-existing", "-r", root)
    assert run_cli("promote", "churn", "2", *args).exit_code == 0
    assert minireg.resolve("models:/churn/Production", reg).version == 2
    # Roll back: version 1 (now Archived) goes back to Production.
    before = tree_digest(reg.root)
    refused = run_cli("promote", "churn", "1", "--to", "Production", "-r", root)
    assert refused.exit_code == 4, refused.stderr
    assert "Production is held by version 2" in refused.stderr
    assert tree_digest(reg.root) == before
    done = run_cli("promote", "churn", "1", *args)
    assert done.exit_code == 0, done.stderr
    assert done.stderr.splitlines()[-2:] == [
        "Moved churn version 1 from Archived to Production.",
        "Moved version 2 from Production to Archived.",
    ]
    assert minireg.resolve("models:/churn/Production", reg).version == 1
    assert stage_of(reg, 2) == "Archived"


def test_a_promotion_under_a_higher_holder_says_which_version_is_served(
    reg: minireg.Registry,
) -> None:
    reg = configure(reg, SHARED)
    add_version(reg, 0.80)
    add_version(reg, 0.90)
    root = str(reg.root)
    reg.promote("churn", 2, "Production", actor="ci")
    first = run_cli("promote", "churn", "1", "--to", "Production", "-r", root)
    assert first.exit_code == 0, first.stderr
    assert first.stderr.splitlines() == [
        "Moved churn version 1 from None to Production.",
        "models:/churn/Production resolves to version 2, the highest version in Production; "
        "to serve version 1, move version 2 out (minireg promote churn 2 --to Archived).",
    ]
    again = run_cli("promote", "churn", "1", "--to", "Production", "-r", root)
    assert again.exit_code == 0
    assert "resolves to version 2" in again.stderr
    as_json = run_cli("promote", "churn", "1", "--to", "Production", "--json", "-r", root)
    assert json.loads(as_json.stdout)["serving"] == 2
    assert minireg.resolve("models:/churn/Production", reg).version == 2
    # From Python, the Promotion says it too; with nobody above, it is the version itself.
    assert reg.promote("churn", 1, "Staging", actor="ci").serving == 1
    dry = reg.promote("churn", 1, "Production", dry_run=True, actor="ci")
    assert (dry.serving, dry.changed) == (2, True)
    assert reg.promote("churn", 1, "Production", archive_existing=True, actor="ci").serving == 1


def test_no_note_when_the_version_is_the_one_served(reg: minireg.Registry) -> None:
    reg = configure(reg, SHARED)
    add_version(reg, 0.80)
    add_version(reg, 0.90)
    root = str(reg.root)
    reg.promote("churn", 1, "Production", actor="ci")
    done = run_cli("promote", "churn", "2", "--to", "Production", "-r", root)
    assert done.stderr == "Moved churn version 2 from None to Production.\n"
    # Nobody serves from the archive: moving an older version there needs no note.
    reg.promote("churn", 2, "Archived", actor="ci")
    done = run_cli("promote", "churn", "1", "--to", "Archived", "-r", root)
    assert done.stderr == "Moved churn version 1 from Production to Archived.\n"


def test_the_approvers_list_ignores_case(reg: minireg.Registry) -> None:
    reg = configure(reg, '[policies.Production]\napprovers = ["Alice@Corp.example"]\n')
    add_version(reg, 0.9)
    done = reg.promote("churn", 1, "Production", approver="alice@corp.EXAMPLE", actor="ci")
    assert [(c.name, c.passed) for c in done.checks] == [("approver allowed", True)]
    add_version(reg, 0.9)
    with pytest.raises(minireg.Refused, match="is not on the approvers list"):
        reg.promote("churn", 2, "Production", approver="mallory@corp.example", actor="ci")


def test_verify_against_git_without_commits_exits_3(tmp_path: Path) -> None:
    repo = tmp_path / "fresh"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    reg = minireg.init_registry(repo / "registry")
    before = tree_digest(reg.root)
    out = run_proc("verify", "--against-git", "--registry", str(reg.root), cwd=repo)
    assert (out.returncode, out.stdout) == (3, ""), out.stderr
    assert out.stderr.startswith("error: No commit with a Minireg-Audit-Head trailer touches")
    assert tree_digest(reg.root) == before
