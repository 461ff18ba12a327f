"""What MLflow should hold for a minireg registry: per version, its tags, values and audit trail.

Pure: this module imports neither mlflow nor anything that touches the disk,
so every rule of the export can be tested on hand-made records and events.

- :func:`wanted_models` gives, per model, each version's tags, params,
  description, stage and audit trail (:class:`Wanted`) and the aliases MLflow
  should hold. Values longer than MLflow keeps are shortened and marked
  (:mod:`.limits`); the audit trail keeps them whole.
- :func:`run_tags` are the tags of a version's run: what cannot change after
  registration. Everything that moves later (stage, approval, description,
  your tags, the audit digest) lives on the model version, which every export
  keeps in step; your tags are therefore not copied to the run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from minireg.domain.canonical import canonical_json, sha256_hex
from minireg.domain.names import check_alias
from minireg.domain.records import Event, VersionRecord
from minireg.domain.values import parse_moment
from minireg.errors import InvalidInput, NotFound
from minireg.exporters.mlflow.limits import (
    DESCRIPTION_MAX,
    PARAM_MAX,
    RUN_TAG_MAX,
    TRUNCATED,
    VERSION_TAG_MAX,
    fit,
    fit_values,
    mark,
)

DEFAULT_EXPERIMENT = "minireg-export"
PREFIX = "minireg."
MLFLOW_STAGES = ("None", "Staging", "Production", "Archived")
_STAGE = "minireg.stage"
# Tags that change after a version is registered: they live on the model version, not the run.
_MOVING = (
    "minireg.approved_by",
    "minireg.approved_at",
    "minireg.events",
    "minireg.audit_sha256",
    "minireg.tag_keys",
    TRUNCATED,
)


@dataclass(frozen=True)
class Wanted:
    """The MLflow side of one minireg version: tags, values, description, stage, audit trail."""

    rec: VersionRecord
    tags: dict[str, str]
    """The model version's tags, each fitted to MLflow's limit."""
    stage: str
    """MLflow's stage: the version's stage in MLflow's spelling, or ``None`` if MLflow lacks it."""
    audit: str
    """The text of ``minireg/audit.json``: the record and the version's events, whole."""
    params: dict[str, str]
    """The run's params, each fitted to MLflow's limit."""
    description: str
    """The model version's description, fitted to MLflow's limit."""
    shortened: tuple[str, ...] = ()
    """The fields MLflow holds shortened (``description``, ``param.K``, ``tag.K``), sorted."""
    tagged: frozenset[str] = frozenset()
    """Every key of your tags the trail ever set on the version (see :func:`stale_run_tags`)."""


@dataclass(frozen=True)
class ModelWant:
    """Everything MLflow should hold for one model: its versions in order and its aliases."""

    name: str
    versions: list[Wanted]
    aliases: dict[str, int]
    """alias -> minireg version."""


def ms(moment: str) -> int | None:
    """A recorded UTC time as MLflow's milliseconds, or None when it is empty or unreadable."""
    if not moment:
        return None
    try:
        return int(parse_moment(moment).timestamp() * 1000)
    except (InvalidInput, ValueError, OverflowError):
        return None


def mlflow_stage(stage: str) -> str | None:
    """MLflow's spelling of a stage, or None for a stage MLflow does not know."""
    for known in MLFLOW_STAGES:
        if known.casefold() == stage.casefold():
            return known
    return None


def _record_tags(rec: VersionRecord) -> dict[str, str]:
    return {
        "minireg.model": rec.model,
        "minireg.version": str(rec.version),
        "minireg.artifact": rec.artifact,
        "minireg.artifact_sha256": rec.artifact_sha256,
        "minireg.artifact_bytes": str(rec.artifact_bytes),
        "minireg.flavor": rec.flavor,
        "minireg.requirements_sha256": rec.requirements_sha256,
        "minireg.created_at": rec.created_at,
        "minireg.registered_by": rec.registered_by,
        "minireg.training_date": rec.training_date,
        "minireg.data_sha256": rec.data_sha256,
        "minireg.git_commit": rec.git_commit,
        "minireg.git_branch": rec.git_branch,
        "minireg.git_dirty": "" if rec.git_dirty is None else str(rec.git_dirty).lower(),
        "minireg.stage": rec.stage,
        "minireg.approved_by": rec.approved_by,
        "minireg.approved_at": rec.approved_at,
    }


def _transition_tags(events: Iterable[Event]) -> dict[str, str]:
    """When, by whom, approved by whom and why the version last entered each stage."""
    tags: dict[str, str] = {}
    for event in events:
        if event.action == "transition":
            stage = str(event.data.get("to", ""))
            tags[f"minireg.stage.{stage}.time"] = event.time
            tags[f"minireg.stage.{stage}.actor"] = event.actor
            tags[f"minireg.stage.{stage}.approver"] = event.approver
            tags[f"minireg.stage.{stage}.reason"] = event.reason
    return tags


def _ever_tagged(events: Iterable[Event]) -> frozenset[str]:
    """The keys of your tags that the version's events ever set (at registration or later)."""
    keys: set[str] = set()
    for event in events:
        if event.action == "register" and isinstance(event.data.get("tags"), dict):
            keys.update(str(key) for key in event.data["tags"])
        elif event.action == "tag" and "key" in event.data:
            keys.add(str(event.data["key"]))
    return frozenset(k for k in keys if not k.startswith(PREFIX))


