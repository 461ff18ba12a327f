"""Loading by flavor, after the digest check: joblib, pickle, skops, onnx, or a path.

The pickle policy (``allow_pickle``) and the trusted skops types
(``skops_trusted``) are decided here, before any byte is deserialized. joblib,
skops and onnxruntime are imported by the loader that needs them.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from minireg.domain.flavors import PICKLE_FLAVORS
from minireg.domain.records import VersionRecord
from minireg.domain.uris import ModelURI
from minireg.errors import IntegrityError, InvalidInput, MiniregError, Unsafe
from minireg.loading.resolution import RegistryLike, as_registry, as_uri
from minireg.service.registry import Registry
from minireg.storage.objects import hash_file, hash_path


def load_model(
    uri: str | ModelURI, registry: RegistryLike = None, *, trusted: Iterable[str] | None = None
) -> Any:
    """Load the model a ``models:/`` URI names, after checking its sha256.

    By recorded flavor: joblib and pickle give the unpickled object (read by
    joblib when installed, which reads plain pickles too; refused when
    ``allow_pickle = false``), skops gives the object (types trusted by
    ``skops_trusted`` in minireg.toml or by ``trusted``), onnx gives an
    ``onnxruntime.InferenceSession`` when onnxruntime is installed (else the
    path), and anything else (a file, a folder) gives a ``pathlib.Path``.

    The artifact is re-hashed (every file of a folder) before it is
    deserialized; a mismatch loads nothing.

    Raises:
        InvalidInput: the URI is malformed, or the artifact does not load here.
        NotFound: the model, version, stage or alias does not exist.
        IntegrityError: the artifact does not match its recorded sha256.
        Unsafe: pickle loading is forbidden, skops types are not trusted, or the
            artifact's object is a symlink.

    Example:
        >>> model = minireg.load_model("models:/churn_predictor/Production")
        >>> model.predict(rows)
    """
    reg = as_registry(registry)
    rec = reg.resolve(as_uri(uri))
    return deserialize(reg, rec, trusted or ())


def deserialize(reg: Registry, rec: VersionRecord, trusted: Iterable[str]) -> Any:
    """Check the digest, then load by flavor. Nothing is deserialized before the check."""
    if rec.is_dir or rec.flavor not in (*PICKLE_FLAVORS, "skops", "onnx"):
        return _checked_path(reg, rec)
    if rec.flavor in PICKLE_FLAVORS:
        return _load_pickle(reg, rec)
    if rec.flavor == "onnx":
        return _load_onnx(reg, rec)
    return _load_skops(reg, rec, trusted)


def missing_package(package: str, extra: str) -> InvalidInput:
    """The error for a loader or serializer that is not installed."""
    return InvalidInput(
        f"Loading this model needs {package}; install it with `pip install {extra}`."
    )


# -- by flavor -------------------------------------------------------------------


def _load_pickle(reg: Registry, rec: VersionRecord) -> Any:
    if not reg.config.allow_pickle:
        raise Unsafe(
            f"{rec.model} version {rec.version} is a {rec.flavor} artifact and this registry "
            "forbids pickle-based loading (allow_pickle = false in minireg.toml); register the "
            "model with skops (log_model(..., serialization='skops')) or as ONNX."
        )
    data = _read_checked(reg, rec)
    try:
        import joblib
    except ImportError as exc:
        if rec.flavor == "joblib":
            raise missing_package("joblib", "'minireg[sklearn]'") from exc
        import pickle

        return _guarded(rec, lambda: pickle.loads(data))
    # joblib reads plain pickles too, and a .pkl is often written by joblib.dump.
    return _guarded(rec, lambda: joblib.load(io.BytesIO(data)))


def _load_onnx(reg: Registry, rec: VersionRecord) -> Any:
    try:
        import onnxruntime
    except ImportError:
        return _checked_path(reg, rec)
    data = _read_checked(reg, rec)
    return _guarded(
        rec, lambda: onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    )


def _load_skops(reg: Registry, rec: VersionRecord, trusted: Iterable[str]) -> Any:
    data = _read_checked(reg, rec)
    try:
        import skops.io
    except ImportError as exc:
        raise missing_package("skops", "skops") from exc
    types = _trusted_types(reg, rec, data, trusted)
    return _guarded(rec, lambda: skops.io.loads(data, trusted=types))


def _trusted_types(
    reg: Registry, rec: VersionRecord, data: bytes, trusted: Iterable[str]
) -> list[str]:
    """The skops types this artifact needs, once each is trusted (else Unsafe)."""
    import skops.io

    needed = list(skops.io.get_untrusted_types(data=data))
    allowed = {*reg.config.skops_trusted, *trusted}
    refused = [name for name in needed if name not in allowed]
    if refused:
        raise Unsafe(
            f"{rec.model} version {rec.version} (skops) needs types that are not trusted: "
            f"{', '.join(refused)}; review them, then list them in skops_trusted in "
            "minireg.toml or pass trusted=[...] to load_model."
        )
    return needed


def _guarded(rec: VersionRecord, load: Callable[[], Any]) -> Any:
    """Run a library's loader; turn its failure into one sentence."""
    try:
        return load()
    except MiniregError:
        raise
    except Exception as exc:
        raise InvalidInput(
            f"{rec.model} version {rec.version} could not be loaded as {rec.flavor} "
            f"({type(exc).__name__}: {exc}); install the packages it was trained with "
            "(its requirements are stored under requirements_sha256)."
        ) from exc


# -- the digest check --------------------------------------------------------------


def _mismatch(rec: VersionRecord, found: str, where: Path | str) -> IntegrityError:
    return IntegrityError(
        f"The artifact of {rec.model} version {rec.version} does not match its recorded sha256 "
        f"({rec.artifact_sha256[:12]}…, found {found[:12]}…, at {where}); nothing was loaded: "
        "restore the registry's objects/ from git and run `minireg verify`."
    )


def _check_dir(reg: Registry, rec: VersionRecord, path: Path) -> None:
    """Re-hash every stored file of a folder artifact, then the files actually handed out."""
    problems = reg.check_artifact(rec)
    if problems:
        raise IntegrityError(
            f"The artifact of {rec.model} version {rec.version} does not match its recorded "
            "sha256; nothing was loaded: restore the registry's objects/ from git and run "
            "`minireg verify`.",
            problems,
        )
    found = hash_path(path)
    if found != rec.artifact_sha256:
        raise IntegrityError(
            f"The unpacked copy of {rec.model} version {rec.version} at {path} was changed "
            f"(sha256 {found[:12]}…); delete that folder and load again."
        )


def _read_checked(reg: Registry, rec: VersionRecord) -> bytes:
    """The artifact's bytes, read once and hashed before anyone deserializes them.

    Hashing the very bytes that get deserialized leaves no window in which the
    file could be swapped between the check and the load.
    """
    path = reg.artifact_path(rec)
    data = path.read_bytes()
    found = hashlib.sha256(data).hexdigest()
    if found != rec.artifact_sha256:
        raise _mismatch(rec, found, path)
    return data


def _checked_path(reg: Registry, rec: VersionRecord) -> Path:
    path = reg.artifact_path(rec)
    if rec.is_dir:
        _check_dir(reg, rec, path)
    else:
        found = hash_file(path)[0]
        if found != rec.artifact_sha256:
            raise _mismatch(rec, found, path)
    return path
