"""minireg: a model registry that lives in your git repository.

The public Python API. Importing it loads nothing heavy: pandas, openpyxl,
GitPython and mlflow are imported only by the functions that need them.

Example:
    >>> import minireg
    >>> reg = minireg.open_registry()            # registry/ at the git root
    >>> v = reg.register("churn", "model.joblib", metrics={"auc_roc": 0.91})
    >>> reg.promote("churn", v.version, "Staging")
"""

from __future__ import annotations

from minireg._version import __version__
from minireg.domain.records import Event, VersionRecord
from minireg.domain.uris import ModelURI, parse_uri
from minireg.errors import (
    IntegrityError,
    InvalidInput,
    MiniregError,
    NotFound,
    Refused,
    RegistryBusy,
    RemoteError,
    Unsafe,
)
from minireg.registry import Promotion, Registry, Report, Snapshot, init_registry, open_registry

__all__ = [
    "Event",
    "IntegrityError",
    "InvalidInput",
    "MiniregError",
    "ModelURI",
    "NotFound",
    "Promotion",
    "Refused",
    "Registry",
    "RegistryBusy",
    "RemoteError",
    "Report",
    "Snapshot",
    "Unsafe",
    "VersionRecord",
    "__version__",
    "init_registry",
    "open_registry",
    "parse_uri",
]
