"""Shared setup for the stage, alias, policy and audit-trail tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import minireg

REGISTRANT = "ds@corp"

# Production only from Staging, at most one holder, and every policy the issue names.
STRICT = """\
[stages]
exclusive = ["Production"]

[transitions]
Production = ["Staging"]

[policies.Production]
require_approver = true
require_reason = true
four_eyes = true
approvers = ["alice@corp", "bob@corp"]
gates = ["auc_roc >= 0.85", "auc_roc >= current.auc_roc - 0.005"]
"""


def configure(reg: minireg.Registry, text: str) -> minireg.Registry:
    """Replace the registry's minireg.toml with ``text`` and reopen it."""
    (reg.root / "minireg.toml").write_text(text, encoding="utf-8")
    return minireg.open_registry(reg.root)


def add_version(
    reg: minireg.Registry,
    auc: float,
    *,
    model: str = "churn",
    actor: str = REGISTRANT,
    now: datetime | None = None,
) -> int:
    """Register a version with its own bytes and one metric; return its number."""
    number = len([e for e in reg.events() if e.action == "register" and e.model == model]) + 1
    path = reg.root.parent / f"{model}-{number}.pkl"
    path.write_bytes(f"{model} model {number} auc {auc}\n".encode())
    rec = reg.register(
        model, path, metrics={"auc_roc": auc}, requirements=b"", actor=actor, now=now
    )
    return rec.version


def stage_of(reg: minireg.Registry, version: int, model: str = "churn") -> str:
    """The stage a version holds now, folded from the events."""
    return reg.get(model, version).stage


def event_lines(root: Path) -> list[str]:
    """The lines of events.jsonl, without their newlines."""
    return (root / "events.jsonl").read_text(encoding="utf-8").splitlines()
