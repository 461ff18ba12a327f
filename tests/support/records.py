"""Hand-made version records and events for the export's pure tests."""

from __future__ import annotations

from minireg.domain.records import Event, VersionRecord

SHA = "a" * 64


def rec(version: int = 1, **fields: object) -> VersionRecord:
    """A version of model ``churn``, with ``fields`` changed."""
    base: dict[str, object] = {
        "model": "churn",
        "version": version,
        "artifact": "model.joblib",
        "artifact_sha256": SHA[:-1] + str(version),
        "artifact_bytes": 120,
        "flavor": "joblib",
        "created_at": "2026-03-01T10:00:00Z",
        "registered_by": "alice@corp",
        "git_commit": "c0ffee",
    }
    base.update(fields)
    return VersionRecord(**base)  # type: ignore[arg-type]


def event(seq: int, action: str, version: int | None = 1, **fields: object) -> Event:
    """Event ``seq`` about version ``version`` of ``churn``; ``data`` and other fields given."""
    data = fields.pop("data", {})
    return Event(
        seq=seq,
        time=f"2026-03-0{seq}T12:00:00Z",
        actor="ci",
        tool="minireg test",
        action=action,
        model="churn",
        version=version,
        data=data,  # type: ignore[arg-type]
        **fields,  # type: ignore[arg-type]
    )
