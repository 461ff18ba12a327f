"""What MLflow should hold for a minireg registry, and how that differs from what it holds.

Pure: this module imports neither mlflow nor anything that touches the disk,
so every rule of the export can be tested on hand-made records and events:

- :func:`wanted_models` gives, per model, each version's tags, description,
  stage and audit trail (:class:`Wanted`) and the aliases MLflow should hold.
- :class:`Found` is what MLflow already holds for a model, as the client read it.
- :func:`plan_model` compares the two, version by version (:class:`Step`,
  :class:`VersionDiff`), and :func:`alias_changes` does the same for aliases.

The outcome's shapes (rows, counts, mapping, ``--json``) are in :mod:`.result`,
and the tracking URI's checks in :mod:`.tracking`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from minireg.domain.canonical import canonical_json, sha256_hex
from minireg.domain.names import check_alias
from minireg.domain.records import Event, VersionRecord
from minireg.domain.values import parse_moment
from minireg.errors import InvalidInput, NotFound, Refused

DEFAULT_EXPERIMENT = "minireg-export"
PREFIX = "minireg."
MLFLOW_STAGES = ("None", "Staging", "Production", "Archived")
AUDIT_FILE = "minireg/audit.json"
# MLflow's SQL stores keep tag values in a VARCHAR(5000).
TAG_MAX = 5000
LOADABLE = ("joblib", "pickle", "skops")
"""Flavors logged with ``mlflow.sklearn`` when they hold an estimator; others travel as files."""
_STAGE = "minireg.stage"
# Tags that change after a version is registered: they live on the model version, not the run.
_MOVING = (
    "minireg.approved_by",
    "minireg.approved_at",
    "minireg.events",
    "minireg.audit_sha256",
    "minireg.tag_keys",
)


# -- what MLflow should hold ---------------------------------------------------


@dataclass(frozen=True)
class Wanted:
    """The MLflow side of one minireg version: tags, description, stage, audit trail."""

    rec: VersionRecord
    tags: dict[str, str]
    stage: str
    """MLflow's stage: the version's stage in MLflow's spelling, or ``None`` if MLflow lacks it."""
    audit: str
    """The text of ``minireg/audit.json``: the record and the version's events."""


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


def cut(text: str) -> str:
    """``text`` shortened to fit an MLflow tag value."""
    return text if len(text) <= TAG_MAX else text[: TAG_MAX - 1] + "…"


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


def wanted(rec: VersionRecord, events: list[Event]) -> Wanted:
    """What MLflow should hold for ``rec``, given the events about that version."""
    tags = _record_tags(rec)
    tags.update(_transition_tags(events))
    for key, value in rec.tags.items():
        if not key.startswith(PREFIX):
            tags[key] = value
    tags["minireg.tag_keys"] = ",".join(sorted(k for k in rec.tags if not k.startswith(PREFIX)))
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
    clean = {key: cut(value) for key, value in tags.items() if value != ""}
    return Wanted(rec, clean, mlflow_stage(rec.stage) or "None", audit)


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
    """The tags of a version's new run: identity and provenance, nothing that moves later."""
    rec = want.rec
    tags = {
        "mlflow.runName": f"{rec.model} v{rec.version}",
        "mlflow.user": rec.registered_by,
        "mlflow.source.git.commit": rec.git_commit,
        "mlflow.source.git.branch": rec.git_branch,
        # Stage, approval and audit move later and live on the model version,
        # which the export keeps in step.
        **{k: v for k, v in want.tags.items() if k not in _MOVING and not k.startswith(_STAGE)},
    }
    return {k: v for k, v in tags.items() if v}


def finish_tags(source: str, model_id: str | None, note: str) -> dict[str, str]:
    """The tags that mark a run complete: how its model was logged, and why as files."""
    tags = {"minireg.logged_model": source}
    if model_id:
        tags["minireg.model_id"] = model_id
    if note:
        tags["minireg.note"] = cut(note)
    return tags


def requirement_lines(text: str) -> list[str]:
    """Pinned requirements as lines MLflow's parser accepts (no comments, no options)."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("-")]


# -- what MLflow holds ---------------------------------------------------------


@dataclass(frozen=True)
class FoundVersion:
    """One MLflow model version, as the export compares it."""

    number: int
    """MLflow's version number."""
    tags: dict[str, str]
    description: str = ""
    stage: str = "None"
    run_id: str = ""


@dataclass(frozen=True)
class FoundRun:
    """An MLflow run tagged as a minireg version (left by this or an earlier export)."""

    run_id: str
    status: str
    tags: dict[str, str]

    @property
    def reusable(self) -> bool:
        """True for a finished run whose model was logged: an interrupted export's work."""
        return bool(self.tags.get("minireg.logged_model", "")) and self.status == "FINISHED"


@dataclass
class Found:
    """What MLflow already holds for one model."""

    exists: bool = False
    versions: dict[int, FoundVersion] = field(default_factory=dict)
    """minireg version -> the MLflow version tagged as it (the lowest, if several)."""
    duplicates: list[int] = field(default_factory=list)
    """MLflow versions that repeat a minireg version: left by a retried create."""
    aliases: dict[str, int] = field(default_factory=dict)
    """alias -> MLflow version."""
    managed: list[str] = field(default_factory=list)
    """The aliases an earlier export set (the model's ``minireg.aliases`` tag)."""


