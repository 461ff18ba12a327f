"""What a hook receives: one event as a payload shaped like MLflow's registry webhooks.

Every payload is one JSON object::

    {"type": "model_version.transitioned",      # MLflow's entity.action names
     "entity": "model_version", "action": "transitioned",
     "timestamp": "2024-03-01T12:00:00.000Z",   # when the change was recorded
     "idempotency_key": "<the event's hash>",   # the same on every delivery of it
     "data": {"name": "churn", "version": "7", "from_stage": "Staging", ...},
     "text": "minireg: churn v7 Staging → Production by ci@corp ..."}

``data`` holds MLflow's fields for the event (``name``, ``version`` as text,
``tags``, ``description``, ``alias``, ...) and minireg's (``actor``, stages,
``approver``, ``reason``); ``text`` is one line for chat tools that show a
``text`` field (Slack and its kin). Pure: keys and times are arguments.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from minireg.domain.records import Event, VersionRecord

if TYPE_CHECKING:
    from typing import Unpack

TRANSITION_REQUESTED = "model_version.transition_requested"
"""The payload a before-transition hook gets: a promotion asked for, not yet made."""

TYPES = (
    "model_version.created",
    "model_version.transitioned",
    "model_version_alias.created",
    "model_version_alias.deleted",
    "model_version.description_updated",
    "model_version_tag.set",
    "model_version_tag.deleted",
)
"""Every event type an after-write hook can receive."""


class Ask(TypedDict):
    """How a promotion was asked for: the keywords every before-transition step passes on."""

    actor: str
    approver: str
    reason: str
    archive_existing: bool
    dry_run: bool
    time: str


def event_type(event: Event) -> str:
    """The payload type of ``event`` (``model_version.created``, ...), "" when it has none."""
    if event.action == "tag":
        return (
            "model_version_tag.deleted"
            if event.data.get("value") is None
            else ("model_version_tag.set")
        )
    return {
        "register": "model_version.created",
        "transition": "model_version.transitioned",
        "alias_set": "model_version_alias.created",
        "alias_delete": "model_version_alias.deleted",
        "describe": "model_version.description_updated",
    }.get(event.action, "")


def _version(event: Event) -> str:
    return "" if event.version is None else str(event.version)


def _created(event: Event) -> dict[str, Any]:
    data = event.data
    return {
        "source": f"models:/{event.model}/{event.version}",
        "run_id": None,
        "tags": dict(data.get("tags") or {}),
        "description": data.get("description", ""),
        "stage": data.get("stage", ""),
        "metrics": dict(data.get("metrics") or {}),
        "params": dict(data.get("params") or {}),
        "artifact_sha256": data.get("artifact_sha256", ""),
        "flavor": data.get("flavor", ""),
        "git_commit": data.get("git_commit", ""),
    }


def _transitioned(event: Event) -> dict[str, Any]:
    found: dict[str, Any] = {
        "from_stage": event.data.get("from"),
        "to_stage": event.data.get("to"),
        "approver": event.approver,
        "reason": event.reason,
    }
    if "archived_by" in event.data:
        found["archived_by"] = str(event.data["archived_by"])
    if "hooks" in event.data:
        found["checks"] = event.data["hooks"]
    return found


def _fields(event: Event) -> dict[str, Any]:
    data = event.data
    if event.action == "register":
        return _created(event)
    if event.action == "transition":
        return _transitioned(event)
    if event.action == "alias_set":
        previous = data.get("previous")
        before = None if previous is None else str(previous)
        return {"alias": data.get("alias"), "previous_version": before}
    if event.action == "alias_delete":
        return {"alias": data.get("alias")}
    if event.action == "describe":
        return {"description": data.get("description", "")}
    if event.action == "tag":
        found = {"key": data.get("key")}
        return found if data.get("value") is None else {**found, "value": data.get("value")}
    return {}


def _text(event: Event, data: dict[str, Any]) -> str:
    who = f"v{data['version']}"
    what = {
        "register": f"{who} registered",
        "transition": f"{who} {data.get('from_stage')} → {data.get('to_stage')}",
        "alias_set": f"@{data.get('alias')} → {who}",
        "alias_delete": f"@{data.get('alias')} removed (was {who})",
        "describe": f"{who} description: {data.get('description')}",
        "tag": f"{who} tag {data.get('key')}"
        + (f"={data['value']}" if "value" in data else " removed"),
    }.get(event.action, event.action)
    text = f"minireg: {event.model} {what} by {event.actor}"
    if event.approver:
        text += f", approved by {event.approver}"
    return text + (f": {event.reason}" if event.reason else "")


def payload(event: Event, key: str) -> dict[str, Any]:
    """The payload of ``event``; ``key`` is its idempotency key (its original hash)."""
    kind = event_type(event)
    entity, _, action = kind.partition(".")
    data = {"name": event.model, "version": _version(event), **_fields(event), "actor": event.actor}
    return {
        "type": kind,
        "entity": entity,
        "action": action,
        "timestamp": event.time,
        "idempotency_key": key,
        "data": data,
        "text": _text(event, data),
    }


def proposal(record: VersionRecord, target: str, *, key: str, **ask: Unpack[Ask]) -> dict[str, Any]:
    """The payload of a promotion asked for (what a before-transition hook gets)."""
    actor = ask["actor"]
    data = {
        "name": record.model,
        "version": str(record.version),
        "from_stage": record.stage,
        "to_stage": target,
        "approver": ask["approver"],
        "reason": ask["reason"],
        "archive_existing": ask["archive_existing"],
        "dry_run": ask["dry_run"],
        "actor": actor,
        "model_version": record.to_dict(),
    }
    text = f"minireg: {record.model} v{record.version} {record.stage} → {target} asked by {actor}"
    return {
        "type": TRANSITION_REQUESTED,
        "entity": "model_version",
        "action": "transition_requested",
        "timestamp": ask["time"],
        "idempotency_key": key,
        "data": data,
        "text": text,
    }


_ENV = {
    "name": "MINIREG_MODEL",
    "version": "MINIREG_VERSION",
    "actor": "MINIREG_ACTOR",
    "from_stage": "MINIREG_FROM_STAGE",
    "to_stage": "MINIREG_TO_STAGE",
    "stage": "MINIREG_STAGE",
    "alias": "MINIREG_ALIAS",
    "approver": "MINIREG_APPROVER",
    "reason": "MINIREG_REASON",
}


def environment(body: dict[str, Any]) -> dict[str, str]:
    """The ``MINIREG_*`` variables a command hook gets for payload ``body``."""
    data = body["data"]
    env = {"MINIREG_EVENT": body["type"], "MINIREG_EVENT_ID": body["idempotency_key"]}
    env.update({name: str(data[key]) for key, name in _ENV.items() if data.get(key) is not None})
    if data.get("version"):
        env["MINIREG_URI"] = f"models:/{data['name']}/{data['version']}"
    if "to_stage" in data:
        env["MINIREG_STAGE"] = str(data["to_stage"])
    if "dry_run" in data:
        env["MINIREG_DRY_RUN"] = "1" if data["dry_run"] else "0"
    return env


_SAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "model_version.created": (
        "register",
        {
            "stage": "None",
            "tags": {"example_key": "example_value"},
            "description": "An example model version",
            "metrics": {"auc_roc": 0.91},
        },
    ),
    "model_version.transitioned": ("transition", {"from": "Staging", "to": "Production"}),
    "model_version_alias.created": ("alias_set", {"alias": "champion", "previous": None}),
    "model_version_alias.deleted": ("alias_delete", {"alias": "champion"}),
    "model_version.description_updated": ("describe", {"description": "An example"}),
    "model_version_tag.set": ("tag", {"key": "example_key", "value": "example_value"}),
    "model_version_tag.deleted": ("tag", {"key": "example_key", "value": None}),
}
_SHORT = {
    "register": "model_version.created",
    "transition": "model_version.transitioned",
    "alias": "model_version_alias.created",
    "describe": "model_version.description_updated",
    "tag": "model_version_tag.set",
}


def sample_event(kind: str, *, time: str, actor: str) -> Event | None:
    """An example event of type ``kind`` (or of the change ``kind``: register, ...), or None."""
    found = _SAMPLES.get(_SHORT.get(kind, kind))
    if found is None:
        return None
    action, data = found
    transition = action == "transition"
    return Event(
        seq=0,
        time=time,
        actor=actor,
        tool="minireg",
        action=action,
        model="example_model",
        version=1,
        data=dict(data),
        approver="alice@example.com" if transition else "",
        reason="an example promotion" if transition else "",
    )
