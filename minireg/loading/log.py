"""Serialize a fitted estimator and register it: :func:`log_model`, as MLflow's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from minireg.domain.flavors import SERIALIZATIONS
from minireg.domain.names import check_model_name
from minireg.domain.records import VersionRecord
from minireg.errors import InvalidInput
from minireg.loading.deserialize import missing_package
from minireg.loading.resolution import RegistryLike, as_registry


def log_model(
    model: Any,
    name: str,
    *,
    serialization: str = "joblib",
    registry: RegistryLike = None,
    **options: Any,
) -> VersionRecord:
    """Serialize a scikit-learn estimator and register it as a new version of ``name``.

    Args:
        model: the fitted estimator.
        name: the model name.
        serialization: ``"joblib"`` (default) or ``"skops"`` (loads without pickle).
        registry: a Registry or a registry folder (default: found from the current folder).
        options: any metadata keyword of :meth:`Registry.register` (metrics, params, tags,
            data, training_date, description, requirements, code_dir, actor, now).

    Raises:
        InvalidInput: an unknown serialization or a bad option; nothing is written.

    Example:
        >>> v = minireg.log_model(clf, "churn_predictor", metrics={"auc_roc": 0.91})
    """
    # Imported here: serving code imports minireg.loading and never writes a temp folder.
    import tempfile

    check_model_name(name)
    if serialization not in SERIALIZATIONS:
        raise InvalidInput(
            f"Serialization {serialization!r} is not known; use one of {', '.join(SERIALIZATIONS)}."
        )
    for taken in ("flavor", "artifact", "progress"):
        if taken in options:
            raise InvalidInput(f"log_model sets {taken} itself; leave it out.")
    reg = as_registry(registry)
    with tempfile.TemporaryDirectory(prefix="minireg-log-") as tmp:
        path = Path(tmp) / SERIALIZATIONS[serialization]
        _dump(model, path, serialization)
        return reg.register(name, path, flavor=serialization, **options)


def _dump(model: Any, path: Path, serialization: str) -> None:
    if serialization == "joblib":
        try:
            import joblib
        except ImportError as exc:
            raise missing_package("joblib", "'minireg[sklearn]'") from exc
        joblib.dump(model, path)
    else:
        try:
            import skops.io
        except ImportError as exc:
            raise missing_package("skops", "skops") from exc
        skops.io.dump(model, path)
