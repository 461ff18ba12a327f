"""Flavors: how an artifact is stored and loaded, named once for the service, loading and export."""

from __future__ import annotations

FLAVORS = ("joblib", "pickle", "skops", "onnx", "file", "dir")
"""Every flavor a version may record."""

PICKLE_FLAVORS = ("joblib", "pickle")
"""Flavors whose loading unpickles (runs code): refused when ``allow_pickle = false``."""

LOADABLE = ("joblib", "pickle", "skops")
"""Flavors that deserialize to a Python object (a scikit-learn model, typically)."""

SERIALIZATIONS = {"joblib": "model.joblib", "skops": "model.skops"}
"""How ``log_model`` may write a model, and the file name it gets."""

_BY_EXTENSION = {
    ".joblib": "joblib",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".skops": "skops",
    ".onnx": "onnx",
}


def flavor_of(name: str, is_dir: bool) -> str:
    """The flavor of an artifact from its kind and its file name's extension."""
    if is_dir:
        return "dir"
    dot = name.rfind(".")
    return _BY_EXTENSION.get(name[dot:].lower(), "file") if dot > 0 else "file"
