"""Follow promotions: :class:`ModelHandle` serves what a URI names now, reloaded per change."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from minireg.domain.records import VersionRecord
from minireg.domain.uris import ModelURI
from minireg.loading.deserialize import deserialize
from minireg.loading.resolution import RegistryLike, as_registry, as_uri

log = logging.getLogger("minireg")


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
        self.uri = as_uri(uri)
        self.registry = as_registry(registry)
        self.error: Exception | None = None
        self._trusted = tuple(trusted or ())
        self._lock = threading.Lock()
        self._seen: object = None
        self._loads = 0
        _, stamp = self.registry.changed_since(None)
        rec = self.registry.resolve(self.uri)
        self._current = Loaded(rec, deserialize(self.registry, rec, self._trusted))
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
                fresh = Loaded(rec, deserialize(self.registry, rec, self._trusted))
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
