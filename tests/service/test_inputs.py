"""Names, aliases, stages, actors, approvers and keys are whole, one-line, control-free."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import minireg
from minireg.domain.config import DEFAULT_TOML
from tests.conftest import run_cli, run_proc, tree_digest


def _bad(before: dict[str, str], reg: minireg.Registry, *args: str) -> str:
    """Run the CLI, expect exit 2 with one error line and an unchanged registry; give stderr."""
    res = run_cli(*args, "--registry", str(reg.root))
    assert (res.exit_code, res.stdout) == (2, ""), res.stderr
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
    assert tree_digest(reg.root) == before
    return res.stderr


@pytest.fixture
def one(reg: minireg.Registry, artifact: Path) -> minireg.Registry:
    reg.register("churn", artifact, requirements=b"x==1\n", actor="me")
    return reg


def test_a_model_name_with_a_trailing_newline_is_refused(
    one: minireg.Registry, artifact: Path
) -> None:
    err = _bad(tree_digest(one.root), one, "register", "cli\n", str(artifact))
    assert err.startswith("error: Model name 'cli\\n' is not valid;")
    with pytest.raises(minireg.InvalidInput):
        one.register("cli\n", artifact, requirements=b"")


@pytest.mark.parametrize("alias", ["x\n", "champion\r", "latest\n", "v1\n"])
def test_an_alias_with_a_trailing_newline_is_refused(one: minireg.Registry, alias: str) -> None:
    err = _bad(tree_digest(one.root), one, "alias", "set", "churn", alias, "1")
    assert err.startswith(f"error: Alias {alias!r} is not valid")


@pytest.mark.parametrize("key", ["auc\n", "auc\tx", "team\r"])
def test_a_key_with_a_control_character_is_refused(
    one: minireg.Registry, artifact: Path, repo: Path, key: str
) -> None:
    before = tree_digest(one.root)
    metrics = repo / "metrics.json"
    metrics.write_text(json.dumps({key: 0.9}))
    err = _bad(before, one, "register", "churn", str(artifact), "--metrics", str(metrics))
    assert err.startswith(f"error: Metric name {key!r} is not valid;")
    with pytest.raises(minireg.InvalidInput, match="Tag name"):
        one.set_tag("churn", 1, key, "x")
    assert tree_digest(one.root) == before


@pytest.mark.parametrize("actor", ["evil\nactor", "evil\tactor", "evil\x1b[31mactor", "a\u2028b"])
def test_an_actor_with_a_control_character_is_refused(
    one: minireg.Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch, actor: str
) -> None:
    monkeypatch.setenv("MINIREG_ACTOR", actor)
    before = tree_digest(one.root)
    err = _bad(before, one, "register", "churn", str(artifact), "--requirements", str(artifact))
    assert err == (
        f"error: The actor (MINIREG_ACTOR) {actor!r} contains a control character; "
        "give it on one plain line.\n"
    )
    _bad(before, one, "promote", "churn", "1", "--to", "Staging")
    with pytest.raises(minireg.InvalidInput):
        one.set_description("churn", 1, "text", actor=actor)
    assert tree_digest(one.root) == before


def test_an_actor_s_trailing_newline_is_trimmed_not_recorded(
    one: minireg.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINIREG_ACTOR", "ci@corp\n")
    res = run_cli("promote", "churn", "1", "--to", "Staging", "--registry", str(one.root))
    assert res.exit_code == 0, res.stderr
    assert one.events()[-1].actor == "ci@corp"
    row = (one.root / "ledger.csv").read_text().splitlines()
    assert len(row) == 2  # the header and one version: no row spans two lines


@pytest.mark.parametrize("approver", ["alice@corp\n", "alice@corp\tbob", "alice\x00"])
def test_an_approver_with_a_control_character_is_refused(
    one: minireg.Registry, approver: str
) -> None:
    before = tree_digest(one.root)
    err = _bad(before, one, "promote", "churn", "1", "--to", "Staging", "--approver", approver)
    assert "approver" in err


@pytest.mark.parametrize("stage", ["Staging\n", "Staging\t", "\x1b"])
def test_a_stage_with_a_control_character_is_refused(one: minireg.Registry, stage: str) -> None:
    err = _bad(tree_digest(one.root), one, "promote", "churn", "1", "--to", stage)
    assert err == (
        f"error: Stage {stage!r} is not valid; a stage name is not blank and has no "
        "control characters.\n"
    )


def test_a_configured_stage_with_a_newline_is_refused(reg: minireg.Registry, repo: Path) -> None:
    toml = reg.root / "minireg.toml"
    toml.write_text(
        DEFAULT_TOML.replace(
            'names = ["None", "Staging", "Production", "Archived"]',
            'names = ["None", "Staging\\n", "Production", "Archived"]',
        )
    )
    before = tree_digest(reg.root)
    out = run_proc("list", "--registry", str(reg.root), cwd=repo)
    assert out.returncode == 2, out.stderr
    assert out.stderr == (
        "error: minireg.toml: Stage 'Staging\\n' is not valid; a stage name is not blank and "
        "has no control characters.\n"
    )
    assert tree_digest(reg.root) == before
