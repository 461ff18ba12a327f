"""Load by stage: resolve ``models:/`` URIs, check digests, load by flavor, follow promotions.

Nothing heavy is imported here at module level: joblib, skops, onnxruntime and
scikit-learn are imported by the function that needs them, so ``import minireg``
stays fast. Serving code names a stage or an alias, never a version number::

    import minireg

    model = minireg.load_model("models:/churn_predictor/Production")
    handle = minireg.ModelHandle("models:/churn_predictor/Production")
    handle.get().predict(rows)      # follows promotions, no restart
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from minireg.domain.flavors import PICKLE_FLAVORS, SERIALIZATIONS
from minireg.domain.names import check_model_name
from minireg.domain.records import VersionRecord
from minireg.domain.uris import ModelURI, parse_uri
from minireg.errors import IntegrityError, InvalidInput, MiniregError, Unsafe
from minireg.service.registry import Registry, open_registry
from minireg.storage.atomic import temp_name
from minireg.storage.objects import hash_file, hash_path

log = logging.getLogger("minireg")

RegistryLike = Union[Registry, Path, str, None]
"""A :class:`Registry`, a registry folder, or None for the one found from the current folder."""

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Resolved:
    """What a ``models:/`` URI names: the version record and the artifact's local path."""

    record: VersionRecord
    path: Path

    @property
    def model(self) -> str:
        return self.record.model

    @property
    def version(self) -> int:
        return self.record.version

    @property
    def stage(self) -> str:
        return self.record.stage

    @property
    def sha256(self) -> str:
        return self.record.artifact_sha256

    @property
    def flavor(self) -> str:
        return self.record.flavor

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {**self.record.to_dict(), "uri": self.record.uri, "path": str(self.path)}


def _registry(registry: RegistryLike) -> Registry:
    return registry if isinstance(registry, Registry) else open_registry(registry)


def _parse(uri: str | ModelURI) -> ModelURI:
    return parse_uri(uri) if isinstance(uri, str) else uri


def resolve(uri: str | ModelURI, registry: RegistryLike = None) -> Resolved:
    """The version a ``models:/`` URI names, and its artifact's local path (not re-hashed).

    Args:
        uri: ``models:/NAME/STAGE`` (case-insensitive; the highest version in that
            stage, as MLflow), ``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or
            ``models:/NAME/latest``.
        registry: a Registry or a registry folder (default: found from the current folder).

    Raises:
        InvalidInput: the URI is malformed (the message lists the accepted forms).
        NotFound: the registry, model, version, stage or alias does not exist.
        Unsafe: the artifact's object is a symlink.

    Example:
        >>> minireg.resolve("models:/churn_predictor/Production").version
        7
    """
    reg = _registry(registry)
    rec = reg.resolve(_parse(uri))
    return Resolved(rec, reg.artifact_path(rec))


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


def _missing(package: str, extra: str) -> InvalidInput:
    return InvalidInput(
        f"Loading this model needs {package}; install it with `pip install {extra}`."
    )


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


