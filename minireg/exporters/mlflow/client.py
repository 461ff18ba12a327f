"""The exporter's one door to MLflow: the only module of minireg that imports mlflow.

mlflow is imported inside the functions, never at module level, so importing
this module costs nothing. Each function is a thin step over ``MlflowClient``
or ``mlflow.sklearn`` (search, create, set, delete, log), made through a
:class:`Session` that times every call. Credentials travel in MLflow's
environment variables, never in a URI, and MLflow's failures become
:class:`~minireg.errors.RemoteError` (exit 7) with the credentials removed.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from minireg.errors import InvalidInput, RemoteError
from minireg.exporters.mlflow.plan import Found, FoundRun, FoundVersion, found_model, is_version_of
from minireg.exporters.mlflow.tracking import detail, redact_uri, secrets, split_credentials

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from minireg.domain.records import VersionRecord

INSTALL = "pip install 'minireg[mlflow]'"
_ENV = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_URI")
_BATCH = 100

T = TypeVar("T")


# -- the session ---------------------------------------------------------------


class Session:
    """An MlflowClient whose calls are timed, so minireg's own overhead can be measured."""

    def __init__(self, make: Callable[[], MlflowClient]) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.by_call: dict[str, float] = {}
        # Building the client opens the store (a new SQLite database is migrated here).
        self.client = self.call(make)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)``, its time added to the totals under ``fn``'s name."""
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.perf_counter() - start
            self.seconds += spent
            self.calls += 1
            name = getattr(fn, "__name__", "call")
            self.by_call[name] = self.by_call.get(name, 0.0) + spent


def import_mlflow() -> Any:
    """The mlflow module. Raises InvalidInput, naming the install command, without it."""
    try:
        import mlflow
    except ImportError as exc:
        raise InvalidInput(
            f"Exporting to MLflow needs MLflow; install it with `{INSTALL}`."
        ) from exc
    return mlflow


@contextlib.contextmanager
def _restored(mlflow: Any) -> Iterator[None]:
    """Put back MLflow's global tracking URI, the credential variables and MLflow's log level."""
    saved_env = {key: os.environ.get(key) for key in _ENV}
    saved_uri = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    logger = logging.getLogger("mlflow")
    saved_level = logger.level
    try:
        yield
    finally:
        # The URI first: setting it can write MLFLOW_TRACKING_URI, restored next.
        mlflow.set_tracking_uri(saved_uri)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        logger.setLevel(saved_level)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """MLflow's own warnings that say nothing to a minireg user, silenced."""
    with warnings.catch_warnings():
        # MLflow's SQL store triggers this SQLAlchemy 2.1 deprecation on import.
        warnings.filterwarnings("ignore", message=r"The ``noload`` loader strategy is deprecated")
        # mlflow.sklearn.log_model inspects its own predict wrapper's type hints.
        warnings.filterwarnings(
            "ignore",
            category=UserWarning,
            message=r"(\x1b\[[0-9;]*m)?Any type hint is inferred as AnyType",
        )
        yield


@contextlib.contextmanager
def session(uri: str) -> Iterator[Session]:
    """An MLflow client for ``uri``; credentials travel in MLflow's env vars, never in the URI.

    MLflow's global tracking URI, its log level and the credential variables
    are restored afterwards, so a Python caller's own MLflow setup is untouched.
    """
    mlflow = import_mlflow()
    from mlflow import MlflowClient

    clean, user, password = split_credentials(uri)
    with _restored(mlflow):
        if user is not None:
            os.environ["MLFLOW_TRACKING_USERNAME"] = user
        if password is not None:
            os.environ["MLFLOW_TRACKING_PASSWORD"] = password
        # MLflow's INFO and WARNING lines (links to runs, the pickle caution, the
        # wait for registration) are noise in minireg's output.
        logging.getLogger("mlflow").setLevel(logging.ERROR)
        with _quiet():
            mlflow.set_tracking_uri(clean)

            def open_store() -> MlflowClient:
                client = MlflowClient(tracking_uri=clean, registry_uri=clean)
                # Stores open lazily: open it here (a new database is migrated now),
                # so an unreachable MLflow shows before anything is planned.
                client.search_experiments(max_results=1)
                return client

            yield Session(open_store)


# -- MLflow's failures --------------------------------------------------------


