"""Carry out an export plan in MLflow: each model's versions in version order, resumable.

This module never opens the registry: it is given what MLflow should hold
(:class:`~minireg.exporters.mlflow.plan.ModelWant`) and a :class:`Files` that
reaches a version's artifact, its requirements and its loaded model. It talks
to MLflow only through :mod:`minireg.exporters.mlflow.client`.

Resuming: a version MLflow already holds (found by its ``minireg.*`` tags) is
brought in line, never created again; a finished run of an interrupted export
is reused and an unfinished one deleted; a create that landed twice (the REST
client retries a request whose answer was lost) keeps its lowest twin.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minireg.domain.records import VersionRecord
from minireg.errors import InvalidInput, Unsafe
from minireg.exporters.mlflow import client, tracking
from minireg.exporters.mlflow.client import Session
from minireg.exporters.mlflow.plan import (
    AUDIT_FILE,
    LOADABLE,
    Found,
    ModelWant,
    Step,
    VersionDiff,
    Wanted,
    alias_changes,
    check_identity,
    diff_version,
    finish_tags,
    ms,
    plan_model,
    requirement_lines,
    run_tags,
)
from minireg.exporters.mlflow.result import (
    ExportResult,
    Progress,
    VersionExport,
    all_new,
    entry,
    note_aliases,
)

Advance = Callable[[VersionExport], None]


@dataclass(frozen=True)
class Files:
    """How the export reaches a version's files, given by the caller that owns the registry."""

    artifact_path: Callable[[VersionRecord], Path]
    """The local path of a version's artifact (a file, or a folder of files)."""
    object_path: Callable[[str], Path]
    """The local path of a stored object by sha256 (a version's pinned requirements)."""
    load: Callable[[VersionRecord], Any]
    """The version's model, deserialized by its flavor after its sha256 is checked."""


# -- a version's run -----------------------------------------------------------


def _requirements(files: Files, rec: VersionRecord) -> list[str]:
    """The pinned requirements of a version, as lines MLflow's parser accepts."""
    if not rec.requirements_sha256:
        return []
    path = files.object_path(rec.requirements_sha256)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return requirement_lines(text)


def _estimator(files: Files, rec: VersionRecord) -> tuple[Any, str]:
    """The scikit-learn estimator of a version if it is one that loads here, else a note."""
    if rec.is_dir or rec.flavor not in LOADABLE:
        return None, ""
    try:
        obj = files.load(rec)
    except Unsafe as exc:
        return None, f"logged as files: {exc.message}"
    except InvalidInput as exc:
        return None, f"logged as files: {exc.message}"
    try:
        from sklearn.base import BaseEstimator
    except ImportError:
        return None, "logged as files: scikit-learn is not installed"
    if not isinstance(obj, BaseEstimator):
        return None, f"logged as files: a {type(obj).__name__} is not a scikit-learn model"
    return obj, ""


def _log_model(
    s: Session, files: Files, rec: VersionRecord, run_id: str
) -> tuple[str, str | None, str]:
    """Log the version's model into the run: (model source, model id, note)."""
    estimator, note = _estimator(files, rec)
    if estimator is not None:
        source, model_id = client.log_sklearn(s, run_id, estimator, _requirements(files, rec))
        return source, model_id, note
    path = files.artifact_path(rec)
    if path.is_dir():
        client.log_artifacts(s, run_id, path, f"artifact/{rec.artifact.rstrip('/')}")
    else:
        client.log_artifact(s, run_id, path, "artifact")
    if rec.requirements_sha256:
        req = files.object_path(rec.requirements_sha256)
        text = req.read_text(encoding="utf-8", errors="replace") if req.is_file() else ""
        client.log_text(s, run_id, text, "minireg/requirements.txt")
    # Through a server the source must be inside the run's artifacts.
    return f"runs:/{run_id}/artifact", None, note


def _log_version_run(
    s: Session, files: Files, want: Wanted, experiment_id: str
) -> tuple[str, str, str | None, str]:
    """One finished MLflow run for a version: (run id, model source, model id, note).

    A finished run of an earlier, interrupted export is reused; an unfinished
    one is deleted first, so a version never ends up with two runs.
    """
    rec = want.rec
    for run in client.version_runs(s, experiment_id, rec):
        if run.reusable:
            tags = run.tags
            reused = tags.get("minireg.model_id") or None
            return run.run_id, tags["minireg.logged_model"], reused, tags.get("minireg.note", "")
        client.delete_run(s, run.run_id)
    start = ms(rec.created_at)
    run_id = client.start_run(s, experiment_id, start, run_tags(want))
    client.log_values(s, run_id, rec.metrics, rec.params, start or int(time.time() * 1000))
    client.log_text(s, run_id, want.audit, AUDIT_FILE)
    source, model_id, note = _log_model(s, files, rec, run_id)
    client.finish_run(s, run_id, finish_tags(source, model_id, note))
    return run_id, source, model_id, note


# -- a version -----------------------------------------------------------------


def _sync_version(s: Session, want: Wanted, diff: VersionDiff) -> None:
    """Move an existing MLflow version's tags, description and stage to match minireg."""
    model, number = want.rec.model, diff.number
    for key, value in diff.set_tags.items():
        client.set_version_tag(s, model, number, key, value)
    for key in diff.delete_tags:
        client.delete_version_tag(s, model, number, key)
    if diff.description is not None:
        client.set_description(s, model, number, diff.description)
    if diff.stage is not None:
        client.transition(s, model, number, diff.stage)
    if diff.audit_run:
        client.log_text(s, diff.audit_run, want.audit, AUDIT_FILE)