def _deserialize(reg: Registry, rec: VersionRecord, trusted: Iterable[str]) -> Any:
    """Check the digest, then load by flavor. Nothing is deserialized before the check."""
    flavor = rec.flavor
    if rec.is_dir or flavor not in (*PICKLE_FLAVORS, "skops", "onnx"):
        return _checked_path(reg, rec)
    if flavor in PICKLE_FLAVORS and not reg.config.allow_pickle:
        raise Unsafe(
            f"{rec.model} version {rec.version} is a {flavor} artifact and this registry forbids "
            "pickle-based loading (allow_pickle = false in minireg.toml); register the model "
            "with skops (log_model(..., serialization='skops')) or as ONNX."
        )
    if flavor == "onnx":
        try:
            import onnxruntime
        except ImportError:
            return _checked_path(reg, rec)
        data = _read_checked(reg, rec)
        return _guarded(
            rec, lambda: onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
        )
    data = _read_checked(reg, rec)
    if flavor in PICKLE_FLAVORS:
        try:
            import joblib
        except ImportError as exc:
            if flavor == "joblib":
                raise _missing("joblib", "'minireg[sklearn]'") from exc
            import pickle

            return _guarded(rec, lambda: pickle.loads(data))
        # joblib reads plain pickles too, and a .pkl is often written by joblib.dump.
        return _guarded(rec, lambda: joblib.load(io.BytesIO(data)))
    try:
        import skops.io
    except ImportError as exc:
        raise _missing("skops", "skops") from exc
    types = _trusted_types(reg, rec, data, trusted)
    return _guarded(rec, lambda: skops.io.loads(data, trusted=types))


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
    reg = _registry(registry)
    rec = reg.resolve(_parse(uri))
    return _deserialize(reg, rec, trusted or ())


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
    check_model_name(name)
    if serialization not in SERIALIZATIONS:
        raise InvalidInput(
            f"Serialization {serialization!r} is not known; use one of {', '.join(SERIALIZATIONS)}."
        )
    for taken in ("flavor", "artifact", "progress"):
        if taken in options:
            raise InvalidInput(f"log_model sets {taken} itself; leave it out.")
    reg = _registry(registry)
    with tempfile.TemporaryDirectory(prefix="minireg-log-") as tmp:
        path = Path(tmp) / SERIALIZATIONS[serialization]
        if serialization == "joblib":
            try:
                import joblib
            except ImportError as exc:
                raise _missing("joblib", "'minireg[sklearn]'") from exc
            joblib.dump(model, path)
        else:
            try:
                import skops.io
            except ImportError as exc:
                raise _missing("skops", "skops") from exc
            skops.io.dump(model, path)
        return reg.register(name, path, flavor=serialization, **options)


# -- checkout ------------------------------------------------------------------


def _copy_checked(src: Path, dest: Path, digest: str, what: str) -> None:
    """Copy ``src`` to ``dest`` (a new, writable file) while hashing; IntegrityError on mismatch."""
    sha = hashlib.sha256()
    with open(src, "rb") as fin, open(dest, "xb") as fout:
        while chunk := fin.read(_CHUNK):
            sha.update(chunk)
            fout.write(chunk)
    if sha.hexdigest() != digest:
        raise IntegrityError(
            f"{what} does not match its recorded sha256 ({digest[:12]}…, at {src}); nothing was "
            "checked out: restore the registry's objects/ from git and run `minireg verify`."
        )


def checkout(
    uri: str | ModelURI, dest: Path | str, registry: RegistryLike = None, *, force: bool = False
) -> Resolved:
    """Copy a version's artifact out of the registry as ordinary, writable files.

    A file goes to ``dest`` (or ``dest/<its name>`` when ``dest`` is a folder);
    a folder becomes ``dest`` (which must not exist or be empty). Each byte is
    hashed on the way and checked against the recorded sha256 before the copy
    appears under its name.

    Returns:
        The version record and the path written (``dest`` or ``dest/<name>``).

    Raises:
        InvalidInput: ``dest`` is taken (use ``force``), or its folder does not exist.
        NotFound: the model, version, stage or alias does not exist.
        IntegrityError: the artifact does not match its recorded sha256.
        Unsafe: the artifact's object (or a file of a folder) is a symlink.

    Example:
        >>> minireg.checkout("models:/churn_predictor/Production", "build/")
    """
    reg = _registry(registry)
    rec = reg.resolve(_parse(uri))
    reg.artifact_path(rec)  # refuses a symlinked object (exit 8) before anything is written
    target = Path(dest)
    if rec.is_dir:
        problems = reg.check_artifact(rec)
        if problems:
            raise IntegrityError(
                f"The artifact of {rec.model} version {rec.version} does not match its recorded "
                "sha256; nothing was checked out: restore the registry's objects/ from git and "
                "run `minireg verify`.",
                problems,
            )
        entries = reg.manifest(rec)
        if target.exists() and not target.is_dir():
            raise InvalidInput(f"{target} is a file; a folder artifact needs a folder.")
        if target.is_dir() and any(target.iterdir()) and not force:
            raise InvalidInput(f"{target} is not empty; choose another folder or add --force.")
        if not target.parent.is_dir():
            raise InvalidInput(f"The folder {target.parent} does not exist; create it first.")
        staging = temp_name(target)
        staging.mkdir()
        try:
            for entry in entries:
                rel = str(entry["path"])
                if rel.startswith("/") or ".." in Path(rel).parts:
                    raise Unsafe(f"The manifest of {rec.model} names an unsafe path {rel!r}.")
                out = staging / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                digest = str(entry["sha256"])
                what = f"{rel} of {rec.model} version {rec.version}"
                _copy_checked(reg.object_path(digest), out, digest, what)
            if target.is_dir():
                # Into an existing folder (empty, or with --force): file by file.
                for rel, file in _files(staging):
                    final = target / rel
                    final.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(file, final)
            else:
                os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return Resolved(rec, target)
    if target.is_dir():
        target = target / rec.artifact
    if target.is_dir():
        raise InvalidInput(f"{target} is a folder; choose a file path.")
    if target.exists() and not force:
        raise InvalidInput(f"{target} already exists; choose another path or add --force.")
    if not target.parent.is_dir():
        raise InvalidInput(f"The folder {target.parent} does not exist; create it first.")
    tmp = temp_name(target)
    try:
        what = f"The artifact of {rec.model} version {rec.version}"
        _copy_checked(reg.artifact_path(rec), tmp, rec.artifact_sha256, what)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return Resolved(rec, target)


