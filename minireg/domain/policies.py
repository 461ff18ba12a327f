"""Policies: a proposed transition and the current state in, the verdict of every check out."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from minireg.domain.config import Config, Gate
from minireg.domain.records import VersionRecord

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}


@dataclass(frozen=True)
class Check:
    """One policy check and its verdict."""

    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, object]:
        """Plain data with stable keys, for ``--json``."""
        return {"check": self.name, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class Proposal:
    """A transition someone asks for."""

    version: VersionRecord
    target: str
    approver: str
    reason: str
    archive_existing: bool


def _gate(gate: Gate, rec: VersionRecord, current: VersionRecord | None) -> Check:
    name = f"gate {gate.text}"
    have = rec.metrics.get(gate.metric)
    if have is None:
        return Check(name, False, f"version {rec.version} has no metric {gate.metric!r}")
    if not gate.against_current:
        ok = _OPS[gate.op](have, gate.value)
        return Check(name, ok, f"{gate.metric} is {have:g}, needs {gate.op} {gate.value:g}")
    if current is None:
        return Check(name, True, "no version holds the stage; nothing to compare against")
    base = current.metrics.get(gate.current_metric)
    if base is None:
        return Check(
            name,
            True,
            f"version {current.version} has no {gate.current_metric!r}; nothing to compare",
        )
    bound = base + gate.value
    ok = _OPS[gate.op](have, bound)
    return Check(
        name,
        ok,
        f"{gate.metric} is {have:g}, needs {gate.op} {bound:g} "
        f"(version {current.version}'s {gate.current_metric} {base:g}"
        + (f" {'+' if gate.value >= 0 else '-'} {abs(gate.value):g})" if gate.value else ")"),
    )


def evaluate(
    config: Config, proposal: Proposal, holders: list[int], current: VersionRecord | None
) -> list[Check]:
    """Return every check for ``proposal`` with its verdict; the transition is allowed if all pass.

    ``holders`` are the numbers of the other versions of the model that hold the
    target stage now, and ``current`` the highest of them (what the stage resolves
    to, as in MLflow): gates against ``current`` compare with it.
    """
    rec = proposal.version
    target = proposal.target
    checks: list[Check] = []
    sources = config.transitions.get(target)
    if sources is not None:
        ok = rec.stage in sources
        checks.append(
            Check(
                "transition allowed",
                ok,
                f"{target} may be entered from {', '.join(sources) or 'no stage'}; "
                f"version {rec.version} is in {rec.stage}",
            )
        )
    if target in config.exclusive:
        ok = not holders or proposal.archive_existing
        held = ", ".join(str(n) for n in holders)
        checks.append(
            Check(
                "exclusive stage",
                ok,
                f"{target} is held by version {held}; add --archive-existing to replace it"
                if holders and not ok
                else f"{target} is exclusive"
                + (f"; version {held} will be archived" if holders else "; nobody holds it"),
            )
        )
    policy = config.policy(target)
    if policy.require_approver:
        checks.append(
            Check(
                "approver required",
                bool(proposal.approver),
                f"approved by {proposal.approver}" if proposal.approver else "no --approver given",
            )
        )
    if policy.require_reason:
        checks.append(
            Check(
                "reason required",
                bool(proposal.reason.strip()),
                "reason given" if proposal.reason.strip() else "no --reason given",
            )
        )
    if policy.four_eyes:
        # E-mail addresses differ in case only by accident: compare them without it.
        same = bool(proposal.approver) and (
            proposal.approver.casefold() == rec.registered_by.casefold()
        )
        checks.append(
            Check(
                "four eyes",
                bool(proposal.approver) and not same,
                f"approver {proposal.approver} registered version {rec.version}"
                if same
                else (
                    f"approver {proposal.approver} differs from registrant {rec.registered_by}"
                    if proposal.approver
                    else "no --approver given"
                ),
            )
        )
    if policy.approvers:
        # Case-insensitive, as four-eyes: Alice@Corp is alice@corp.
        listed = {name.casefold() for name in policy.approvers}
        ok = bool(proposal.approver) and proposal.approver.casefold() in listed
        checks.append(
            Check(
                "approver allowed",
                ok,
                f"{proposal.approver or 'nobody'} "
                + ("is" if ok else "is not")
                + f" on the approvers list ({', '.join(policy.approvers)})",
            )
        )
    if policy.require_clean_git:
        ok = rec.git_dirty is False
        detail = {
            False: "registered from a clean git tree",
            True: "registered from a git tree with uncommitted changes",
            None: "registered outside git; cleanliness unknown",
        }[rec.git_dirty]
        checks.append(Check("clean git tree", ok, detail))
    checks.extend(_gate(gate, rec, current) for gate in policy.gates)
    return checks
