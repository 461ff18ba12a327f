"""Exporters: the ways out of a minireg registry (MLflow first).

Nothing heavy is imported here; :func:`export_mlflow` imports mlflow when called.

Example:
    >>> from minireg.exporters import export_mlflow
    >>> result = export_mlflow(minireg.open_registry(), "sqlite:///mlflow.db")
    >>> result.mapping()
    {'churn_predictor': {1: 1, 2: 2}}
"""

from __future__ import annotations

from minireg.exporters.mlflow import (
    DEFAULT_EXPERIMENT,
    ExportResult,
    VersionExport,
    export_mlflow,
    redact_uri,
)

__all__ = ["DEFAULT_EXPERIMENT", "ExportResult", "VersionExport", "export_mlflow", "redact_uri"]