def _files(folder: Path) -> list[tuple[str, Path]]:
    return sorted((p.relative_to(folder).as_posix(), p) for p in folder.rglob("*") if p.is_file())


# -- following promotions ----------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """A loaded model and the version it came from, taken together (never torn apart)."""

    record: VersionRecord
    model: Any


class ModelHandle:
    """The model a URI names right now, reloaded once when a promotion moves it.

    Each :meth:`get` costs one ``os.stat`` of ``events.jsonl``. When the file
    changed (a promotion, an alias move, any write), the URI is resolved again;
    if it names different bytes, the new version is checked and loaded once,
    then swapped in atomically (readers see the old model or the new one). The
    first load happens in the constructor, so a bad URI fails at start-up.

    If a later reload fails (the stage emptied, a digest mismatch), the handle
    keeps serving the model it has, logs a warning and keeps the error in
    :attr:`error`; it tries again at the next change of the registry.

    Example:
        >>> handle = minireg.ModelHandle("models:/churn_predictor/Production")
        >>> handle.get().predict(rows)
        >>> handle.version
        7
    """

    def __init__(
        self,
        uri: str | ModelURI,
        registry: RegistryLike = None,
        *,
        trusted: Iterable[str] | None = None,
    ) -> None:
        self.uri = _parse(uri)
        self.registry = _registry(registry)
        self.error: Exception | None = None
        self._trusted = tuple(trusted or ())
        self._lock = threading.Lock()
        self._seen: object = None
        self._loads = 0
        _, stamp = self.registry.changed_since(None)
        rec = self.registry.resolve(self.uri)
        self._current = Loaded(rec, _deserialize(self.registry, rec, self._trusted))
        self._loads = 1
        self._seen = stamp

    def _refresh(self, stamp: object) -> None:
        current = self._current
        try:
            rec = self.registry.resolve(self.uri)
            if rec.artifact_sha256 == current.record.artifact_sha256:
                # Same bytes (a new alias, a description, an identical re-registration).
                fresh = Loaded(rec, current.model)
            else:
                fresh = Loaded(rec, _deserialize(self.registry, rec, self._trusted))
                self._loads += 1
        except Exception as exc:
            # Serving goes on with the model it has (a torn trail, a bad new artifact).
            self.error = exc
            log.warning(
                "%s: keeping %s version %d, the reload failed: %s",
                self.uri,
                current.record.model,
                current.record.version,
                exc,
            )
        else:
            self.error = None
            if fresh.record.version != current.record.version:
                log.info(
                    "%s: now version %d (was %d)",
                    self.uri,
                    fresh.record.version,
                    current.record.version,
                )
            self._current = fresh
        self._seen = stamp

    def current(self) -> Loaded:
        """The current model and its record, after the cheap check for a change."""
        changed, stamp = self.registry.changed_since(self._seen)
        if changed:
            with self._lock:
                # Another thread may have reloaded while this one waited.
                if stamp != self._seen:
                    self._refresh(stamp)
        return self._current

    def get(self) -> Any:
        """The current model (reloaded first if a promotion moved the URI)."""
        return self.current().model

    @property
    def record(self) -> VersionRecord:
        """The version record of the current model."""
        return self.current().record

    @property
    def version(self) -> int:
        return self.record.version

    @property
    def sha256(self) -> str:
        return self.record.artifact_sha256

    @property
    def loads(self) -> int:
        """How many times a model was deserialized (1 + one per promotion that changed bytes)."""
        return self._loads
