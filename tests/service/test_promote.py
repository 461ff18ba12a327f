"""Refused promotions, dry runs, no-ops and configured stage names.

Every refusal exits with DESIGN.md's code, names every failed check, and leaves
the registry byte-for-byte unchanged.
"""

from __future__ import annotations

import json

import pytest

import minireg
from tests.conftest import run_cli, run_proc, tree_digest
from tests.support.stages import REGISTRANT, STRICT, add_version, configure, stage_of

GOOD = ["--approver", "alice@corp", "--reason", "better", "--archive-existing"]


@pytest.fixture
def strict(reg: minireg.Registry) -> minireg.Registry:
    """churn v1 (0.90) in Production; v2 (0.894), v3 (0.80), v5 (0.95) in Staging; v4 in None."""
    reg = configure(reg, STRICT)
    for auc in (0.90, 0.894, 0.80, 0.95, 0.95):
        add_version(reg, auc)
    for v in (1, 2, 3, 5):
        reg.promote("churn", v, "Staging", actor="ci@corp")
    reg.promote("churn", 1, "Production", approver="bob@corp", reason="first", actor="ci@corp")
    return reg


REFUSALS = [
    pytest.param(
        ["5", "--to", "Production", "--reason", "better", "--archive-existing"],
        4,
        [
            "approver required: no --approver given",
            "four eyes: no --approver given",
            "approver allowed: nobody is not on the approvers list (alice@corp, bob@corp)",
        ],
        id="missing-approver",
    ),
    pytest.param(
        [
            "5",
            "--to",
            "Production",
            "--approver",
            REGISTRANT,
            "--reason",
            "mine",
            "--archive-existing",
        ],
        4,
        [
            f"four eyes: approver {REGISTRANT} registered version 5",
            f"approver allowed: {REGISTRANT} is not on the approvers list (alice@corp, bob@corp)",
        ],
        id="approver-is-registrant",
    ),
    pytest.param(
        [
            "5",
            "--to",
            "Production",
            "--approver",
            "mallory@corp",
            "--reason",
            "trust me",
            "--archive-existing",
        ],
        4,
        ["approver allowed: mallory@corp is not on the approvers list (alice@corp, bob@corp)"],
        id="approver-not-allowed",
    ),
    pytest.param(
        ["2", "--to", "Production", *GOOD],
        4,
        [
            "gate auc_roc >= current.auc_roc - 0.005: auc_roc is 0.894, needs >= 0.895 "
            "(version 1's auc_roc 0.9 - 0.005)"
        ],
        id="gate-against-current",
    ),
    pytest.param(
        ["3", "--to", "Production", *GOOD],
        4,
        [
            "gate auc_roc >= 0.85: auc_roc is 0.8, needs >= 0.85",
            "gate auc_roc >= current.auc_roc - 0.005: auc_roc is 0.8, needs >= 0.895 "
            "(version 1's auc_roc 0.9 - 0.005)",
        ],
        id="absolute-gate",
    ),
    pytest.param(
        ["4", "--to", "Production", *GOOD],
        4,
        ["transition allowed: Production may be entered from Staging; version 4 is in None"],
        id="transition-not-allowed",
    ),
    pytest.param(
        ["5", "--to", "Production", "--approver", "alice@corp", "--reason", "better"],
        4,
        ["exclusive stage: Production is held by version 1; add --archive-existing to replace it"],
        id="exclusive-without-archive-existing",
    ),
    pytest.param(
        ["3", "--to", "Production", "--approver", REGISTRANT],
        4,
        [
            "exclusive stage: Production is held by version 1; add --archive-existing",
            "reason required: no --reason given",
            f"four eyes: approver {REGISTRANT} registered version 3",
            "approver allowed:",
            "gate auc_roc >= 0.85:",
            "gate auc_roc >= current.auc_roc",
        ],
        id="every-failed-check-listed",
    ),
    pytest.param(
        ["5", "--to", "Productoin", *GOOD],
        3,
        ["Stage 'Productoin' does not exist; the stages are None, Staging, Production, Archived."],
        id="unknown-stage",
    ),
    pytest.param(
        ["9", "--to", "Production", *GOOD],
        3,
        ["Model churn has no version 9; its latest version is 5."],
        id="unknown-version",
    ),
    pytest.param(
        ["1", "--to", "Staging", "--model-typo"],
        2,
        ["No such option"],
        id="bad-usage",
    ),
]


