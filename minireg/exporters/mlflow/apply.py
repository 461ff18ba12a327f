"""Carry out an export plan in MLflow: each model's versions in version order, resumable.

This module never opens the registry: it is given what MLflow should hold
(:class:`~minireg.exporters.mlflow.wanted.ModelWant`) and a :class:`Files` that
reaches a version's artifact, its requirements and its loaded model through
the registry's own reading API. It talks to MLflow only through
:mod:`minireg.exporters.mlflow.client`.

Resuming: a version MLflow already holds (found by its ``minireg.*`` tags) is
brought in line, never created again; a run left by an interrupted export is
deleted with its logged models, or finished when its version exists; a create
that landed twice (the REST client retries a request whose answer was lost)
keeps its lowest twin. Exports running at the same time share the work
version by version (:mod:`.claim`).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from minireg.domain.flavors import LOADABLE
from minireg.domain.records import VersionRecord
from minireg.errors import InvalidInput, Unsafe
from minireg.exporters.mlflow import client, tracking
from minireg.exporters.mlflow.claim import Claims
from minireg.exporters.mlflow.lease import Watch
from minireg.exporters.mlflow.limits import AUDIT_FILE
from minireg.exporters.mlflow.plan import (
    Found,
    FoundVersion,
    Step,
    VersionDiff,
    alias_changes,
    check_identity,
    diff_version,
    plan_model,
)
from minireg.exporters.mlflow.result import (
    ExportResult,
    Progress,
    VersionExport,
    all_new,
    entry,
    note_aliases,
)
from minireg.exporters.mlflow.session import (
    Session,
    Tally,
    import_mlflow,
    remote_failures,
    session,
)
from minireg.exporters.mlflow.wanted import (
    ModelWant,
    Wanted,
    finish_tags,
    logged_model_tags,
    ms,
    requirement_lines,
)

Advance = Callable[[VersionExport], None]
MEANWHILE = "created meanwhile by another export"


@dataclass(frozen=True)
class Files:
    """How the export reaches a version's files, given by the caller that owns the registry."""

    artifact_path: Callable[[VersionRecord], Path]
    """The local path of a version's artifact (a file, or a folder of files)."""
    requirements: Callable[[VersionRecord], str | None]
    """A version's pinned requirements, None when it has none."""
    load: Callable[[VersionRecord], Any]
    """The version's model, deserialized by its flavor after its sha256 is checked."""


# -- a version's model -----------------------------------------------------------


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


def _log_files(s: Session, files: Files, rec: VersionRecord, run_id: str) -> None:
    """Log the artifact as run files under ``artifact/``, by its registered name."""
    path = files.artifact_path(rec)
    if path.is_dir():
        client.log_artifacts(s, run_id, path, f"artifact/{rec.artifact.rstrip('/')}")
    else:
        # The store names a file by its sha256: MLflow takes a file's name from its path.
        with tempfile.TemporaryDirectory(prefix="minireg-export-") as tmp:
            named = Path(tmp) / Path(rec.artifact).name
            try:
                named.symlink_to(path)
            except OSError:
                shutil.copyfile(path, named)
            client.log_artifact(s, run_id, named, "artifact")
    text = files.requirements(rec)
    if text is not None:
        client.log_text(s, run_id, text, "minireg/requirements.txt")


def _log_model(
    s: Session, files: Files, want: Wanted, run_id: str, experiment_id: str
) -> tuple[str, str | None, str]:
    """Log the version's model into the run: (model source, model id, note)."""
    rec = want.rec
    estimator, note = _estimator(files, rec)
    if estimator is not None:
        # Made here, in the export's experiment: MLflow would file it under its default one.
        model_id = client.create_logged_model(
            s, experiment_id, run_id, logged_model_tags(want), want.params
        )
        text = files.requirements(rec)
        lines = requirement_lines(text) if text else []
        return client.log_sklearn(s, run_id, model_id, estimator, lines), model_id, note
    _log_files(s, files, rec, run_id)
    # Through a server the source must be inside the run's artifacts.
    return f"runs:/{run_id}/artifact", None, note


