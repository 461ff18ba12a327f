"""Load by stage: resolve ``models:/`` URIs, check digests, load by flavor, follow promotions.

Nothing heavy is imported here at module level: joblib, skops, onnxruntime and
scikit-learn are imported by the function that needs them, so ``import minireg``
stays fast. Serving code names a stage or an alias, never a version number::

    import minireg

    model = minireg.load_model("models:/churn_predictor/Production")
    handle = minireg.ModelHandle("models:/churn_predictor/Production")
    handle.get().predict(rows)      # follows promotions, no restart

The modules: :mod:`~minireg.loading.resolution` (what a URI names),
:mod:`~minireg.loading.deserialize` (the digest check, then loading by flavor
under the pickle policy and the trusted skops types),
:mod:`~minireg.loading.checkouts` (writable copies), :mod:`~minireg.loading.handle`
(following promotions) and :mod:`~minireg.loading.log` (serialize and register).
They reach the registry only through the public methods of
:class:`~minireg.service.registry.Registry`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from minireg.loading.checkouts import checkout
    from minireg.loading.deserialize import load_model
    from minireg.loading.handle import Loaded, ModelHandle
    from minireg.loading.log import log_model
    from minireg.loading.resolution import RegistryLike, Resolved, resolve

# Each name's module, imported on first use: `minireg path` needs only resolve.
_MODULES = {
    "Loaded": "handle",
    "ModelHandle": "handle",
    "RegistryLike": "resolution",
    "Resolved": "resolution",
    "checkout": "checkouts",
    "load_model": "deserialize",
    "log_model": "log",
    "resolve": "resolution",
}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Loaded",
    "ModelHandle",
    "RegistryLike",
    "Resolved",
    "checkout",
    "load_model",
    "log_model",
    "resolve",
]
