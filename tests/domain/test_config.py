"""Stage, transition and policy settings from minireg.toml (pure), and bad settings at the CLI."""

from __future__ import annotations

from typing import Any

import pytest

import minireg
from minireg.domain.config import Gate, parse_config, parse_gate
from tests.conftest import run_cli, tree_digest
from tests.support.stages import add_version


def test_defaults() -> None:
    config = parse_config({})
    assert config.stages == ("None", "Staging", "Production", "Archived")
    assert (config.initial_stage, config.archive_stage) == ("None", "Archived")
    assert config.exclusive == frozenset() and config.transitions == {}
    assert config.stage("PRODUCTION") == "Production" and config.stage("prod") is None


def test_names_are_stored_in_configured_spelling() -> None:
    config = parse_config(
        {
            "stages": {"names": ["dev", "Live", "gone"], "archive": "GONE", "exclusive": ["live"]},
            "transitions": {"LIVE": ["DEV"]},
            "policies": {"live": {"require_approver": True}},
        }
    )
    assert (config.initial_stage, config.archive_stage) == ("dev", "gone")
    assert config.exclusive == frozenset({"Live"})
    assert config.transitions == {"Live": ("dev",)}
    assert config.policy("Live").require_approver and not config.policy("dev").require_approver


@pytest.mark.parametrize(
    ("text", "gate"),
    [
        ("auc_roc >= 0.85", Gate("auc_roc >= 0.85", "auc_roc", ">=", 0.85)),
        ("loss<0.2", Gate("loss<0.2", "loss", "<", 0.2)),
        (
            "auc_roc >= current.auc_roc - 0.005",
            Gate("auc_roc >= current.auc_roc - 0.005", "auc_roc", ">=", -0.005, True, "auc_roc"),
        ),
        (
            "f1 > current.f1 + 0.01",
            Gate("f1 > current.f1 + 0.01", "f1", ">", 0.01, True, "f1"),
        ),
        ("f1 >= current.f1", Gate("f1 >= current.f1", "f1", ">=", 0.0, True, "f1")),
    ],
)
def test_parse_gate(text: str, gate: Gate) -> None:
    assert parse_gate(text) == gate


@pytest.mark.parametrize(
    "text", ["auc_roc", "auc_roc >= high", ">= 0.8", "auc_roc >= current.", "a >= current.a - x"]
)
def test_bad_gate(text: str) -> None:
    with pytest.raises(minireg.InvalidInput, match="is not valid"):
        parse_gate(text)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"exclusive": ["Production"]}, "exclusive belongs under [stages]"),
        ({"stages": {"exclusiv": ["Production"]}}, "[stages] has unknown setting 'exclusiv'"),
        ({"stages": {"exclusive": ["Prod"]}}, "stages.exclusive names unknown stage 'Prod'"),
        ({"stages": {"names": ["A", "a"]}}, "lists a stage twice"),
        ({"stages": {"names": []}}, "at least one stage"),
        ({"transitions": {"Production": "Staging"}}, "must be a list of strings"),
        ({"transitions": {"Live": ["Staging"]}}, "transitions names unknown stage 'Live'"),
        ({"policies": {"Production": {"four_eye": True}}}, "unknown setting 'four_eye'"),
        ({"policies": {"Production": {"four_eyes": "yes"}}}, "four_eyes must be true or false"),
        ({"policies": {"Production": {"gates": ["auc >> 1"]}}}, "is not valid"),
    ],
)
def test_bad_settings(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(minireg.InvalidInput) as caught:
        parse_config(raw)
    assert message in str(caught.value)


def test_bad_settings_stop_a_promotion_with_exit_2(reg: minireg.Registry) -> None:
    add_version(reg, 0.9)
    (reg.root / "minireg.toml").write_text('exclusive = ["Production"]\n')
    before = tree_digest(reg.root)
    res = run_cli("promote", "churn", "1", "--to", "Production", "--registry", str(reg.root))
    assert (res.exit_code, res.stderr) == (
        2,
        "error: minireg.toml: exclusive belongs under [stages].\n",
    )
    assert tree_digest(reg.root) == before
