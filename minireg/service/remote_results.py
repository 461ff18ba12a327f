"""What the remote verbs return: plain records with ``to_dict`` for ``--json``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minireg.domain.records import VersionRecord
from minireg.domain.remotes import protocol_of, shown
from minireg.storage.layout import objects_ignored

if TYPE_CHECKING:
    from minireg.service.registry import Registry


@dataclass(frozen=True)
class RemoteSettings:
    """The remote for objects (``url`` "" when they live in git), its backend, the cache."""

    url: str
    protocol: str = ""
    backend: str = ""
    install: str = ""
    installed: bool = False
    cache: str = ""
    ignored: bool = False
    """``objects/`` is git-ignored (a local cache)."""
    changed: bool = False
    """``set_remote`` changed ``minireg.toml``."""
    ignore_added: bool = False
    """``set_remote`` added ``objects/`` to ``.gitignore``."""
    registry: Registry | None = None
    """After ``set_remote``: the registry with the new setting."""

    @classmethod
    def of(cls, root: Path, url: str, **done: Any) -> RemoteSettings:
        """The settings of the registry at ``root`` for remote ``url`` ("" for none)."""
        if not url:
            return cls(url="", cache=str(root / "objects"), ignored=objects_ignored(root))
        from minireg.adapters.remote import backend_of

        package, install, installed = backend_of(url)
        return cls(
            url=shown(url),
            protocol=protocol_of(url),
            backend=package,
            install=install,
            installed=installed,
            cache=str(root / "objects"),
            ignored=objects_ignored(root),
            **done,
        )

    @property
    def layout(self) -> str:
        """Where an object goes: ``s3://bucket/prefix/sha256/ab/cdef…``."""
        return f"{self.url}/sha256/ab/cdef…" if self.url else ""

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {
            "url": self.url or None,
            "protocol": self.protocol or None,
            "layout": self.layout or None,
            "backend": self.backend or None,
            "installed": self.installed if self.url else None,
            "install": self.install or None,
            "cache": self.cache,
            "objects_ignored_by_git": self.ignored,
            "changed": self.changed,
            "ignore_added": self.ignore_added,
        }


@dataclass
class VersionObjects:
    """One version's objects the remote lacks: cached here (``local``) or nowhere (``missing``)."""

    model: str
    version: int
    stage: str
    local: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, rec: VersionRecord) -> VersionObjects:
        return cls(model=rec.model, version=rec.version, stage=rec.stage)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
            "uri": f"models:/{self.model}/{self.version}",
            "local_only": list(self.local),
            "missing": list(self.missing),
        }


@dataclass
class RemoteStatus:
    """``minireg status``: versions not (fully) on the remote, and how many are."""

    url: str
    versions: list[VersionObjects] = field(default_factory=list)
    pushed: int = 0

    @property
    def clean(self) -> bool:
        """True when every version's objects are on the remote."""
        return not self.versions

    def to_dict(self) -> dict[str, Any]:
        return {
            "remote": self.url,
            "pushed": self.pushed,
            "not_pushed": [v.to_dict() for v in self.versions if not v.missing],
            "missing": [v.to_dict() for v in self.versions if v.missing],
        }


@dataclass
class Pushed:
    """``minireg push``: what was uploaded, and versions that could not be."""

    url: str
    uploaded: list[str] = field(default_factory=list)
    bytes: int = 0
    versions: list[VersionObjects] = field(default_factory=list)
    """Versions that were not (fully) on the remote and are now."""
    unavailable: list[VersionObjects] = field(default_factory=list)
    """Versions whose objects are neither here nor on the remote."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "remote": self.url,
            "uploaded": list(self.uploaded),
            "bytes": self.bytes,
            "versions": [f"models:/{v.model}/{v.version}" for v in self.versions],
            "unavailable": [v.to_dict() for v in self.unavailable],
        }


@dataclass
class Pulled:
    """``minireg pull``: each version made local, with how many objects were downloaded."""

    url: str
    versions: list[tuple[VersionRecord, int]] = field(default_factory=list)

    def add(self, rec: VersionRecord, fetched: int) -> None:
        self.versions.append((rec, fetched))

    @property
    def fetched(self) -> int:
        return sum(n for _, n in self.versions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "remote": self.url,
            "versions": [
                {"uri": f"models:/{r.model}/{r.version}", "stage": r.stage, "downloaded": n}
                for r, n in self.versions
            ],
            "downloaded": self.fetched,
        }
