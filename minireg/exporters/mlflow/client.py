"""The exporter's calls to MLflow: with :mod:`.session`, the only modules that import mlflow.

mlflow is imported inside the functions, never at module level, so importing
this module costs nothing. Each function is a thin step over ``MlflowClient``
or ``mlflow.sklearn`` (search, create, set, delete, log), made through a
:class:`~.session.Session` that times every call. Where exports running at the
same time can race, a step says what it tolerates: a create that finds its
object made by the other export re-reads it, a delete that finds it gone is done.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minireg.errors import InvalidInput
from minireg.exporters.mlflow.plan import Found, FoundRun, FoundVersion, found_model, is_version_of
from minireg.exporters.mlflow.session import Session, already_exists, error_code, not_found

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from minireg.domain.records import VersionRecord

_BATCH = 100
# What MLflow's SQL stores answer when two writers insert the same row at the same moment.
_COLLISIONS = ("BAD_REQUEST", "INTERNAL_ERROR", "RESOURCE_ALREADY_EXISTS")


def _set(s: Session, fn: Callable[..., object], *args: str) -> None:
    """An idempotent set, sent once more if another writer's identical set got in its way.

    MLflow's SQL stores set a tag or an alias by reading, then inserting: two
    exports setting the same one at the same moment can collide on the unique
    row (``UNIQUE constraint failed``). Sent again, the set finds the row and
    updates it.
    """
    try:
        s.call(fn, *args)
    except Exception as exc:
        if error_code(exc) not in _COLLISIONS:
            raise
        s.call(fn, *args)


# -- reading -------------------------------------------------------------------


def _number(mv: ModelVersion) -> int:
    """MLflow gives ``mv.version`` as an int from SQL stores and a str through REST."""
    return int(mv.version)


def _found_version(mv: ModelVersion) -> FoundVersion:
    return FoundVersion(
        number=_number(mv),
        tags=dict(mv.tags or {}),
        description=mv.description or "",
        stage=mv.current_stage or "None",
        run_id=mv.run_id or "",
    )


def _search(s: Session, query: str) -> list[ModelVersion]:
    found: list[ModelVersion] = []
    token = None
    while True:
        page = s.call(s.client.search_model_versions, query, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found


def _confirmed(s: Session, model: str, mv: ModelVersion) -> FoundVersion:
    """Search results can omit tags: ask for the version itself when they are missing."""
    if not (mv.tags and "minireg.version" in mv.tags):
        mv = s.call(s.client.get_model_version, model, str(mv.version))
    return _found_version(mv)


def _runs(s: Session, experiment_id: str, query: str) -> list[FoundRun]:
    """The active runs of an experiment that match ``query``, every page."""
    found: list[FoundRun] = []
    token = None
    while True:
        page = s.call(
            s.client.search_runs, [experiment_id], query, max_results=1000, page_token=token
        )
        found.extend(FoundRun(r.info.run_id, r.info.status, dict(r.data.tags)) for r in page)
        token = page.token
        if not token:
            return found


def read_model(s: Session, model: str, experiment_id: str | None) -> Found:
    """What MLflow holds for ``model``: nothing, or its aliases, minireg's versions and runs.

    The runs are read from ``experiment_id`` (none when the experiment does not exist yet).
    """
    try:
        rm = s.call(s.client.get_registered_model, model)
    except Exception as exc:
        if not_found(exc):
            return Found()
        raise
    aliases = {alias: int(number) for alias, number in (rm.aliases or {}).items()}
    managed = [a for a in (rm.tags or {}).get("minireg.aliases", "").split(",") if a]
    hits = sorted(_search(s, f"name = '{model}'"), key=_number)
    runs = _runs(s, experiment_id, f"tags.`minireg.model` = '{model}'") if experiment_id else []
    return found_model(aliases, managed, [_confirmed(s, model, mv) for mv in hits], runs)


def read_aliases(s: Session, model: str) -> tuple[dict[str, int], list[str]]:
    """A registered model's aliases (alias -> MLflow version) and those minireg manages."""
    rm = s.call(s.client.get_registered_model, model)
    aliases = {alias: int(number) for alias, number in (rm.aliases or {}).items()}
    return aliases, [a for a in (rm.tags or {}).get("minireg.aliases", "").split(",") if a]


