"""What each write verb decides from the current state: the drafts to record, or a refusal.

Pure: a decision reads a :class:`State` and the settings and returns drafts
(an empty list for a no-op); the service chains and appends them under the
lock. A refused or invalid change raises before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from minireg.domain.config import Config
from minireg.domain.policies import Check, Proposal, evaluate
from minireg.domain.records import Draft, VersionRecord
from minireg.domain.state import State
from minireg.errors import NotFound, Refused


def no_model(model: str) -> NotFound:
    """The error for a model the registry does not have."""
    return NotFound(f"Model {model!r} is not in the registry; `minireg list` shows the models.")


def find(state: State, model: str, version: int) -> VersionRecord:
    """Version ``version`` of ``model``, or NotFound naming the model's latest version."""
    rec = state.versions.get((model, version))
    if rec is not None:
        return rec
    if not state.of_model(model):
        raise no_model(model)
    latest = state.next_version(model) - 1
    raise NotFound(f"Model {model} has no version {version}; its latest version is {latest}.")


def stage_of(config: Config, name: str) -> str:
    """The configured spelling of stage ``name`` (case-insensitive), or NotFound."""
    stage = config.stage(name)
    if stage is None:
        raise NotFound(f"Stage {name!r} does not exist; the stages are {', '.join(config.stages)}.")
    return stage


@dataclass(frozen=True)
class PromotionPlan:
    """What promoting one version would do: the checks, the versions archived, the drafts."""

    record: VersionRecord
    target: str
    changed: bool
    archived: list[int]
    checks: list[Check]
    drafts: list[Draft]
    serving: int = 0
    """The version ``models:/MODEL/<target>`` resolves to afterwards (the highest in the
    stage, as in MLflow): not the promoted one when a higher one holds a shared stage too."""

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def refusal(self) -> Refused:
        """The error naming every failed check."""
        rec, reasons = self.record, [f"{c.name}: {c.detail}" for c in self.failed]
        return Refused(
            f"Promotion of {rec.model} version {rec.version} to {self.target} is refused: "
            + "; ".join(reasons)
            + ".",
            reasons,
        )


def plan_promotion(
    state: State,
    config: Config,
    model: str,
    number: int,
    target: str,
    *,
    approver: str = "",
    reason: str = "",
    archive_existing: bool = False,
) -> PromotionPlan:
    """Decide a promotion of ``model`` ``number`` to stage ``target``: its checks and drafts.

    Raises:
        NotFound: the model or the version does not exist.
    """
    rec = find(state, model, number)
    # Numbers, not records: a shared stage may hold thousands of versions, and only the
    # highest (what the stage resolves to) is compared with.
    holders = [n for n in state.versions.in_stage(model, target) if n != number]
    if rec.stage == target:
        serving = max([number, *holders])
        return PromotionPlan(rec, target, False, [], [], [], serving)
    proposal = Proposal(rec, target, approver, reason, archive_existing)
    current = state.versions[(model, holders[-1])] if holders else None
    checks = evaluate(config, proposal, holders, current)
    # Archiving into the archive stage itself would move versions nowhere.
    moving = proposal.archive_existing and target != config.archive_stage
    archived = list(holders) if moving else []
    drafts = [
        Draft(
            "transition",
            model,
            held,
            {"from": target, "to": config.archive_stage, "archived_by": number},
            approver=proposal.approver,
            reason=f"archived by the promotion of version {number} to {target}",
        )
        for held in archived
    ]
    drafts.append(
        Draft(
            "transition",
            model,
            number,
            {"from": rec.stage, "to": target},
            approver=proposal.approver,
            reason=proposal.reason,
        )
    )
    serving = max([number, *(n for n in holders if n not in archived)])
    return PromotionPlan(rec, target, True, archived, checks, drafts, serving)


def alias_set(state: State, model: str, alias: str, number: int) -> list[Draft]:
    """Point ``@alias`` at ``number`` (a no-op if it already does)."""
    find(state, model, number)
    old = state.aliases.get(model, {}).get(alias)
    if old == number:
        return []
    return [Draft("alias_set", model, number, {"alias": alias, "previous": old})]


def alias_delete(state: State, model: str, alias: str) -> list[Draft]:
    """Remove ``@alias``; NotFound if the model or the alias does not exist."""
    if not state.of_model(model):
        raise no_model(model)
    old = state.aliases.get(model, {}).get(alias)
    if old is None:
        raise NotFound(f"Model {model} has no alias @{alias}.")
    return [Draft("alias_delete", model, old, {"alias": alias})]


def description(state: State, model: str, number: int, text: str) -> list[Draft]:
    """Set a version's description (a no-op if it is the same)."""
    rec = find(state, model, number)
    if rec.description == text:
        return []
    return [Draft("describe", model, number, {"description": text, "previous": rec.description})]


def tag(state: State, model: str, number: int, key: str, value: str | None) -> list[Draft]:
    """Set a tag, or remove it with ``value`` None (a no-op if nothing changes)."""
    rec = find(state, model, number)
    if rec.tags.get(key) == value:
        return []
    data = {"key": key, "value": value, "previous": rec.tags.get(key)}
    return [Draft("tag", model, number, data)]
