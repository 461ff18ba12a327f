"""Export a minireg registry to MLflow.

Every version becomes one MLflow run (params, metrics, tags, the artifact
logged by flavor, the audit trail as ``minireg/audit.json``) and one
registered model version created from the logged model, carrying minireg's
identifiers as tags. Stages are set with ``transition_model_version_stage``
(MLflow deprecated it but still honours it), and aliases with
``set_registered_model_alias``: each minireg alias as it is, plus
``@production`` / ``@staging`` for the version holding each stage.

The export is idempotent and resumable: existing versions are found by their
``minireg.*`` tags, so a second run creates nothing, and a run that failed
midway picks up where it stopped. Exports running at the same time (two CI
jobs, on two machines) are safe: each version is created by exactly one of
them, the others wait for it and bring it in line. The protocol, in short
(:mod:`.claim` has it whole): a version's run is its claim, kept live by a
heartbeat tag; an export claims first and checks second, so of two claims
made at once the later check always sees the other and gives way; a claim
whose heartbeat is older than the lease (60 s) was abandoned and is removed.

Values longer than MLflow keeps are shortened, marked and listed in a
``minireg.truncated`` tag (:mod:`.limits`); ``minireg/audit.json`` keeps them whole.

The package has three layers, and only :func:`export_mlflow` reads the registry:

- pure: :mod:`.wanted` (what MLflow should hold), :mod:`.limits` (MLflow's
  size limits), :mod:`.plan` (what MLflow holds and how it differs),
  :mod:`.lease` (live or abandoned claims), :mod:`.result` (the outcome's
  shape) and :mod:`.tracking` (the URI's checks).
- :mod:`.session` and :mod:`.client`: the only modules that load MLflow
  (inside their functions): the connection, and each call to MLflow.
- :mod:`.apply` and :mod:`.claim`: carry out a plan through the client,
  version by version, sharing the work with exports running at the same time.

Example:
    >>> from minireg.exporters import export_mlflow
    >>> result = export_mlflow(minireg.open_registry(), "sqlite:///mlflow.db")
    >>> result.mapping()["churn_predictor"]
    {1: 1, 2: 2, 3: 3}
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from minireg._version import TOOL
from minireg.errors import InvalidInput
from minireg.exporters.mlflow.apply import Files, export
from minireg.exporters.mlflow.lease import DEFAULT_LEASE
from minireg.exporters.mlflow.limits import AUDIT_FILE
from minireg.exporters.mlflow.result import ExportResult, Progress, VersionExport
from minireg.exporters.mlflow.session import INSTALL
from minireg.exporters.mlflow.tracking import check_uri, redact_uri
from minireg.exporters.mlflow.wanted import (
    DEFAULT_EXPERIMENT,
    MLFLOW_STAGES,
    PREFIX,
    select_models,
    wanted_models,
)
from minireg.service.registry import Registry

if TYPE_CHECKING:
    from minireg.domain.records import VersionRecord

__all__ = [
    "AUDIT_FILE",
    "DEFAULT_EXPERIMENT",
    "DEFAULT_LEASE",
    "INSTALL",
    "MLFLOW_STAGES",
    "PREFIX",
    "ExportResult",
    "Progress",
    "VersionExport",
    "export_mlflow",
    "redact_uri",
]


def _files(registry: Registry) -> Files:
    """How the export reaches the registry's files (the only place it holds the registry)."""

    def load(rec: VersionRecord) -> Any:
        from minireg.loading import load_model

        return load_model(rec.uri, registry)

    return Files(
        artifact_path=registry.artifact_path, requirements=registry.requirements, load=load
    )


def export_mlflow(
    registry: Registry,
    tracking_uri: str,
    *,
    models: Sequence[str] | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    dry_run: bool = False,
    progress: Progress | None = None,
    lease: float = DEFAULT_LEASE,
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
        lease: seconds after which another export's claim on a version, silent
            (no heartbeat), counts as abandoned and is taken over.

    Returns:
        The plan or outcome per version, with the minireg -> MLflow version mapping.

    Raises:
        InvalidInput: MLflow is not installed, the URI is not supported, or the lease is not
            a positive number of seconds.
        NotFound: a named model is not in the registry.
        Refused: MLflow holds a version tagged as a minireg version with another artifact.
        RemoteError: MLflow is unreachable or failed midway; re-running resumes.

    Example:
        >>> export_mlflow(reg, "http://mlflow:5000", models=["churn_predictor"]).mapping()
        {'churn_predictor': {1: 1, 2: 2}}
    """
    started = time.perf_counter()
    check_uri(tracking_uri)
    if not lease > 0:
        raise InvalidInput(f"The lease must be a positive number of seconds, not {lease!r}.")
    selected = select_models(registry.versions(), models)
    config = registry.config
    wanted = wanted_models(
        selected,
        registry.events(),
        stages=config.stages,
        initial=config.initial_stage,
        archive=config.archive_stage,
    )
    result = export(
        wanted,
        tracking_uri,
        _files(registry),
        experiment=experiment,
        dry_run=dry_run,
        progress=progress,
        tool=TOOL,
        lease=lease,
    )
    result.seconds = time.perf_counter() - started
    return result