def lookup(s: Session, rec: VersionRecord) -> list[FoundVersion]:
    """The MLflow versions tagged as ``rec`` (normally none or one), lowest first."""
    query = (
        f"name = '{rec.model}' and tags.`minireg.version` = '{rec.version}' "
        f"and tags.`minireg.artifact_sha256` = '{rec.artifact_sha256}'"
    )
    hits = [_confirmed(s, rec.model, mv) for mv in _search(s, query)]
    return sorted((mv for mv in hits if is_version_of(mv, rec)), key=lambda mv: mv.number)


def version_runs(s: Session, experiment_id: str, rec: VersionRecord) -> list[FoundRun]:
    """The active runs in ``experiment_id`` tagged as ``rec``."""
    query = (
        f"tags.`minireg.model` = '{rec.model}' and tags.`minireg.version` = '{rec.version}' "
        f"and tags.`minireg.artifact_sha256` = '{rec.artifact_sha256}'"
    )
    return _runs(s, experiment_id, query)


def find_experiment(s: Session, name: str) -> str | None:
    """The id of experiment ``name``, None if there is none.

    Raises:
        InvalidInput: the experiment exists but is deleted.
    """
    exp = s.call(s.client.get_experiment_by_name, name)
    if exp is None:
        return None
    if exp.lifecycle_stage == "deleted":
        raise InvalidInput(
            f"MLflow experiment {name!r} is deleted; restore it or pass another --experiment."
        )
    return str(exp.experiment_id)


def experiment_id(s: Session, name: str) -> str:
    """The id of experiment ``name``, created if missing (or made meanwhile by another export).

    Raises:
        InvalidInput: the experiment exists but is deleted.
    """
    found = find_experiment(s, name)
    if found is not None:
        return found
    try:
        return str(s.call(s.client.create_experiment, name))
    except Exception as exc:
        if not already_exists(exc):
            raise
    found = find_experiment(s, name)
    if found is None:
        raise InvalidInput(f"MLflow experiment {name!r} exists but cannot be read; re-run.")
    return found


# -- writing runs --------------------------------------------------------------


def start_run(s: Session, experiment_id: str, start: int | None, tags: dict[str, str]) -> str:
    """A new run (its id), started at ``start`` (ms) with ``tags``."""
    run = s.call(s.client.create_run, experiment_id, start_time=start, tags=tags)
    return str(run.info.run_id)


def set_run_tag(s: Session, run_id: str, key: str, value: str) -> None:
    s.call(s.client.set_tag, run_id, key, value)


def delete_run_tag(s: Session, run_id: str, key: str) -> None:
    """Delete a run's tag; one already gone is fine."""
    try:
        s.call(s.client.delete_tag, run_id, key)
    except Exception as exc:
        if not not_found(exc):
            raise


def set_run_status(s: Session, run_id: str, status: str) -> None:
    # update_run, not set_terminated: that one also prints run links on stdout.
    s.call(s.client.update_run, run_id, status)


def discard_run(s: Session, experiment_id: str, run_id: str) -> None:
    """Delete an abandoned run and the logged models it made; nothing stays ``RUNNING``.

    Another export may be deleting it too: whatever is already gone is fine.
    """
    found = s.call(
        s.client.search_logged_models, [experiment_id], filter_string=f"source_run_id = '{run_id}'"
    )
    for model in found:
        s.call(s.client.delete_logged_model, model.model_id)
    try:
        set_run_status(s, run_id, "KILLED")
    except Exception:
        # A deleted run is no longer active and cannot change status: that one is done.
        if s.call(s.client.get_run, run_id).info.lifecycle_stage != "deleted":
            raise
        return
    s.call(s.client.delete_run, run_id)


def log_values(
    s: Session,
    run_id: str,
    metrics: Mapping[str, float],
    params: Mapping[str, str],
    stamp: int,
) -> None:
    """Log metrics (at ``stamp``, step 0) and params, sorted by name, in batches."""
    from mlflow.entities import Metric, Param

    logged = [Metric(k, float(v), stamp, 0) for k, v in sorted(metrics.items())]
    values = [Param(k, v) for k, v in sorted(params.items())]
    for i in range(0, max(len(logged), len(values)), _BATCH):
        s.call(
            s.client.log_batch,
            run_id,
            metrics=logged[i : i + _BATCH],
            params=values[i : i + _BATCH],
        )


