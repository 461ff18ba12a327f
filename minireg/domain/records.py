"""Small frozen records: a model version and an audit event."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from minireg.domain.canonical import canonical_json, sha256_hex

GENESIS = "0" * 64
"""The ``prev`` of the first event in a registry."""


@dataclass(frozen=True)
class VersionRecord:
    """One model version: what the ledger shows in one row."""

    model: str
    version: int
    stage: str = "None"
    aliases: tuple[str, ...] = ()
    created_at: str = ""
    registered_by: str = ""
    git_commit: str = ""
    git_branch: str = ""
    git_dirty: bool | None = None
    training_date: str = ""
    data_sha256: str = ""
    artifact: str = ""
    artifact_sha256: str = ""
    artifact_bytes: int = 0
    flavor: str = ""
    requirements_sha256: str = ""
    description: str = ""
    approved_by: str = ""
    approved_at: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def is_dir(self) -> bool:
        """True when the artifact is a folder (stored as files plus a manifest)."""
        return self.artifact.endswith("/")

    @property
    def uri(self) -> str:
        """The ``models:/NAME/VERSION`` URI of this version."""
        return f"models:/{self.model}/{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """Return the record as plain JSON-ready data with stable keys."""
        return {
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
            "aliases": list(self.aliases),
            "created_at": self.created_at,
            "registered_by": self.registered_by,
            "git_commit": self.git_commit,
            "git_branch": self.git_branch,
            "git_dirty": self.git_dirty,
            "training_date": self.training_date,
            "data_sha256": self.data_sha256,
            "artifact": self.artifact,
            "artifact_sha256": self.artifact_sha256,
            "artifact_bytes": self.artifact_bytes,
            "flavor": self.flavor,
            "requirements_sha256": self.requirements_sha256,
            "description": self.description,
            "approved_by": self.approved_by,
            "approved_at": self.approved_at,
            "metrics": dict(sorted(self.metrics.items())),
            "params": dict(sorted(self.params.items())),
            "tags": dict(sorted(self.tags.items())),
        }


# Fields a ``register`` event carries; stage, aliases and approval come from later events.
REGISTER_FIELDS = (
    "created_at",
    "registered_by",
    "git_commit",
    "git_branch",
    "git_dirty",
    "training_date",
    "data_sha256",
    "artifact",
    "artifact_sha256",
    "artifact_bytes",
    "flavor",
    "requirements_sha256",
    "description",
    "metrics",
    "params",
    "tags",
)


@dataclass(frozen=True)
class Event:
    """One line of ``events.jsonl``: a change, who made it, when, and the chain links."""

    seq: int
    time: str
    actor: str
    tool: str
    action: str
    model: str
    version: int | None
    data: dict[str, Any]
    approver: str = ""
    reason: str = ""
    prev: str = GENESIS
    hash: str = ""

    def body(self) -> dict[str, Any]:
        """Everything but ``hash``: what the hash is computed over."""
        return {
            "seq": self.seq,
            "time": self.time,
            "actor": self.actor,
            "tool": self.tool,
            "action": self.action,
            "model": self.model,
            "version": self.version,
            "data": self.data,
            "approver": self.approver,
            "reason": self.reason,
            "prev": self.prev,
        }

    def compute_hash(self) -> str:
        """Return the sha256 of the canonical JSON of :meth:`body`."""
        return sha256_hex(canonical_json(self.body()))

    def to_dict(self) -> dict[str, Any]:
        """Return the event as stored: its body plus ``hash``."""
        return {**self.body(), "hash": self.hash}

    def to_line(self) -> str:
        """Return the event as one ``events.jsonl`` line (canonical JSON, no newline)."""
        return canonical_json(self.to_dict()).decode("utf-8")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Event:
        """Build an event from its stored form; raises KeyError, TypeError or ValueError."""
        version = raw["version"]
        return cls(
            seq=int(raw["seq"]),
            time=str(raw["time"]),
            actor=str(raw["actor"]),
            tool=str(raw["tool"]),
            action=str(raw["action"]),
            model=str(raw["model"]),
            version=None if version is None else int(version),
            data=dict(raw["data"]),
            approver=str(raw.get("approver", "")),
            reason=str(raw.get("reason", "")),
            prev=str(raw["prev"]),
            hash=str(raw["hash"]),
        )

    @classmethod
    def from_line(cls, line: str) -> Event:
        """Parse one stored line; raises ValueError (or KeyError/TypeError) if malformed."""
        raw = json.loads(line)
        if not isinstance(raw, dict):
            raise ValueError("an event line must be a JSON object")
        return cls.from_dict(raw)


@dataclass(frozen=True)
class Draft:
    """An event before it is chained: what a verb wants to record."""

    action: str
    model: str
    version: int | None
    data: dict[str, Any]
    approver: str = ""
    reason: str = ""


def chain(
    drafts: list[Draft], *, head: Event | None, time: str, actor: str, tool: str
) -> list[Event]:
    """Turn drafts into hash-chained events that follow ``head`` (None for an empty trail)."""
    events: list[Event] = []
    seq = head.seq if head else 0
    prev = head.hash if head else GENESIS
    for draft in drafts:
        seq += 1
        event = Event(
            seq=seq,
            time=time,
            actor=actor,
            tool=tool,
            action=draft.action,
            model=draft.model,
            version=draft.version,
            data=draft.data,
            approver=draft.approver,
            reason=draft.reason,
            prev=prev,
        )
        event = Event(**{**event.__dict__, "hash": event.compute_hash()})
        events.append(event)
        prev = event.hash
    return events