def found_model(
    aliases: dict[str, int], managed: list[str], versions: Iterable[FoundVersion]
) -> Found:
    """A registered model as found: its versions sorted out by their ``minireg.version`` tag.

    Versions without the tag are not minireg's and are ignored; a second
    version with the same tag is a duplicate.
    """
    found = Found(exists=True, aliases=aliases, managed=managed)
    for mv in sorted(versions, key=lambda v: v.number):
        tag = mv.tags.get("minireg.version", "")
        if not tag.isdigit():
            continue
        number = int(tag)
        if number in found.versions:
            found.duplicates.append(mv.number)
        else:
            found.versions[number] = mv
    return found


def is_version_of(mv: FoundVersion, rec: VersionRecord) -> bool:
    """True when MLflow's version carries ``rec``'s identity tags."""
    return (
        mv.tags.get("minireg.version") == str(rec.version)
        and mv.tags.get("minireg.artifact_sha256") == rec.artifact_sha256
    )


def check_identity(model: ModelWant, found: Found) -> None:
    """Refuse when MLflow holds, under a minireg version number, another artifact.

    Raises:
        Refused: the tracking URI holds another registry's versions of this model.
    """
    for want in model.versions:
        rec = want.rec
        mv = found.versions.get(rec.version)
        sha = mv.tags.get("minireg.artifact_sha256", "") if mv is not None else ""
        if mv is not None and sha and sha != rec.artifact_sha256:
            raise Refused(
                f"MLflow version {mv.number} of {rec.model} claims minireg version "
                f"{rec.version} but holds another artifact ({sha[:12]}…, here "
                f"{rec.artifact_sha256[:12]}…); export this registry to another tracking URI "
                "or model name."
            )


# -- the differences -----------------------------------------------------------


@dataclass(frozen=True)
class VersionDiff:
    """What to change on an existing MLflow version so it matches minireg."""

    number: int
    """The MLflow version to change."""
    set_tags: dict[str, str]
    delete_tags: list[str]
    description: str | None
    """The new description, or None when it already matches."""
    stage: str | None
    """The stage to move to, or None when it already matches."""
    stage_from: str
    audit_run: str
    """The run whose ``minireg/audit.json`` is out of date, or ``""``."""

    def changes(self) -> list[str]:
        """The differences as words: ``tag K``, ``untag K``, ``description``, ``stage A → B``."""
        out = [f"tag {key}" for key in self.set_tags]
        out.extend(f"untag {key}" for key in self.delete_tags)
        if self.description is not None:
            out.append("description")
        if self.stage is not None:
            out.append(f"stage {self.stage_from} → {self.stage}")
        return out


def diff_version(want: Wanted, mv: FoundVersion) -> VersionDiff:
    """What differs between an MLflow version and what minireg says it should be."""
    have = mv.tags
    to_set = {key: value for key, value in want.tags.items() if have.get(key) != value}
    stale = set(have.get("minireg.tag_keys", "").split(",")) - set(want.rec.tags) - {""}
    stale |= {k for k in have if k.startswith(PREFIX) and k not in want.tags}
    description = want.rec.description if mv.description != want.rec.description else None
    stage = want.stage if mv.stage.casefold() != want.stage.casefold() else None
    audit_moved = have.get("minireg.audit_sha256") != want.tags["minireg.audit_sha256"]
    return VersionDiff(
        number=mv.number,
        set_tags=to_set,
        delete_tags=sorted(stale),
        description=description,
        stage=stage,
        stage_from=mv.stage,
        audit_run=mv.run_id if audit_moved else "",
    )


@dataclass(frozen=True)
class Step:
    """One minireg version in a model's plan: create it, or bring its MLflow version in line."""

    want: Wanted
    found: FoundVersion | None
    diff: VersionDiff | None

    @property
    def action(self) -> str:
        """``create``, ``update`` or ``unchanged``."""
        if self.found is None:
            return "create"
        return "update" if self.changes else "unchanged"

    @property
    def changes(self) -> list[str]:
        """The differences as words; ``["new"]`` for a version to create."""
        return ["new"] if self.diff is None else self.diff.changes()


def plan_model(model: ModelWant, found: Found) -> list[Step]:
    """Each version of ``model`` in version order, with what MLflow lacks of it."""
    steps = []
    for want in model.versions:
        mv = found.versions.get(want.rec.version)
        steps.append(Step(want, mv, None if mv is None else diff_version(want, mv)))
    return steps


def alias_changes(
    wanted: dict[str, int], found: Found, mapping: dict[int, int | None]
) -> tuple[dict[str, int], list[str]]:
    """Aliases to set (alias -> MLflow version, -1 if not created yet) and managed ones to delete.

    ``mapping`` is minireg version -> MLflow version (None in a dry run for a new version).
    """
    to_set: dict[str, int] = {}
    for alias, number in wanted.items():
        target = mapping.get(number)
        if target is not None and found.aliases.get(alias) == target:
            continue
        to_set[alias] = target if target is not None else -1
    to_delete = [a for a in found.managed if a not in wanted and a in found.aliases]
    return to_set, to_delete