@pytest.mark.parametrize(("args", "code", "reasons"), REFUSALS)
def test_refused_promotion_names_every_reason_and_writes_nothing(
    strict: minireg.Registry, args: list[str], code: int, reasons: list[str]
) -> None:
    before = tree_digest(strict.root)
    res = run_cli("promote", "churn", *args, "--registry", str(strict.root))
    assert res.exit_code == code, res.stderr
    for reason in reasons:
        assert reason in res.stderr
    assert res.stdout == ""
    assert tree_digest(strict.root) == before


def test_refusal_with_one_reason_is_one_sentence(strict: minireg.Registry) -> None:
    res = run_cli(
        "promote",
        "churn",
        "5",
        "--to",
        "Production",
        "--approver",
        "alice@corp",
        "--reason",
        "better",
        "--registry",
        str(strict.root),
    )
    assert res.exit_code == 4
    assert res.stderr == (
        "error: Promotion of churn version 5 to Production is refused: exclusive stage: "
        "Production is held by version 1; add --archive-existing to replace it.\n"
    )


def test_refusal_lists_each_failed_check_on_its_own_line(strict: minireg.Registry) -> None:
    res = run_cli(
        "promote",
        "churn",
        "3",
        "--to",
        "Production",
        "--approver",
        "mallory@corp",
        "--archive-existing",
        "--registry",
        str(strict.root),
    )
    assert res.exit_code == 4
    assert res.stderr.splitlines() == [
        "error: Promotion of churn version 3 to Production is refused:",
        "  - reason required: no --reason given",
        "  - approver allowed: mallory@corp is not on the approvers list (alice@corp, bob@corp)",
        "  - gate auc_roc >= 0.85: auc_roc is 0.8, needs >= 0.85",
        "  - gate auc_roc >= current.auc_roc - 0.005: auc_roc is 0.8, needs >= 0.895 "
        "(version 1's auc_roc 0.9 - 0.005)",
    ]


def test_refusal_in_a_real_process(strict: minireg.Registry) -> None:
    before = tree_digest(strict.root)
    out = run_proc(
        "promote", "churn", "2", "--to", "Production", *GOOD, "--registry", str(strict.root)
    )
    assert out.returncode == 4
    assert "needs >= 0.895" in out.stderr
    assert tree_digest(strict.root) == before


def test_python_api_refusal_carries_every_reason(strict: minireg.Registry) -> None:
    before = tree_digest(strict.root)
    with pytest.raises(minireg.Refused) as caught:
        strict.promote("churn", 3, "Production", approver=REGISTRANT, actor="ci@corp")
    assert [r.split(":")[0] for r in caught.value.reasons] == [
        "exclusive stage",
        "reason required",
        "four eyes",
        "approver allowed",
        "gate auc_roc >= 0.85",
        "gate auc_roc >= current.auc_roc - 0.005",
    ]
    assert caught.value.exit_code == 4
    with pytest.raises(minireg.NotFound):
        strict.promote("churn", 3, "Prod")
    with pytest.raises(minireg.NotFound):
        strict.promote("nosuch", 1, "Staging")
    assert tree_digest(strict.root) == before


def test_gate_passes_within_the_tolerance(strict: minireg.Registry) -> None:
    """auc_roc 0.896 >= 0.90 - 0.005: allowed, and version 1 is archived."""
    v = add_version(strict, 0.896)
    strict.promote("churn", v, "Staging", actor="ci@corp")
    done = strict.promote(
        "churn",
        v,
        "Production",
        approver="alice@corp",
        reason="close enough",
        archive_existing=True,
        actor="ci@corp",
    )
    assert done.allowed and done.archived == [1]
    assert stage_of(strict, 1) == "Archived"


