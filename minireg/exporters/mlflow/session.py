"""The exporter's connection to MLflow: the client, its timing, and MLflow's failures.

With :mod:`.client`, the only modules of minireg that import mlflow (inside
their functions, never at module level, so importing them costs nothing).
A :class:`Session` holds one ``MlflowClient`` and times every call made
through it, so minireg's own overhead can be measured. Credentials travel in
MLflow's environment variables, never in a URI, and MLflow's failures become
:class:`~minireg.errors.RemoteError` (exit 7) with the credentials removed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from minireg.errors import InvalidInput, RemoteError
from minireg.exporters.mlflow.tracking import detail, redact_uri, secrets, split_credentials

if TYPE_CHECKING:
    from mlflow import MlflowClient

INSTALL = "pip install 'minireg[mlflow]'"
_ENV = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_URI")

T = TypeVar("T")


# -- the session ---------------------------------------------------------------


class Session:
    """An MlflowClient whose calls are timed, so minireg's own overhead can be measured."""

    def __init__(self, make: Callable[[], MlflowClient]) -> None:
        # The heartbeat of a claim calls from its own thread: the totals are shared.
        self._lock = threading.Lock()
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
            name = getattr(fn, "__name__", "call")
            with self._lock:
                self.seconds += spent
                self.calls += 1
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


def error_code(exc: BaseException) -> str:
    """MLflow's error code of a failure (``RESOURCE_ALREADY_EXISTS``, ...), or ``""``."""
    return str(getattr(exc, "error_code", "") or "")


def not_found(exc: BaseException) -> bool:
    return error_code(exc) == "RESOURCE_DOES_NOT_EXIST"


def already_exists(exc: BaseException) -> bool:
    return error_code(exc) == "RESOURCE_ALREADY_EXISTS"