# -- a version -------------------------------------------------------------------


@dataclass(frozen=True)
class Made:
    """How a version to create came to be in MLflow."""

    number: int
    note: str = ""
    found: FoundVersion | None = None
    """The version, when another export created it meanwhile."""


def _keep_lowest(s: Session, rec: VersionRecord, number: int, run_id: str, exp: str) -> Made:
    """After a create: keep the lowest MLflow version tagged as ``rec``, remove my others.

    The REST client retries a request whose answer was lost, so one create can
    land twice (twins of one run). And should another export have created the
    version too, both keep the lowest number, and the other's run goes.
    """
    twins = client.lookup(s, rec) or [FoundVersion(number, {}, run_id=run_id)]
    lowest = twins[0]
    for twin in twins[1:]:
        if twin.run_id == run_id:
            client.delete_version(s, rec.model, twin.number)
    if lowest.run_id != run_id:
        client.discard_run(s, exp, run_id)
        return Made(lowest.number, found=lowest)
    return Made(lowest.number)


def _fill(s: Session, files: Files, want: Wanted, run_id: str, exp: str) -> Made:
    """The work of a claimed version: values, audit, model, the version, its stage."""
    rec = want.rec
    start = ms(rec.created_at)
    client.log_values(s, run_id, rec.metrics, want.params, start or int(time.time() * 1000))
    client.log_text(s, run_id, want.audit, AUDIT_FILE)
    source, model_id, note = _log_model(s, files, want, run_id, exp)
    client.set_run_tags(s, run_id, finish_tags(source, model_id, note))
    number = client.create_version(
        s,
        rec.model,
        source,
        run_id=run_id,
        tags=want.tags,
        description=want.description or None,
        model_id=model_id,
    )
    made = _keep_lowest(s, rec, number, run_id, exp)
    if made.found is not None:
        return made
    if want.stage != "None":
        client.transition(s, rec.model, made.number, want.stage)
    # Last: a finished run says its version is complete (see claim.py).
    client.set_run_status(s, run_id, "FINISHED")
    return Made(made.number, note)


def _create_version(s: Session, files: Files, want: Wanted, claims: Claims, found: Found) -> Made:
    """Create the MLflow version of ``want`` unless it exists or another export makes it."""
    look_first = bool(found.runs_of(want.rec))
    while True:
        existing = client.lookup(s, want.rec)
        if existing and claims.still_working(want, existing[0].run_id):
            continue
        if existing:
            return Made(existing[0].number, found=existing[0])
        mine = claims.claim(want, look_first)
        look_first = True
        if mine is None:
            continue
        with claims.holding(mine):
            return _fill(s, files, want, mine, claims.experiment_id)


def _sync_version(
    s: Session, want: Wanted, diff: VersionDiff, found: Found, claims: Claims | None
) -> None:
    """Move an existing MLflow version's tags, description, stage and run to match minireg."""
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
    for key in diff.run_untag:
        client.delete_run_tag(s, diff.run_id, key)
    run = found.runs.get(diff.run_id)
    # Left running by an export that stopped after creating the version; not one at work now.
    if diff.finish_run and run is not None and not (claims and claims.is_live(run)):
        client.set_run_status(s, diff.run_id, "FINISHED")