def log_text(s: Session, run_id: str, text: str, path: str) -> None:
    s.call(s.client.log_text, run_id, text, path)


def create_logged_model(
    s: Session,
    experiment_id: str,
    run_id: str,
    tags: dict[str, str],
    params: Mapping[str, str],
) -> str:
    """A new logged model of ``run_id`` in ``experiment_id`` (not MLflow's default): its id."""
    model = s.call(
        s.client.create_logged_model,
        experiment_id,
        name="model",
        source_run_id=run_id,
        tags=tags,
        params=dict(params) or None,
    )
    return str(model.model_id)


def log_sklearn(
    s: Session, run_id: str, model_id: str, estimator: Any, requirements: list[str]
) -> str:
    """Log a scikit-learn model into the logged model ``model_id`` of the run: its model URI."""
    # Importing MLflow's flavor module is MLflow's cost: time it with the calls.
    flavor = s.call(importlib.import_module, "mlflow.sklearn")
    info = s.call(
        flavor.log_model,
        estimator,
        name="model",
        run_id=run_id,
        model_id=model_id,
        # skops (MLflow's default) refuses custom classes on load; cloudpickle loads them.
        serialization_format="cloudpickle",
        pip_requirements=requirements,
    )
    return str(info.model_uri)


def log_artifacts(s: Session, run_id: str, folder: Path, dest: str) -> None:
    s.call(s.client.log_artifacts, run_id, str(folder), dest)


def log_artifact(s: Session, run_id: str, path: Path, dest: str) -> None:
    s.call(s.client.log_artifact, run_id, str(path), dest)


def set_run_tags(s: Session, run_id: str, tags: dict[str, str]) -> None:
    from mlflow.entities import RunTag

    s.call(s.client.log_batch, run_id, tags=[RunTag(k, v) for k, v in tags.items()])


# -- writing the model registry ------------------------------------------------


def create_model(s: Session, name: str, description: str) -> None:
    """Create the registered model; one created meanwhile by another export is fine."""
    try:
        s.call(
            s.client.create_registered_model,
            name,
            tags={"minireg.model": name},
            description=description,
        )
    except Exception as exc:
        if not already_exists(exc):
            raise


def create_version(
    s: Session,
    model: str,
    source: str,
    *,
    run_id: str,
    tags: dict[str, str],
    description: str | None,
    model_id: str | None,
) -> int:
    """A new MLflow version of ``model`` from ``source``: its number."""
    mv = s.call(
        s.client.create_model_version,
        model,
        source,
        run_id=run_id,
        tags=tags,
        description=description,
        model_id=model_id,
    )
    return _number(mv)


def delete_version(s: Session, model: str, number: int) -> None:
    """Delete an MLflow version; one already deleted (by another export) is fine."""
    try:
        s.call(s.client.delete_model_version, model, str(number))
    except Exception as exc:
        if not not_found(exc):
            raise


def set_version_tag(s: Session, model: str, number: int, key: str, value: str) -> None:
    _set(s, s.client.set_model_version_tag, model, str(number), key, value)


def delete_version_tag(s: Session, model: str, number: int, key: str) -> None:
    s.call(s.client.delete_model_version_tag, model, str(number), key)


def set_description(s: Session, model: str, number: int, description: str) -> None:
    s.call(s.client.update_model_version, model, str(number), description=description)


def transition(s: Session, model: str, number: int, stage: str) -> None:
    """Set an MLflow stage; without the (deprecated) API the stage lives on as tag and alias."""
    move = getattr(s.client, "transition_model_version_stage", None)
    if move is None:
        return
    with warnings.catch_warnings():
        # Deprecated since MLflow 2.9 but still honoured: the stage is what
        # `models:/NAME/Production` resolves, so serving code works unchanged.
        warnings.filterwarnings(
            "ignore", category=FutureWarning, message=r".*transition_model_version_stage"
        )
        s.call(move, model, str(number), stage, archive_existing_versions=False)


def set_alias(s: Session, model: str, alias: str, number: int) -> None:
    _set(s, s.client.set_registered_model_alias, model, alias, str(number))


def delete_alias(s: Session, model: str, alias: str) -> None:
    s.call(s.client.delete_registered_model_alias, model, alias)


def set_model_tag(s: Session, model: str, key: str, value: str) -> None:
    _set(s, s.client.set_registered_model_tag, model, key, value)
