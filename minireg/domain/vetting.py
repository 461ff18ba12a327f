"""Before-transition hooks' verdicts, joined to a promotion's plan (pure).

The hooks run before the lock (a slow check must not hold up other writers),
on the state read then. Under the lock the promotion is planned again; the
verdicts join its checks and are recorded in the transition event
(``data["hooks"]``), but only if the version still starts where the hooks saw
it: otherwise they judged another move and the promotion is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from minireg.domain.decisions import PromotionPlan
from minireg.domain.policies import Check
from minireg.errors import Refused


@dataclass(frozen=True)
class Vetting:
    """What the before-transition hooks said about moving a version out of ``from_stage``."""

    from_stage: str
    checks: tuple[Check, ...] = ()

    def record(self) -> list[dict[str, Any]]:
        """The verdicts as the transition event stores them."""
        return [
            {"hook": c.name.removeprefix("hook "), "passed": c.passed, "detail": c.detail}
            for c in self.checks
        ]


def vetted(plan: PromotionPlan, vetting: Vetting | None) -> PromotionPlan:
    """``plan`` with the hooks' verdicts among its checks and in its transition's data.

    Raises:
        Refused: the version moved while the hooks ran (their verdict is about another move).
    """
    if vetting is None or not plan.changed:
        return plan
    rec = plan.record
    if rec.stage != vetting.from_stage:
        raise Refused(
            f"{rec.model} version {rec.version} moved from {vetting.from_stage} to {rec.stage} "
            f"while its before_transition hooks ran; nothing was written; promote it again."
        )
    drafts = list(plan.drafts)
    last = drafts[-1]
    drafts[-1] = replace(last, data={**last.data, "hooks": vetting.record()})
    return replace(plan, checks=[*plan.checks, *vetting.checks], drafts=drafts)