def _carry_out(
    s: Session,
    files: Files,
    model: ModelWant,
    found: Found,
    step: Step,
    claims: Claims | None,
) -> tuple[int | None, VersionExport]:
    """Do one step of a model's plan (``claims`` is None in a dry run): (MLflow version, row)."""
    want = step.want
    if step.found is not None:
        if step.diff is not None and step.changes and claims is not None:
            _sync_version(s, want, step.diff, found, claims)
        number = step.found.number
        return number, entry(want, model.aliases, step.action, number, step.changes)
    if claims is None:
        return None, entry(want, model.aliases, "create", None, ["new"])
    made = _create_version(s, files, want, claims, found)
    if made.found is not None:
        diff = diff_version(want, made.found)
        _sync_version(s, want, diff, found, claims)
        changes = diff.changes()
        row = entry(want, model.aliases, "update" if changes else "unchanged", made.number, changes)
        row.note = MEANWHILE
        return made.number, row
    row = entry(want, model.aliases, "create", made.number, ["new"])
    if made.note:
        row.note, row.logged_as = made.note, "artifact"
    return made.number, row


# -- a model ---------------------------------------------------------------------


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
    claims: Claims | None,
    advance: Advance,
    tool: str,
) -> tuple[dict[int, int | None], Found]:
    """Export one model's versions in version order, then move its aliases.

    Returns:
        minireg version -> MLflow version (None for a version a dry run would create),
        and what MLflow held, its aliases read again if another export worked meanwhile.
    """
    if claims is not None and not found.exists:
        client.create_model(s, model.name, f"Exported from the minireg registry by {tool}.")
    mapping: dict[int, int | None] = {}
    meanwhile = False
    for step in plan_model(model, found):
        number, row = _carry_out(s, files, model, found, step, claims)
        mapping[step.want.rec.version] = number
        meanwhile = meanwhile or row.note == MEANWHILE
        advance(row)
    if claims is not None:
        if meanwhile:
            aliases, managed = client.read_aliases(s, model.name)
            found = replace(found, aliases=aliases, managed=managed)
        for number in found.duplicates:
            client.delete_version(s, model.name, number)
        _sync_aliases(s, model, found, mapping)
    return mapping, found


# -- the export ------------------------------------------------------------------


def export(
    models: list[ModelWant],
    tracking_uri: str,
    files: Files,
    *,
    experiment: str,
    dry_run: bool,
    progress: Progress | None,
    tool: str,
    lease: float,
) -> ExportResult:
    """Make MLflow at ``tracking_uri`` hold ``models``; see :func:`export_mlflow`.

    ``tool`` names minireg in the description of each model it creates, and
    ``lease`` is how long (seconds) another export's silent claim stays live.
    The result's ``seconds`` is left to the caller, who knows when the work began.

    Raises:
        InvalidInput: MLflow is not installed, or the experiment is deleted.
        Refused: MLflow holds a version tagged as a minireg version with another artifact.
        RemoteError: MLflow is unreachable or failed midway; re-running resumes.
    """
    import_mlflow()
    result = ExportResult(tracking.redact_uri(tracking_uri), experiment, dry_run, [])
    if dry_run and tracking.sqlite_missing(tracking_uri):
        # Planning must not create the database: everything would be new.
        result.versions.extend(all_new(models))
        return result
    tracking.check_reachable(tracking_uri)
    tally = Tally(total=sum(len(model.versions) for model in models))

    def advance(row: VersionExport) -> None:
        result.versions.append(row)
        tally.done += 1
        if progress is not None:
            progress(tally.done, tally.total)

    with remote_failures(tracking_uri, tally), session(tracking_uri) as s:
        held = client.find_experiment(s, experiment)
        found = {model.name: client.read_model(s, model.name, held) for model in models}
        # Refuse before writing anything if MLflow holds another registry's versions.
        for model in models:
            check_identity(model, found[model.name])
        tally.writing = not dry_run
        claims = None
        if not dry_run:
            claims = Claims(s, client.experiment_id(s, experiment), Watch(lease))
        try:
            for model in models:
                have = found[model.name]
                mapping, have = _export_model(
                    s, files, model, have, claims=claims, advance=advance, tool=tool
                )
                note_aliases(result, model, have, mapping)
        finally:
            if claims is not None:
                claims.close()
        result.mlflow_seconds = s.seconds
        result.mlflow_calls = s.calls
        result.mlflow_by_call = dict(s.by_call)
    return result