def wanted(rec: VersionRecord, events: list[Event]) -> Wanted:
    """What MLflow should hold for ``rec``, given the events about that version."""
    tags = _record_tags(rec)
    tags.update(_transition_tags(events))
    user = {key: value for key, value in rec.tags.items() if not key.startswith(PREFIX)}
    tags.update(user)
    tags["minireg.tag_keys"] = ",".join(sorted(user))
    audit = json.dumps(
        {
            "format": "minireg-audit/1",
            "record": rec.to_dict(),
            "events": [e.to_dict() for e in events],
        },
        indent=2,
        ensure_ascii=False,
    )
    tags["minireg.events"] = str(len(events))
    tags["minireg.audit_sha256"] = sha256_hex(canonical_json([e.to_dict() for e in events]))
    shortened: list[str] = []
    present = {key: value for key, value in tags.items() if value != ""}
    clean = fit_values("tag", present, VERSION_TAG_MAX, shortened)
    params = fit_values("param", rec.params, PARAM_MAX, shortened)
    description = fit(rec.description, DESCRIPTION_MAX)
    if description != rec.description:
        shortened.append("description")
    clean.update(mark(shortened, VERSION_TAG_MAX))
    return Wanted(
        rec,
        clean,
        mlflow_stage(rec.stage) or "None",
        audit,
        params=params,
        description=description,
        shortened=tuple(sorted(shortened)),
        tagged=_ever_tagged(events),
    )


def wanted_aliases(
    records: Sequence[VersionRecord], *, stages: Sequence[str], initial: str, archive: str
) -> dict[str, int]:
    """alias -> minireg version: minireg's aliases, then one lowercase alias per held stage.

    The ``initial`` and ``archive`` stages get no alias (many versions sit
    there); a minireg alias of the same name wins over a stage alias.
    """
    out: dict[str, int] = {}
    for rec in records:
        for alias in rec.aliases:
            out[alias] = rec.version
    for stage in stages:
        if stage in (initial, archive):
            continue
        holders = [rec.version for rec in records if rec.stage == stage]
        alias = stage.lower()
        if not holders or alias in out:
            continue
        try:
            check_alias(alias)
        except InvalidInput:
            continue
        out[alias] = max(holders)
    return out


def select_models(
    records: Iterable[VersionRecord], models: Sequence[str] | None
) -> dict[str, list[VersionRecord]]:
    """model -> its versions in version order, for ``models`` (default: every model, sorted).

    Raises:
        NotFound: a named model has no versions.
    """
    grouped: dict[str, list[VersionRecord]] = {}
    for rec in sorted(records, key=lambda r: (r.model, r.version)):
        grouped.setdefault(rec.model, []).append(rec)
    names = list(dict.fromkeys(models)) if models else sorted(grouped)
    for name in names:
        if name not in grouped:
            raise NotFound(
                f"Model {name!r} is not in the registry; `minireg list` shows the models."
            )
    return {name: grouped[name] for name in names}


def wanted_models(
    selected: dict[str, list[VersionRecord]],
    events: Iterable[Event],
    *,
    stages: Sequence[str],
    initial: str,
    archive: str,
) -> list[ModelWant]:
    """What MLflow should hold for each selected model (see :func:`select_models`)."""
    by_version: dict[tuple[str, int], list[Event]] = {}
    for event in events:
        if event.version is not None:
            by_version.setdefault((event.model, event.version), []).append(event)
    return [
        ModelWant(
            name,
            [wanted(rec, by_version.get((name, rec.version), [])) for rec in records],
            wanted_aliases(records, stages=stages, initial=initial, archive=archive),
        )
        for name, records in selected.items()
    ]


def run_tags(want: Wanted) -> dict[str, str]:
    """The tags of a version's new run: identity and provenance, nothing that moves later.

    Your tags are not among them: ``minireg tag`` changes them after the run
    exists, and the model version carries them, kept in step by every export.
    """
    rec = want.rec
    own = {
        key: value
        for key, value in want.tags.items()
        if key.startswith(PREFIX) and key not in _MOVING and not key.startswith(_STAGE)
    }
    tags = {
        "mlflow.runName": f"{rec.model} v{rec.version}",
        "mlflow.user": rec.registered_by,
        "mlflow.source.git.commit": rec.git_commit,
        "mlflow.source.git.branch": rec.git_branch,
        **own,
        **mark([f for f in want.shortened if f.startswith("param.")], RUN_TAG_MAX),
    }
    return {k: v for k, v in tags.items() if v}


def stale_run_tags(want: Wanted, held: dict[str, str]) -> list[str]:
    """Your tags that an earlier export copied onto the run: the run's keys to delete.

    Only keys that minireg itself set on the version (per its trail) are
    named, never MLflow's own (``mlflow.*``) or a tag added in MLflow by hand.
    """
    return sorted(k for k in want.tagged if k in held and not k.startswith("mlflow."))


def logged_model_tags(want: Wanted) -> dict[str, str]:
    """The tags of a version's logged model: which minireg version it is, and whose."""
    rec = want.rec
    tags = {
        "minireg.model": rec.model,
        "minireg.version": str(rec.version),
        "minireg.artifact_sha256": rec.artifact_sha256,
        "mlflow.user": rec.registered_by,
        "mlflow.source.git.commit": rec.git_commit,
    }
    return {k: v for k, v in tags.items() if v}


def finish_tags(source: str, model_id: str | None, note: str) -> dict[str, str]:
    """The tags that mark a run's work done: how its model was logged, and why as files."""
    tags = {"minireg.logged_model": source}
    if model_id:
        tags["minireg.model_id"] = model_id
    if note:
        tags["minireg.note"] = fit(note, RUN_TAG_MAX)
    return tags


def requirement_lines(text: str) -> list[str]:
    """Pinned requirements as lines MLflow's parser accepts (no comments, no options)."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("-")]