def test_dry_run_shows_every_verdict_and_writes_nothing(strict: minireg.Registry) -> None:
    before = tree_digest(strict.root)
    r = ["--registry", str(strict.root)]
    res = run_cli("promote", "churn", "5", "--to", "Production", *GOOD, "--dry-run", *r)
    assert res.exit_code == 0, res.stderr
    verdicts = {line.split("  ")[0]: line for line in res.stdout.splitlines()[2:]}
    assert set(verdicts) == {
        "transition allowed",
        "exclusive stage",
        "approver required",
        "reason required",
        "four eyes",
        "approver allowed",
        "gate auc_roc >= 0.85",
        "gate auc_roc >= current.auc_roc - 0.005",
    }
    assert all(" pass " in line for line in verdicts.values())
    assert "version 1 will be archived" in verdicts["exclusive stage"]
    assert res.stderr == (
        "Would move churn version 5 from Staging to Production.\n"
        "Would move version 1 from Production to Archived.\n"
        "Dry run: nothing was written.\n"
    )
    assert tree_digest(strict.root) == before

    # A refused dry run exits 4 (so CI can ask first), shows the FAILs, and writes nothing.
    res = run_cli("promote", "churn", "3", "--to", "Production", *GOOD, "--dry-run", *r)
    assert res.exit_code == 4
    assert "FAIL" in res.stdout and "Would move" not in res.stderr
    assert "would be refused" in res.stderr and "needs >= 0.85" in res.stderr
    res = run_cli("promote", "churn", "3", "--to", "Production", *GOOD, "--dry-run", "--json", *r)
    assert res.exit_code == 4
    data = json.loads(res.stdout)
    assert (data["allowed"], data["dry_run"], data["events"]) == (False, True, [])
    assert [c["passed"] for c in data["checks"]] == [
        True,
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]
    assert tree_digest(strict.root) == before

    py = strict.promote("churn", 5, "Production", archive_existing=True, dry_run=True)
    assert (py.allowed, py.changed, py.dry_run, py.events) == (False, True, True, [])
    assert tree_digest(strict.root) == before


def test_promoting_to_the_held_stage_is_a_noop(strict: minireg.Registry) -> None:
    before = tree_digest(strict.root)
    res = run_cli("promote", "churn", "1", "--to", "pRoDuCtIoN", "--registry", str(strict.root))
    assert res.exit_code == 0
    assert res.stderr == "churn version 1 is already in Production; nothing to do.\n"
    done = strict.promote("churn", 2, "staging", actor="ci@corp")
    assert (done.changed, done.events) == (False, [])
    assert tree_digest(strict.root) == before


def test_stage_names_match_case_insensitively_and_are_stored_as_configured(
    reg: minireg.Registry,
) -> None:
    add_version(reg, 0.9)
    res = run_cli("promote", "churn", "1", "--to", "sTaGiNg", "--registry", str(reg.root))
    assert res.exit_code == 0, res.stderr
    assert reg.history()[-1].data == {"from": "None", "to": "Staging"}
    assert ",Staging," in (reg.root / "ledger.csv").read_text().splitlines()[1]
    assert reg.resolve("models:/churn/STAGING").version == 1


