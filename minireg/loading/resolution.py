"""What a ``models:/`` URI names: the version record and its artifact's local path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from minireg.domain.records import VersionRecord
from minireg.domain.uris import ModelURI, parse_uri
from minireg.service.registry import Registry, open_registry

RegistryLike = Union[Registry, Path, str, None]
"""A :class:`Registry`, a registry folder, or None for the one found from the current folder."""


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


def as_registry(registry: RegistryLike) -> Registry:
    """The registry itself, or the one opened from a folder (None: found from the current one)."""
    return registry if isinstance(registry, Registry) else open_registry(registry)


def as_uri(uri: str | ModelURI) -> ModelURI:
    """The URI parsed (InvalidInput when malformed), or as it is when already parsed."""
    return parse_uri(uri) if isinstance(uri, str) else uri


def resolve(uri: str | ModelURI, registry: RegistryLike = None, *, fetch: bool = True) -> Resolved:
    """The version a ``models:/`` URI names, and its artifact's local path (not re-hashed).

    Args:
        uri: ``models:/NAME/STAGE`` (case-insensitive; the highest version in that
            stage, as MLflow), ``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or
            ``models:/NAME/latest``.
        registry: a Registry or a registry folder (default: found from the current folder).
        fetch: with a remote set, download the artifact into the local cache (checked)
            when it is missing; False gives the path it will have, downloading nothing.

    Raises:
        InvalidInput: the URI is malformed (the message lists the accepted forms).
        NotFound: the registry, model, version, stage or alias does not exist.
        Unsafe: the artifact's object is a symlink.

    Example:
        >>> minireg.resolve("models:/churn_predictor/Production").version
        7
    """
    reg = as_registry(registry)
    rec = reg.resolve(as_uri(uri))
    return Resolved(rec, reg.artifact_path(rec, fetch=fetch))
