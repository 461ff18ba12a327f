"""Export a minireg registry to MLflow: the only module that imports mlflow.

Every version becomes one MLflow run (params, metrics, tags, the artifact
logged by flavor, the audit trail as ``minireg/audit.json``) and one
registered model version created from the logged model, carrying minireg's
identifiers as tags. Stages are set with ``transition_model_version_stage``
(MLflow deprecated it but still honours it), and aliases with
``set_registered_model_alias``: each minireg alias as it is, plus
``@production`` / ``@staging`` for the version holding each stage.

The export is idempotent and resumable: existing versions are found by their
``minireg.*`` tags, so a second run creates nothing, and a run that failed
midway picks up where it stopped. mlflow is imported inside the functions only.

Example:
    >>> from minireg.exporters import export_mlflow
    >>> result = export_mlflow(minireg.open_registry(), "sqlite:///mlflow.db")
    >>> result.mapping()["churn_predictor"]
    {1: 1, 2: 2, 3: 3}
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from minireg.domain.canonical import canonical_json, sha256_hex
from minireg.domain.names import check_alias
from minireg.domain.records import Event, VersionRecord
from minireg.errors import InvalidInput, NotFound, Refused, RemoteError, Unsafe
from minireg.inputs import parse_moment
from minireg.registry import TOOL, Registry

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

DEFAULT_EXPERIMENT = "minireg-export"
INSTALL = "pip install 'minireg[mlflow]'"
PREFIX = "minireg."
MLFLOW_STAGES = ("None", "Staging", "Production", "Archived")
AUDIT_FILE = "minireg/audit.json"
# MLflow's SQL stores keep tag values in a VARCHAR(5000).
_TAG_MAX = 5000
_SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql")
_LOADABLE = ("joblib", "pickle", "skops")
_STAGE = "minireg.stage"
_MOVING = (
    "minireg.approved_by",
    "minireg.approved_at",
    "minireg.events",
    "minireg.audit_sha256",
    "minireg.tag_keys",
)

Progress = Callable[[int, int], None]
"""Called with (versions done, versions in all) as the export goes."""

T = TypeVar("T")


# -- results -------------------------------------------------------------------


@dataclass
class VersionExport:
    """What the export did (or, in a dry run, would do) for one minireg version."""

    model: str
    version: int
    action: str
    """``create``, ``update`` or ``unchanged``."""
    mlflow_version: int | None
    stage: str
    aliases: list[str]
    changes: list[str] = field(default_factory=list)
    logged_as: str = "sklearn"
    """How the artifact travels: ``sklearn`` (loadable by flavor) or ``artifact`` (files)."""
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {
            "model": self.model,
            "version": self.version,
            "mlflow_version": self.mlflow_version,
            "action": self.action,
            "stage": self.stage,
            "aliases": list(self.aliases),
            "changes": list(self.changes),
            "logged_as": self.logged_as,
            "note": self.note,
        }


@dataclass
class ExportResult:
    """The plan (dry run) or the outcome of an export, version by version."""

    tracking_uri: str
    """The tracking URI with any user name and password removed."""
    experiment: str
    dry_run: bool
    versions: list[VersionExport]
    seconds: float = 0.0
    mlflow_seconds: float = 0.0
    """Time spent inside MLflow calls (the rest is minireg's own work)."""
    mlflow_calls: int = 0
    mlflow_by_call: dict[str, float] = field(default_factory=dict)
    """Seconds spent per MLflow function."""

    def count(self, action: str) -> int:
        """How many versions got ``action`` (create, update, unchanged)."""
        return sum(1 for v in self.versions if v.action == action)

    def mapping(self) -> dict[str, dict[int, int | None]]:
        """minireg version -> MLflow version, per model."""
        out: dict[str, dict[int, int | None]] = {}
        for v in self.versions:
            out.setdefault(v.model, {})[v.version] = v.mlflow_version
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {
            "tracking_uri": self.tracking_uri,
            "experiment": self.experiment,
            "dry_run": self.dry_run,
            "created": self.count("create"),
            "updated": self.count("update"),
            "unchanged": self.count("unchanged"),
            "versions": [v.to_dict() for v in self.versions],
        }


# -- tracking URIs and credentials ---------------------------------------------


def redact_uri(uri: str) -> str:
    """``uri`` with any ``user:password@`` replaced by ``***@``, safe to print or log."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return re.sub(r"//[^/@]*@", "//***@", uri)
    if "@" not in parts.netloc:
        return uri
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


def _split_credentials(uri: str) -> tuple[str, str | None, str | None]:
    """The URI without credentials, and the user name and password it carried."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri, None, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, unquote(user) or None, unquote(password) or None


def _check_uri(uri: str) -> str:
    """The URI's scheme if MLflow can take it as a tracking and registry store."""
    scheme = urlsplit(uri).scheme.split("+", 1)[0].lower() if "://" in uri else ""
    if scheme not in _SCHEMES:
        raise InvalidInput(
            f"Tracking URI {redact_uri(uri)!r} is not supported; use an MLflow server "
            "(http://host:5000) or a database such as sqlite:///mlflow.db."
        )
    return scheme


def _sqlite_missing(uri: str) -> bool:
    """True for a ``sqlite:///path`` whose file does not exist yet."""
    if not uri.lower().startswith("sqlite:///"):
        return False
    path = uri[len("sqlite:///") :].split("?", 1)[0]
    return path not in ("", ":memory:") and not Path(path).exists()


def _probe(clean_uri: str, timeout: float = 5.0) -> str | None:
    """Why an MLflow server cannot be reached at all, or None if something answers.

    MLflow's client retries a refused connection for minutes (its default
    backoff); one quick look at ``/health`` first lets an unreachable server
    fail fast. Anything that answers (even with an error or a TLS complaint)
    is left to MLflow to judge.
    """
    import socket
    import urllib.error
    import urllib.request

    url = clean_uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, (ConnectionError, socket.gaierror, TimeoutError, socket.timeout)):
            return f"{type(reason).__name__}: {reason}"
        return None
    except (ConnectionError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    except (OSError, ValueError):
        return None


# -- what MLflow should hold (pure) --------------------------------------------


@dataclass(frozen=True)
class _Wanted:
    """The MLflow side of one minireg version: tags, description, stage, audit trail."""

    rec: VersionRecord
    tags: dict[str, str]
    stage: str
    audit: str


def _ms(moment: str) -> int | None:
    if not moment:
        return None
    try:
        return int(parse_moment(moment).timestamp() * 1000)
    except (InvalidInput, ValueError, OverflowError):
        return None


def _mlflow_stage(stage: str) -> str | None:
    """MLflow's spelling of a stage, or None for a stage MLflow does not know."""
    for known in MLFLOW_STAGES:
        if known.casefold() == stage.casefold():
            return known
    return None


def _cut(text: str) -> str:
    return text if len(text) <= _TAG_MAX else text[: _TAG_MAX - 1] + "…"


def _wanted(rec: VersionRecord, events: list[Event]) -> _Wanted:
    tags: dict[str, str] = {
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
    for event in events:
        if event.action == "transition":
            stage = str(event.data.get("to", ""))
            tags[f"minireg.stage.{stage}.time"] = event.time
            tags[f"minireg.stage.{stage}.actor"] = event.actor
            tags[f"minireg.stage.{stage}.approver"] = event.approver
            tags[f"minireg.stage.{stage}.reason"] = event.reason
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
    clean = {key: _cut(value) for key, value in tags.items() if value != ""}
    return _Wanted(rec, clean, _mlflow_stage(rec.stage) or "None", audit)


def _wanted_aliases(registry: Registry, records: list[VersionRecord]) -> dict[str, int]:
    """alias -> minireg version: minireg's aliases, then one lowercase alias per held stage.

    The initial and archive stages get no alias (many versions sit there); a
    minireg alias of the same name wins over a stage alias.
    """
    out: dict[str, int] = {}
    for rec in records:
        for alias in rec.aliases:
            out[alias] = rec.version
    skip = {registry.config.initial_stage, registry.config.archive_stage}
    for stage in registry.config.stages:
        if stage in skip:
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


# -- the MLflow session ----------------------------------------------------------


class _Session:
    """An MlflowClient whose calls are timed, so minireg's own overhead can be measured."""

    def __init__(self, make: Callable[[], MlflowClient]) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.by_call: dict[str, float] = {}
        # Building the client opens the store (a new SQLite database is migrated here).
        self.client = self.call(make)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.perf_counter() - start
            self.seconds += spent
            self.calls += 1
            name = getattr(fn, "__name__", "call")
            self.by_call[name] = self.by_call.get(name, 0.0) + spent


def _import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError as exc:
        raise InvalidInput(
            f"Exporting to MLflow needs MLflow; install it with `{INSTALL}`."
        ) from exc
    return mlflow


@contextlib.contextmanager
def _session(uri: str) -> Iterator[_Session]:
    """An MLflow client for ``uri``; credentials travel in MLflow's env vars, never in the URI.

    MLflow's global tracking URI, its log level and the credential variables
    are restored afterwards, so a Python caller's own MLflow setup is untouched.
    """
    mlflow = _import_mlflow()
    from mlflow import MlflowClient

    clean, user, password = _split_credentials(uri)
    saved_env = {
        key: os.environ.get(key)
        for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_URI")
    }
    saved_uri = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    logger = logging.getLogger("mlflow")
    saved_level = logger.level
    try:
        if user is not None:
            os.environ["MLFLOW_TRACKING_USERNAME"] = user
        if password is not None:
            os.environ["MLFLOW_TRACKING_PASSWORD"] = password
        # MLflow's INFO and WARNING lines (links to runs, the pickle caution, the
        # wait for registration) are noise in minireg's output.
        logger.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            # MLflow's SQL store triggers this SQLAlchemy 2.1 deprecation on import.
            warnings.filterwarnings(
                "ignore", message=r"The ``noload`` loader strategy is deprecated"
            )
            # mlflow.sklearn.log_model inspects its own predict wrapper's type hints.
            warnings.filterwarnings(
                "ignore",
                category=UserWarning,
                message=r"(\x1b\[[0-9;]*m)?Any type hint is inferred as AnyType",
            )
            mlflow.set_tracking_uri(clean)

            def open_store() -> MlflowClient:
                client = MlflowClient(tracking_uri=clean, registry_uri=clean)
                # Stores open lazily: open it here (a new database is migrated now),
                # so an unreachable MLflow shows before anything is planned.
                client.search_experiments(max_results=1)
                return client

            yield _Session(open_store)
    finally:
        mlflow.set_tracking_uri(saved_uri)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        logger.setLevel(saved_level)


def _remote_errors() -> tuple[type[BaseException], ...]:
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


def _detail(exc: BaseException, secrets: Sequence[str]) -> str:
    """The first line of an error, short, with any credential removed."""
    text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    text = re.sub(r"//[^/@\s]*@", "//***@", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = text.rstrip(".")
    return text if len(text) <= 200 else text[:199] + "…"


def _not_found(exc: BaseException) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST"


def _version(mv: ModelVersion) -> int:
    """MLflow gives ``mv.version`` as an int from SQL stores and a str through REST."""
    return int(mv.version)


# -- reading MLflow ------------------------------------------------------------


@dataclass
class _Found:
    """What MLflow already holds for one model."""

    exists: bool = False
    versions: dict[int, ModelVersion] = field(default_factory=dict)
    duplicates: list[int] = field(default_factory=list)
    aliases: dict[str, int] = field(default_factory=dict)
    managed: list[str] = field(default_factory=list)
    # Filled in while exporting: minireg version -> MLflow version, and the aliases wanted.
    mapping: dict[int, int | None] = field(default_factory=dict)
    wanted_aliases: dict[str, int] = field(default_factory=dict)


def _search(s: _Session, query: str) -> list[ModelVersion]:
    found: list[ModelVersion] = []
    token = None
    while True:
        page = s.call(s.client.search_model_versions, query, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            return found


def _confirmed(s: _Session, model: str, mv: ModelVersion) -> ModelVersion:
    """Search results can omit tags: ask for the version itself when they are missing."""
    if mv.tags and "minireg.version" in mv.tags:
        return mv
    return s.call(s.client.get_model_version, model, str(mv.version))


def _read_model(s: _Session, model: str) -> _Found:
    found = _Found()
    try:
        rm = s.call(s.client.get_registered_model, model)
    except Exception as exc:
        if _not_found(exc):
            return found
        raise
    found.exists = True
    found.aliases = {alias: int(number) for alias, number in (rm.aliases or {}).items()}
    found.managed = [a for a in (rm.tags or {}).get("minireg.aliases", "").split(",") if a]
    for mv in sorted(_search(s, f"name = '{model}'"), key=_version):
        mv = _confirmed(s, model, mv)
        tag = (mv.tags or {}).get("minireg.version", "")
        if not tag.isdigit():
            continue
        number = int(tag)
        if number in found.versions:
            found.duplicates.append(_version(mv))
        else:
            found.versions[number] = mv
    return found


def _lookup(s: _Session, rec: VersionRecord) -> list[ModelVersion]:
    """The MLflow versions tagged as ``rec`` (normally none or one), lowest first."""
    query = (
        f"name = '{rec.model}' and tags.`minireg.version` = '{rec.version}' "
        f"and tags.`minireg.artifact_sha256` = '{rec.artifact_sha256}'"
    )
    hits = [_confirmed(s, rec.model, mv) for mv in _search(s, query)]
    return sorted(
        (
            mv
            for mv in hits
            if (mv.tags or {}).get("minireg.version") == str(rec.version)
            and (mv.tags or {}).get("minireg.artifact_sha256") == rec.artifact_sha256
        ),
        key=_version,
    )


# -- planning --------------------------------------------------------------------


def _changes(want: _Wanted, mv: ModelVersion) -> list[str]:
    """What differs between an MLflow version and what minireg says it should be."""
    have = dict(mv.tags or {})
    out = [f"tag {key}" for key, value in want.tags.items() if have.get(key) != value]
    stale = set(have.get("minireg.tag_keys", "").split(",")) - set(want.rec.tags) - {""}
    stale |= {k for k in have if k.startswith(PREFIX) and k not in want.tags}
    out.extend(f"untag {key}" for key in sorted(stale))
    if (mv.description or "") != want.rec.description:
        out.append("description")
    if (mv.current_stage or "None").casefold() != want.stage.casefold():
        out.append(f"stage {mv.current_stage or 'None'} → {want.stage}")
    return out


def _alias_changes(
    wanted: dict[str, int], found: _Found, mapping: dict[int, int | None]
) -> tuple[dict[str, int], list[str]]:
    """Aliases to set (alias -> MLflow version) and managed aliases to delete."""
    to_set: dict[str, int] = {}
    for alias, number in wanted.items():
        target = mapping.get(number)
        if target is not None and found.aliases.get(alias) == target:
            continue
        to_set[alias] = target if target is not None else -1
    to_delete = [a for a in found.managed if a not in wanted and a in found.aliases]
    return to_set, to_delete


def _check_identity(rec: VersionRecord, mv: ModelVersion) -> None:
    sha = (mv.tags or {}).get("minireg.artifact_sha256", "")
    if sha and sha != rec.artifact_sha256:
        raise Refused(
            f"MLflow version {mv.version} of {rec.model} claims minireg version {rec.version} "
            f"but holds another artifact ({sha[:12]}…, here {rec.artifact_sha256[:12]}…); "
            "export this registry to another tracking URI or model name."
        )


# -- writing MLflow --------------------------------------------------------------


def _requirements(registry: Registry, rec: VersionRecord) -> list[str]:
    """The pinned requirements of a version, as lines MLflow's parser accepts."""
    if not rec.requirements_sha256:
        return []
    path = registry.storage.object_path(rec.requirements_sha256)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("-")]


def _estimator(registry: Registry, rec: VersionRecord) -> tuple[Any, str]:
    """The scikit-learn estimator of a version if it is one that loads here, else a note."""
    if rec.is_dir or rec.flavor not in _LOADABLE:
        return None, ""
    from minireg.loading import load_model

    try:
        obj = load_model(rec.uri, registry)
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


def _log_version_run(
    s: _Session, registry: Registry, want: _Wanted, experiment_id: str
) -> tuple[str, str, str | None, str]:
    """One finished MLflow run for a version: (run id, model source, model id, note).

    A finished run of an earlier, interrupted export is reused; an unfinished
    one is deleted first, so a version never ends up with two runs.
    """
    from mlflow.entities import Metric, Param, RunTag

    rec = want.rec
    query = (
        f"tags.`minireg.model` = '{rec.model}' and tags.`minireg.version` = '{rec.version}' "
        f"and tags.`minireg.artifact_sha256` = '{rec.artifact_sha256}'"
    )
    for run in s.call(s.client.search_runs, [experiment_id], query):
        source = run.data.tags.get("minireg.logged_model", "")
        if source and run.info.status == "FINISHED":
            reused = run.data.tags.get("minireg.model_id") or None
            return run.info.run_id, source, reused, run.data.tags.get("minireg.note", "")
        s.call(s.client.delete_run, run.info.run_id)

    run_tags = {
        "mlflow.runName": f"{rec.model} v{rec.version}",
        "mlflow.user": rec.registered_by,
        "mlflow.source.git.commit": rec.git_commit,
        "mlflow.source.git.branch": rec.git_branch,
        # Identity and provenance only: stage, approval and audit move later and
        # live on the model version, which the export keeps in step.
        **{k: v for k, v in want.tags.items() if k not in _MOVING and not k.startswith(_STAGE)},
    }
    run_tags = {k: v for k, v in run_tags.items() if v}
    start = _ms(rec.created_at)
    run = s.call(s.client.create_run, experiment_id, start_time=start, tags=run_tags)
    run_id = run.info.run_id
    stamp = start or int(time.time() * 1000)
    metrics = [Metric(k, float(v), stamp, 0) for k, v in sorted(rec.metrics.items())]
    params = [Param(k, v) for k, v in sorted(rec.params.items())]
    for i in range(0, max(len(metrics), len(params)), 100):
        s.call(s.client.log_batch, run_id, metrics=metrics[i : i + 100], params=params[i : i + 100])
    s.call(s.client.log_text, run_id, want.audit, AUDIT_FILE)

    estimator, note = _estimator(registry, rec)
    model_id: str | None = None
    if estimator is not None:
        # Importing MLflow's flavor module is MLflow's cost: time it with the calls.
        flavor = s.call(importlib.import_module, "mlflow.sklearn")
        info = s.call(
            flavor.log_model,
            estimator,
            name="model",
            run_id=run_id,
            # skops (MLflow's default) refuses custom classes on load; cloudpickle loads them.
            serialization_format="cloudpickle",
            pip_requirements=_requirements(registry, rec),
        )
        source, model_id = info.model_uri, info.model_id
    else:
        path = registry.artifact_path(rec)
        if path.is_dir():
            s.call(
                s.client.log_artifacts, run_id, str(path), f"artifact/{rec.artifact.rstrip('/')}"
            )
        else:
            s.call(s.client.log_artifact, run_id, str(path), "artifact")
        if rec.requirements_sha256:
            req = registry.storage.object_path(rec.requirements_sha256)
            text = req.read_text(encoding="utf-8", errors="replace") if req.is_file() else ""
            s.call(s.client.log_text, run_id, text, "minireg/requirements.txt")
        # Through a server the source must be inside the run's artifacts.
        source = f"runs:/{run_id}/artifact"
    done = [RunTag("minireg.logged_model", source)]
    if model_id:
        done.append(RunTag("minireg.model_id", model_id))
    if note:
        done.append(RunTag("minireg.note", _cut(note)))
    s.call(s.client.log_batch, run_id, tags=done)
    # update_run, not set_terminated: that one also prints run links on stdout.
    s.call(s.client.update_run, run_id, "FINISHED")
    return run_id, source, model_id, note


def _transition(s: _Session, model: str, number: int, stage: str) -> None:
    """Set an MLflow stage; without the (deprecated) API the stage lives on as tag and alias."""
    transition = getattr(s.client, "transition_model_version_stage", None)
    if transition is None:
        return
    with warnings.catch_warnings():
        # Deprecated since MLflow 2.9 but still honoured: the stage is what
        # `models:/NAME/Production` resolves, so serving code works unchanged.
        warnings.filterwarnings(
            "ignore", category=FutureWarning, message=r".*transition_model_version_stage"
        )
        s.call(transition, model, str(number), stage, archive_existing_versions=False)


def _sync_version(s: _Session, want: _Wanted, mv: ModelVersion) -> None:
    """Move an existing MLflow version's tags, description and stage to match minireg."""
    rec = want.rec
    number = str(mv.version)
    have = dict(mv.tags or {})
    for key, value in want.tags.items():
        if have.get(key) != value:
            s.call(s.client.set_model_version_tag, rec.model, number, key, value)
    stale = set(have.get("minireg.tag_keys", "").split(",")) - set(rec.tags) - {""}
    stale |= {k for k in have if k.startswith(PREFIX) and k not in want.tags}
    for key in sorted(stale):
        s.call(s.client.delete_model_version_tag, rec.model, number, key)
    if (mv.description or "") != rec.description:
        s.call(s.client.update_model_version, rec.model, number, description=rec.description)
    if (mv.current_stage or "None").casefold() != want.stage.casefold():
        _transition(s, rec.model, int(number), want.stage)
    if have.get("minireg.audit_sha256") != want.tags["minireg.audit_sha256"] and mv.run_id:
        s.call(s.client.log_text, mv.run_id, want.audit, AUDIT_FILE)


def _create_version(
    s: _Session, registry: Registry, want: _Wanted, experiment_id: str
) -> tuple[int, str]:
    """Create the MLflow version of ``want`` unless one already exists; (number, note)."""
    rec = want.rec
    existing = _lookup(s, rec)
    if existing:
        _sync_version(s, want, existing[0])
        return _version(existing[0]), ""
    run_id, source, model_id, note = _log_version_run(s, registry, want, experiment_id)
    mv = s.call(
        s.client.create_model_version,
        rec.model,
        source,
        run_id=run_id,
        tags=want.tags,
        description=rec.description or None,
        model_id=model_id,
    )
    number = _version(mv)
    # The REST client retries a request whose answer was lost, so one create can
    # land twice: keep the lowest version carrying these tags, delete the others.
    twins = _lookup(s, rec)
    if len(twins) > 1:
        number = _version(twins[0])
        for twin in twins[1:]:
            s.call(s.client.delete_model_version, rec.model, str(twin.version))
    if want.stage != "None":
        _transition(s, rec.model, number, want.stage)
    return number, note


def _sync_aliases(
    s: _Session, model: str, wanted: dict[str, int], found: _Found, mapping: dict[int, int | None]
) -> None:
    to_set, to_delete = _alias_changes(wanted, found, mapping)
    for alias, number in to_set.items():
        if number > 0:
            s.call(s.client.set_registered_model_alias, model, alias, str(number))
    for alias in to_delete:
        s.call(s.client.delete_registered_model_alias, model, alias)
    managed = ",".join(sorted(wanted))
    if managed != ",".join(sorted(found.managed)):
        s.call(s.client.set_registered_model_tag, model, "minireg.aliases", managed)


def _experiment_id(s: _Session, name: str) -> str:
    exp = s.call(s.client.get_experiment_by_name, name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            raise InvalidInput(
                f"MLflow experiment {name!r} is deleted; restore it or pass another --experiment."
            )
        return str(exp.experiment_id)
    return str(s.call(s.client.create_experiment, name))


def _export_model(
    s: _Session,
    registry: Registry,
    name: str,
    wanted: list[_Wanted],
    have: _Found,
    experiment_id: str,
    dry_run: bool,
    advance: Callable[[VersionExport], None],
) -> None:
    """Export one model's versions in version order, then move its aliases."""
    aliases = _wanted_aliases(registry, [w.rec for w in wanted])
    have.wanted_aliases = aliases
    if not dry_run and not have.exists:
        s.call(
            s.client.create_registered_model,
            name,
            tags={"minireg.model": name},
            description=f"Exported from the minireg registry by {TOOL}.",
        )
    for want in wanted:
        rec = want.rec
        mv = have.versions.get(rec.version)
        if mv is not None:
            changes = _changes(want, mv)
            have.mapping[rec.version] = _version(mv)
            if changes and not dry_run:
                _sync_version(s, want, mv)
            action = "update" if changes else "unchanged"
            advance(_entry(want, aliases, action, _version(mv), changes))
        elif dry_run:
            have.mapping[rec.version] = None
            advance(_entry(want, aliases, "create", None, ["new"]))
        else:
            number, note = _create_version(s, registry, want, experiment_id)
            have.mapping[rec.version] = number
            entry = _entry(want, aliases, "create", number, ["new"])
            if note:
                entry.note, entry.logged_as = note, "artifact"
            advance(entry)
    if not dry_run:
        for number in have.duplicates:
            s.call(s.client.delete_model_version, name, str(number))
        _sync_aliases(s, name, aliases, have, have.mapping)


# -- the export ------------------------------------------------------------------


def export_mlflow(
    registry: Registry,
    tracking_uri: str,
    *,
    models: Sequence[str] | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ExportResult:
    """Recreate the registry (or some models) in MLflow; idempotent and resumable.

    Each version, in version order, becomes one run in ``experiment`` and one
    registered model version; stages, aliases, descriptions and tags are then
    moved to match the registry. Versions already in MLflow (found by their
    ``minireg.*`` tags) are not created again.

    Args:
        registry: the registry to export (it is only read).
        tracking_uri: an MLflow server (``http(s)://``) or database (``sqlite:///...``).
            A ``user:password@`` in it is passed to MLflow as credentials and never shown.
        models: model names to export (default: all).
        experiment: the MLflow experiment that receives the runs.
        dry_run: plan only: say what would be created, updated or left unchanged.
        progress: called with (versions done, versions in all).

    Returns:
        The plan or outcome per version, with the minireg -> MLflow version mapping.

    Raises:
        InvalidInput: MLflow is not installed, or the URI is not supported.
        NotFound: a named model is not in the registry.
        Refused: MLflow holds a version tagged as a minireg version with another artifact.
        RemoteError: MLflow is unreachable or failed midway; re-running resumes.

    Example:
        >>> export_mlflow(reg, "http://mlflow:5000", models=["churn_predictor"]).mapping()
        {'churn_predictor': {1: 1, 2: 2}}
    """
    started = time.perf_counter()
    _check_uri(tracking_uri)
    shown = redact_uri(tracking_uri)
    _clean, user, password = _split_credentials(tracking_uri)
    secrets = [x for x in (user, password) if x]
    state = registry.state()
    names = list(dict.fromkeys(models)) if models else state.models()
    for name in names:
        if not state.of_model(name):
            raise NotFound(
                f"Model {name!r} is not in the registry; `minireg list` shows the models."
            )
    events = registry.events()
    by_version: dict[tuple[str, int], list[Event]] = {}
    for event in events:
        if event.version is not None:
            by_version.setdefault((event.model, event.version), []).append(event)
    wanted = {
        name: [
            _wanted(rec, by_version.get((name, rec.version), [])) for rec in state.of_model(name)
        ]
        for name in names
    }
    total = sum(len(w) for w in wanted.values())
    _import_mlflow()
    result = ExportResult(shown, experiment, dry_run, [])

    if dry_run and _sqlite_missing(tracking_uri):
        # Planning must not create the database: everything would be new.
        for name in names:
            aliases = _wanted_aliases(registry, state.of_model(name))
            for want in wanted[name]:
                result.versions.append(_entry(want, aliases, "create", None, ["new"]))
        result.seconds = time.perf_counter() - started
        return result

    if _check_uri(tracking_uri) in ("http", "https"):
        why = _probe(_clean)
        if why is not None:
            raise RemoteError(
                f"MLflow at {shown} is unreachable ({_detail(RuntimeError(why), secrets)}); "
                "nothing was exported: check the tracking URI and re-run."
            )
    remote = _remote_errors()
    progress_state = {"done": 0, "writing": False}
    try:
        with _session(tracking_uri) as s:
            found = {name: _read_model(s, name) for name in names}
            # Refuse before writing anything if MLflow holds another registry's versions.
            for name in names:
                for want in wanted[name]:
                    mv = found[name].versions.get(want.rec.version)
                    if mv is not None:
                        _check_identity(want.rec, mv)
            progress_state["writing"] = not dry_run
            experiment_id = "" if dry_run else _experiment_id(s, experiment)

            def advance(entry: VersionExport) -> None:
                result.versions.append(entry)
                progress_state["done"] += 1
                if progress is not None:
                    progress(progress_state["done"], total)

            for name in names:
                _export_model(
                    s, registry, name, wanted[name], found[name], experiment_id, dry_run, advance
                )
                _note_aliases(result, name, found[name])
            result.mlflow_seconds = s.seconds
            result.mlflow_calls = s.calls
            result.mlflow_by_call = dict(s.by_call)
    except remote as exc:
        if not progress_state["writing"]:
            raise RemoteError(
                f"MLflow at {shown} is unreachable or failing ({_detail(exc, secrets)}); "
                "nothing was exported: check the tracking URI and re-run."
            ) from None
        raise RemoteError(
            f"MLflow at {shown} failed after {progress_state['done']} of {total} versions were "
            f"exported ({_detail(exc, secrets)}); re-run the same command to resume."
        ) from None
    result.seconds = time.perf_counter() - started
    return result


def _entry(
    want: _Wanted, aliases: dict[str, int], action: str, number: int | None, changes: list[str]
) -> VersionExport:
    rec = want.rec
    mine = sorted(alias for alias, version in aliases.items() if version == rec.version)
    entry = VersionExport(rec.model, rec.version, action, number, rec.stage, mine, list(changes))
    if rec.is_dir or rec.flavor not in _LOADABLE:
        entry.logged_as = "artifact"
    return entry


def _note_aliases(result: ExportResult, model: str, have: _Found) -> None:
    """Record alias moves on the versions they point to (an unchanged version becomes update)."""
    wanted = have.wanted_aliases
    to_set, to_delete = _alias_changes(wanted, have, have.mapping)
    by_version = {v.version: v for v in result.versions if v.model == model}
    for alias in sorted(to_set):
        entry = by_version.get(wanted[alias])
        if entry is None:
            continue
        if entry.action != "create":
            entry.changes.append(f"alias @{alias}")
            entry.action = "update"
    if to_delete:
        # A deleted alias no longer points anywhere: note it on the model's last version.
        last = max(by_version.values(), key=lambda v: v.version, default=None)
        if last is not None:
            last.changes.extend(f"remove alias @{alias}" for alias in sorted(to_delete))
            if last.action == "unchanged":
                last.action = "update"