def remote_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "MLflow is unreachable or failing"."""
    from mlflow.exceptions import MlflowException

    found: list[type[BaseException]] = [MlflowException, OSError]
    try:
        import requests

        found.append(requests.exceptions.RequestException)
    except ImportError:
        pass
    try:
        import sqlalchemy.exc

        found.append(sqlalchemy.exc.SQLAlchemyError)
    except ImportError:
        pass
    return tuple(found)


@dataclass
class Tally:
    """How far an export got: what a failure message reports."""

    total: int
    done: int = 0
    writing: bool = False
    """False while only reading: a failure then means nothing was exported."""


@contextlib.contextmanager
def remote_failures(uri: str, tally: Tally) -> Iterator[None]:
    """Turn MLflow's failures inside the block into RemoteError, saying how far it got.

    Raises:
        RemoteError: MLflow was unreachable or failed; re-running resumes.
    """
    shown, hidden = redact_uri(uri), secrets(uri)
    remote = remote_errors()
    try:
        yield
    except remote as exc:
        if not tally.writing:
            raise RemoteError(
                f"MLflow at {shown} is unreachable or failing ({detail(exc, hidden)}); "
                "nothing was exported: check the tracking URI and re-run."
            ) from None
        raise RemoteError(
            f"MLflow at {shown} failed after {tally.done} of {tally.total} versions were "
            f"exported ({detail(exc, hidden)}); re-run the same command to resume."
        ) from None


def _not_found(exc: BaseException) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST"


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


def read_model(s: Session, model: str) -> Found:
    """What MLflow holds for ``model``: nothing, or its aliases and minireg's versions."""
    try:
        rm = s.call(s.client.get_registered_model, model)
    except Exception as exc:
        if _not_found(exc):
            return Found()
        raise
    aliases = {alias: int(number) for alias, number in (rm.aliases or {}).items()}
    managed = [a for a in (rm.tags or {}).get("minireg.aliases", "").split(",") if a]
    hits = sorted(_search(s, f"name = '{model}'"), key=_number)
    return found_model(aliases, managed, [_confirmed(s, model, mv) for mv in hits])


def lookup(s: Session, rec: VersionRecord) -> list[FoundVersion]:
    """The MLflow versions tagged as ``rec`` (normally none or one), lowest first."""
    query = (
        f"name = '{rec.model}' and tags.`minireg.version` = '{rec.version}' "
        f"and tags.`minireg.artifact_sha256` = '{rec.artifact_sha256}'"
    )
    hits = [_confirmed(s, rec.model, mv) for mv in _search(s, query)]
    return sorted((mv for mv in hits if is_version_of(mv, rec)), key=lambda mv: mv.number)


def version_runs(s: Session, experiment_id: str, rec: VersionRecord) -> list[FoundRun]:
    """The runs in ``experiment_id`` tagged as ``rec``."""
    query = (
        f"tags.`minireg.model` = '{rec.model}' and tags.`minireg.version` = '{rec.version}' "
        f"and tags.`minireg.artifact_sha256` = '{rec.artifact_sha256}'"
    )
    runs = s.call(s.client.search_runs, [experiment_id], query)
    return [FoundRun(run.info.run_id, run.info.status, dict(run.data.tags)) for run in runs]


def experiment_id(s: Session, name: str) -> str:
    """The id of experiment ``name``, created if missing.

    Raises:
        InvalidInput: the experiment exists but is deleted.
    """
    exp = s.call(s.client.get_experiment_by_name, name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            raise InvalidInput(
                f"MLflow experiment {name!r} is deleted; restore it or pass another --experiment."
            )
        return str(exp.experiment_id)
    return str(s.call(s.client.create_experiment, name))


# -- writing runs --------------------------------------------------------------


def delete_run(s: Session, run_id: str) -> None:
    s.call(s.client.delete_run, run_id)


def start_run(s: Session, experiment_id: str, start: int | None, tags: dict[str, str]) -> str:
    """A new run (its id), started at ``start`` (ms) with ``tags``."""
    run = s.call(s.client.create_run, experiment_id, start_time=start, tags=tags)
    return str(run.info.run_id)


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


def log_sklearn(
    s: Session, run_id: str, estimator: Any, requirements: list[str]
) -> tuple[str, str | None]:
    """Log a scikit-learn model into the run: (its model URI, its model id)."""
    # Importing MLflow's flavor module is MLflow's cost: time it with the calls.
    flavor = s.call(importlib.import_module, "mlflow.sklearn")
    info = s.call(
        flavor.log_model,
        estimator,
        name="model",
        run_id=run_id,
        # skops (MLflow's default) refuses custom classes on load; cloudpickle loads them.
        serialization_format="cloudpickle",
        pip_requirements=requirements,
    )
    return info.model_uri, info.model_id


def log_artifacts(s: Session, run_id: str, folder: Path, dest: str) -> None:
    s.call(s.client.log_artifacts, run_id, str(folder), dest)


def log_artifact(s: Session, run_id: str, path: Path, dest: str) -> None:
    s.call(s.client.log_artifact, run_id, str(path), dest)


def finish_run(s: Session, run_id: str, tags: dict[str, str]) -> None:
    """Tag the run as complete, then mark it FINISHED."""
    from mlflow.entities import RunTag

    s.call(s.client.log_batch, run_id, tags=[RunTag(k, v) for k, v in tags.items()])
    # update_run, not set_terminated: that one also prints run links on stdout.
    s.call(s.client.update_run, run_id, "FINISHED")


# -- writing the model registry ------------------------------------------------


def create_model(s: Session, name: str, description: str) -> None:
    s.call(
        s.client.create_registered_model,
        name,
        tags={"minireg.model": name},
        description=description,
    )


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
    s.call(s.client.delete_model_version, model, str(number))


def set_version_tag(s: Session, model: str, number: int, key: str, value: str) -> None:
    s.call(s.client.set_model_version_tag, model, str(number), key, value)


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
    s.call(s.client.set_registered_model_alias, model, alias, str(number))


def delete_alias(s: Session, model: str, alias: str) -> None:
    s.call(s.client.delete_registered_model_alias, model, alias)


def set_model_tag(s: Session, model: str, key: str, value: str) -> None:
    s.call(s.client.set_registered_model_tag, model, key, value)