def _create_version(s: Session, files: Files, want: Wanted, experiment_id: str) -> tuple[int, str]:
    """Create the MLflow version of ``want`` unless one already exists; (number, note)."""
    rec = want.rec
    existing = client.lookup(s, rec)
    if existing:
        _sync_version(s, want, diff_version(want, existing[0]))
        return existing[0].number, ""
    run_id, source, model_id, note = _log_version_run(s, files, want, experiment_id)
    number = client.create_version(
        s,
        rec.model,
        source,
        run_id=run_id,
        tags=want.tags,
        description=rec.description or None,
        model_id=model_id,
    )
    # The REST client retries a request whose answer was lost, so one create can
    # land twice: keep the lowest version carrying these tags, delete the others.
    twins = client.lookup(s, rec)
    if len(twins) > 1:
        number = twins[0].number
        for twin in twins[1:]:
            client.delete_version(s, rec.model, twin.number)
    if want.stage != "None":
        client.transition(s, rec.model, number, want.stage)
    return number, note


def _carry_out(
    s: Session,
    files: Files,
    model: ModelWant,
    step: Step,
    experiment_id: str,
    dry_run: bool,
) -> tuple[int | None, VersionExport]:
    """Do one step of a model's plan: (the MLflow version, the result row)."""
    if step.found is not None:
        if step.diff is not None and step.changes and not dry_run:
            _sync_version(s, step.want, step.diff)
        number = step.found.number
        return number, entry(step.want, model.aliases, step.action, number, step.changes)
    if dry_run:
        return None, entry(step.want, model.aliases, "create", None, ["new"])
    number, note = _create_version(s, files, step.want, experiment_id)
    row = entry(step.want, model.aliases, "create", number, ["new"])
    if note:
        row.note, row.logged_as = note, "artifact"
    return number, row


# -- a model -------------------------------------------------------------------


def _sync_aliases(
    s: Session, model: ModelWant, found: Found, mapping: dict[int, int | None]
) -> None:
    to_set, to_delete = alias_changes(model.aliases, found, mapping)
    for alias, number in to_set.items():
        if number > 0:
            client.set_alias(s, model.name, alias, number)
    for alias in to_delete:
        client.delete_alias(s, model.name, alias)
    managed = ",".join(sorted(model.aliases))
    if managed != ",".join(sorted(found.managed)):
        client.set_model_tag(s, model.name, "minireg.aliases", managed)


def _export_model(
    s: Session,
    files: Files,
    model: ModelWant,
    found: Found,
    *,
    experiment_id: str,
    dry_run: bool,
    advance: Advance,
    tool: str,
) -> dict[int, int | None]:
    """Export one model's versions in version order, then move its aliases.

    Returns:
        minireg version -> MLflow version (None for a version a dry run would create).
    """
    if not dry_run and not found.exists:
        client.create_model(s, model.name, f"Exported from the minireg registry by {tool}.")
    mapping: dict[int, int | None] = {}
    for step in plan_model(model, found):
        number, row = _carry_out(s, files, model, step, experiment_id, dry_run)
        mapping[step.want.rec.version] = number
        advance(row)
    if not dry_run:
        for number in found.duplicates:
            client.delete_version(s, model.name, number)
        _sync_aliases(s, model, found, mapping)
    return mapping


# -- the export ----------------------------------------------------------------


def export(
    models: list[ModelWant],
    tracking_uri: str,
    files: Files,
    *,
    experiment: str,
    dry_run: bool,
    progress: Progress | None,
    tool: str,
) -> ExportResult:
    """Make MLflow at ``tracking_uri`` hold ``models``; see :func:`export_mlflow`.

    ``tool`` names minireg in the description of each model it creates. The
    result's ``seconds`` is left to the caller, who knows when the work began.

    Raises:
        InvalidInput: MLflow is not installed, or the experiment is deleted.
        Refused: MLflow holds a version tagged as a minireg version with another artifact.
        RemoteError: MLflow is unreachable or failed midway; re-running resumes.
    """
    client.import_mlflow()
    result = ExportResult(tracking.redact_uri(tracking_uri), experiment, dry_run, [])
    if dry_run and tracking.sqlite_missing(tracking_uri):
        # Planning must not create the database: everything would be new.
        result.versions.extend(all_new(models))
        return result
    tracking.check_reachable(tracking_uri)
    tally = client.Tally(total=sum(len(model.versions) for model in models))

    def advance(row: VersionExport) -> None:
        result.versions.append(row)
        tally.done += 1
        if progress is not None:
            progress(tally.done, tally.total)

    with client.remote_failures(tracking_uri, tally), client.session(tracking_uri) as s:
        found = {model.name: client.read_model(s, model.name) for model in models}
        # Refuse before writing anything if MLflow holds another registry's versions.
        for model in models:
            check_identity(model, found[model.name])
        tally.writing = not dry_run
        experiment_id = "" if dry_run else client.experiment_id(s, experiment)
        for model in models:
            have = found[model.name]
            mapping = _export_model(
                s,
                files,
                model,
                have,
                experiment_id=experiment_id,
                dry_run=dry_run,
                advance=advance,
                tool=tool,
            )
            note_aliases(result, model, have, mapping)
        result.mlflow_seconds = s.seconds
        result.mlflow_calls = s.calls
        result.mlflow_by_call = dict(s.by_call)
    return result