def test_renamed_stages_from_the_settings(reg: minireg.Registry) -> None:
    reg = configure(
        reg,
        '[stages]\nnames = ["Dev", "Canary", "Live", "Retired"]\ninitial = "Dev"\n'
        'archive = "Retired"\nexclusive = ["live"]\n\n[transitions]\nLive = ["canary"]\n',
    )
    one, two = add_version(reg, 0.9), add_version(reg, 0.91)
    assert reg.get("churn", one).stage == "Dev"
    r = ["--registry", str(reg.root)]
    for v in (one, two):
        assert run_cli("promote", "churn", str(v), "--to", "canary", *r).exit_code == 0
    assert run_cli("promote", "churn", str(one), "--to", "LIVE", *r).exit_code == 0
    res = run_cli("promote", "churn", str(two), "--to", "live", *r)
    assert res.exit_code == 4
    assert "Live is held by version 1; add --archive-existing" in res.stderr
    res = run_cli("promote", "churn", str(two), "--to", "live", "--archive-existing", *r)
    assert res.exit_code == 0, res.stderr
    assert "Moved version 1 from Live to Retired." in res.stderr
    assert [stage_of(reg, v) for v in (one, two)] == ["Retired", "Live"]
    before = tree_digest(reg.root)
    res = run_cli("promote", "churn", str(one), "--to", "Production", *r)
    assert res.exit_code == 3
    assert "the stages are Dev, Canary, Live, Retired" in res.stderr
    res = run_cli("promote", "churn", str(one), "--to", "Live", "--archive-existing", *r)
    assert res.exit_code == 4  # Live only from Canary
    assert "Live may be entered from Canary; version 1 is in Retired" in res.stderr
    assert tree_digest(reg.root) == before


def test_an_added_stage_between_the_defaults(reg: minireg.Registry) -> None:
    reg = configure(
        reg,
        '[stages]\nnames = ["None", "Staging", "Shadow", "Production", "Archived"]\n\n'
        '[transitions]\nProduction = ["Shadow"]\nShadow = ["Staging"]\n',
    )
    add_version(reg, 0.9)
    with pytest.raises(minireg.Refused, match="Shadow may be entered from Staging"):
        reg.promote("churn", 1, "shadow")
    for stage in ("Staging", "SHADOW", "production"):
        reg.promote("churn", 1, stage)
    assert [e.data["to"] for e in reg.history()[1:]] == ["Staging", "Shadow", "Production"]


def test_archiving_into_the_archive_stage_moves_nobody(reg: minireg.Registry) -> None:
    add_version(reg, 0.9)
    add_version(reg, 0.8)
    reg.promote("churn", 1, "Archived")
    done = reg.promote("churn", 2, "archived", archive_existing=True)
    assert done.archived == [] and len(done.events) == 1
    assert [stage_of(reg, v) for v in (1, 2)] == ["Archived", "Archived"]


def test_clean_git_policy(reg: minireg.Registry) -> None:
    reg = configure(reg, "[policies.Staging]\nrequire_clean_git = true\n")
    add_version(reg, 0.9)  # the repo fixture is committed and clean
    (reg.root.parent / "train.py").write_text("print('edited, not committed')\n")
    add_version(reg, 0.9)
    assert reg.get("churn", 1).git_dirty is False and reg.get("churn", 2).git_dirty is True
    reg.promote("churn", 1, "Staging")
    before = tree_digest(reg.root)
    with pytest.raises(minireg.Refused, match="uncommitted changes"):
        reg.promote("churn", 2, "Staging")
    assert tree_digest(reg.root) == before


def test_blank_approver_is_no_approver(strict: minireg.Registry) -> None:
    before = tree_digest(strict.root)
    with pytest.raises(minireg.Refused) as caught:
        strict.promote("churn", 5, "Production", approver="  ", reason="x", archive_existing=True)
    assert "approver required: no --approver given" in caught.value.reasons
    assert tree_digest(strict.root) == before


def test_four_eyes_ignores_the_case_of_an_address(strict: minireg.Registry) -> None:
    reg = configure(strict, STRICT.replace('"alice@corp", "bob@corp"', '"DS@corp"'))
    before = tree_digest(reg.root)
    with pytest.raises(minireg.Refused) as caught:
        reg.promote("churn", 5, "Production", approver="DS@corp", reason="x", archive_existing=True)
    assert caught.value.reasons == ["four eyes: approver DS@corp registered version 5"]
    assert tree_digest(reg.root) == before
