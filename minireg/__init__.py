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

from typing import TYPE_CHECKING, Any

from minireg._version import __version__
from minireg.domain.records import Event, VersionRecord
from minireg.domain.uris import ModelURI, parse_uri
from minireg.errors import (
    IntegrityError,
    InvalidInput,
    InvalidItems,
    LocalIOError,
    MiniregError,
    NotFound,
    Refused,
    RegistryBusy,
    RemoteError,
    Unsafe,
    UnsafeItems,
)
from minireg.service.registry import Registry, init_registry, open_registry
from minireg.service.remote_results import Pulled, Pushed, RemoteSettings, RemoteStatus
from minireg.service.results import Change, Conversion, Promotion, Query, Report, Snapshot

if TYPE_CHECKING:
    from minireg.adapters.webhook import verify_signature
    from minireg.loading import (
        Loaded,
        ModelHandle,
        Resolved,
        checkout,
        load_model,
        log_model,
        resolve,
    )

# Loading by stage, imported on first use: serving code pays for it, `minireg --help` does not.
_LAZY_NAMES = (
    "Loaded",
    "ModelHandle",
    "Resolved",
    "checkout",
    "load_model",
    "log_model",
    "resolve",
)
_LAZY = dict.fromkeys(_LAZY_NAMES, "minireg.loading")
_LAZY["verify_signature"] = "minireg.adapters.webhook"  # for webhook receivers


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'minireg' has no attribute {name!r}")


__all__ = [
    "Change",
    "Conversion",
    "Event",
    "IntegrityError",
    "InvalidInput",
    "InvalidItems",
    "Loaded",
    "LocalIOError",
    "MiniregError",
    "ModelHandle",
    "ModelURI",
    "NotFound",
    "Promotion",
    "Pulled",
    "Pushed",
    "Query",
    "Refused",
    "Registry",
    "RegistryBusy",
    "RemoteError",
    "RemoteSettings",
    "RemoteStatus",
    "Report",
    "Resolved",
    "Snapshot",
    "Unsafe",
    "UnsafeItems",
    "VersionRecord",
    "__version__",
    "checkout",
    "init_registry",
    "load_model",
    "log_model",
    "open_registry",
    "parse_uri",
    "resolve",
    "verify_signature",
]
