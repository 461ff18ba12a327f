"""What the service's verbs return: plain records with ``to_dict`` for ``--json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minireg.domain.decisions import PromotionPlan
from minireg.domain.policies import Check
from minireg.domain.records import Event

if TYPE_CHECKING:
    from minireg.service.registry import Registry


@dataclass(frozen=True)
class Promotion:
    """What a promotion did (or, in a dry run, would do)."""

    model: str
    version: int
    from_stage: str
    to_stage: str
    changed: bool
    archived: list[int]
    checks: list[Check]
    events: list[Event]
    dry_run: bool = False
    # The version models:/MODEL/<to_stage> resolves to afterwards (the highest in the stage,
    # as in MLflow): not ``version`` when a higher one holds a non-exclusive stage too.
    serving: int | None = None

    @property
    def allowed(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    @classmethod
    def of(cls, plan: PromotionPlan, events: list[Event], *, dry_run: bool = False) -> Promotion:
        """The promotion a plan describes, with the events it wrote."""
        rec = plan.record
        return cls(
            model=rec.model,
            version=rec.version,
            from_stage=rec.stage,
            to_stage=plan.target,
            changed=plan.changed,
            archived=list(plan.archived),
            checks=list(plan.checks),
            events=list(events),
            dry_run=dry_run,
            serving=plan.serving,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {
            "model": self.model,
            "version": self.version,
            "from": self.from_stage,
            "to": self.to_stage,
            "changed": self.changed,
            "allowed": self.allowed,
            "archived": self.archived,
            "dry_run": self.dry_run,
            "serving": self.serving,
            "checks": [c.to_dict() for c in self.checks],
            "events": [e.to_dict() for e in self.events],
        }


@dataclass(frozen=True)
class Change:
    """What a small verb (alias, describe, tag) wrote: its events, or none for a no-op."""

    events: list[Event]
    message: str

    @property
    def changed(self) -> bool:
        return bool(self.events)


@dataclass(frozen=True)
class Snapshot:
    """Which version held each stage and alias of a model at one moment."""

    model: str
    at: str
    stages: dict[str, list[int]]
    aliases: dict[str, int]
    versions: list[int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "at": self.at,
            "stages": self.stages,
            "aliases": self.aliases,
            "versions": self.versions,
        }


@dataclass
class Report:
    """What ``verify`` found: every problem, grouped by where it lives."""

    events: int = 0
    versions: int = 0
    objects: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What is worth knowing but not wrong (a trimmed final newline, a torn last write)."""
    remote: str = ""
    """``verify --remote``: the remote checked ("" when it was not)."""
    remote_objects: int | None = None
    """``verify --remote``: the objects checked on the remote (None when it was not)."""
    remote_deep: bool = False
    """``verify --remote --deep``: they were read back and re-hashed."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {
            "ok": self.ok,
            "events": self.events,
            "versions": self.versions,
            "objects": self.objects,
            "problems": list(self.problems),
            "notes": list(self.notes),
            "remote": self.remote or None,
            "remote_objects": self.remote_objects,
            "remote_deep": self.remote_deep,
        }


@dataclass(frozen=True)
class Conversion:
    """What ``convert`` did: the formats, how many versions the new ledger shows, what went.

    ``registry`` is the registry opened with its new settings (the one that
    was converted is left as it was, describing the old format).
    """

    old: str
    new: str
    versions: int
    removed: str
    registry: Registry | None = None

    @property
    def changed(self) -> bool:
        return self.old != self.new or bool(self.removed)


@dataclass(frozen=True)
class Query:
    """What ``query`` (``minireg list --where/--sort/--columns``) found: columns and rows."""

    columns: list[str]
    rows: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "rows": list(self.rows)}


@dataclass(frozen=True)
class ReportFile:
    """What ``report`` wrote: the page, its size, what it covers and whether verify passed."""

    path: Path
    bytes: int
    models: int
    versions: int
    events: int
    verified: bool | None
    """Whether ``verify`` passed; None when it was not run."""
    head: str
    """The trail head's hash the page shows."""
    generated_at: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {
            "path": str(self.path),
            "bytes": self.bytes,
            "models": self.models,
            "versions": self.versions,
            "events": self.events,
            "verified": self.verified,
            "head": self.head,
            "generated_at": self.generated_at,
        }
