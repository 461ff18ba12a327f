"""The outcome of an export: one row per version, the summary counts, the mapping, ``--json``.

Pure, like :mod:`.plan`: the rows are built from a plan's steps and what
MLflow held, so a dry run and a real export report in the same shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from minireg.domain.flavors import LOADABLE
from minireg.exporters.mlflow.plan import Found, alias_changes
from minireg.exporters.mlflow.wanted import ModelWant, Wanted

Progress = Callable[[int, int], None]
"""Called with (versions done, versions in all) as the export goes."""


@dataclass
class VersionExport:
    """What the export did (or, in a dry run, would do) for one minireg version."""

    model: str
    version: int
    action: str
    """``create``, ``update`` or ``unchanged``."""
    mlflow_version: int | None
    stage: str
    aliases: list[str]
    changes: list[str] = field(default_factory=list)
    logged_as: str = "sklearn"
    """How the artifact travels: ``sklearn`` (loadable by flavor) or ``artifact`` (files)."""
    note: str = ""
    shortened: list[str] = field(default_factory=list)
    """The fields MLflow holds shortened to fit its limits (whole in ``minireg/audit.json``)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {
            "model": self.model,
            "version": self.version,
            "mlflow_version": self.mlflow_version,
            "action": self.action,
            "stage": self.stage,
            "aliases": list(self.aliases),
            "changes": list(self.changes),
            "logged_as": self.logged_as,
            "note": self.note,
            "shortened": list(self.shortened),
        }


@dataclass
class ExportResult:
    """The plan (dry run) or the outcome of an export, version by version."""

    tracking_uri: str
    """The tracking URI with any user name and password removed."""
    experiment: str
    dry_run: bool
    versions: list[VersionExport]
    seconds: float = 0.0
    mlflow_seconds: float = 0.0
    """Time spent inside MLflow calls (the rest is minireg's own work)."""
    mlflow_calls: int = 0
    mlflow_by_call: dict[str, float] = field(default_factory=dict)
    """Seconds spent per MLflow function."""

    def count(self, action: str) -> int:
        """How many versions got ``action`` (create, update, unchanged)."""
        return sum(1 for v in self.versions if v.action == action)

    def shortened(self) -> int:
        """How many versions have values MLflow holds shortened."""
        return sum(1 for v in self.versions if v.shortened)

    def mapping(self) -> dict[str, dict[int, int | None]]:
        """minireg version -> MLflow version, per model."""
        out: dict[str, dict[int, int | None]] = {}
        for v in self.versions:
            out.setdefault(v.model, {})[v.version] = v.mlflow_version
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {
            "tracking_uri": self.tracking_uri,
            "experiment": self.experiment,
            "dry_run": self.dry_run,
            "created": self.count("create"),
            "updated": self.count("update"),
            "unchanged": self.count("unchanged"),
            "shortened": self.shortened(),
            "versions": [v.to_dict() for v in self.versions],
        }


def entry(
    want: Wanted, aliases: dict[str, int], action: str, number: int | None, changes: list[str]
) -> VersionExport:
    """The result row of one version; ``aliases`` are the model's wanted aliases."""
    rec = want.rec
    mine = sorted(alias for alias, version in aliases.items() if version == rec.version)
    row = VersionExport(rec.model, rec.version, action, number, rec.stage, mine, list(changes))
    row.shortened = list(want.shortened)
    if rec.is_dir or rec.flavor not in LOADABLE:
        row.logged_as = "artifact"
    return row


def all_new(models: Iterable[ModelWant]) -> list[VersionExport]:
    """The plan against an MLflow that holds nothing yet: every version is created."""
    return [
        entry(want, model.aliases, "create", None, ["new"])
        for model in models
        for want in model.versions
    ]


def note_aliases(
    result: ExportResult, model: ModelWant, found: Found, mapping: dict[int, int | None]
) -> None:
    """Record alias moves on the versions they point to (an unchanged version becomes update)."""
    to_set, to_delete = alias_changes(model.aliases, found, mapping)
    by_version = {v.version: v for v in result.versions if v.model == model.name}
    for alias in sorted(to_set):
        row = by_version.get(model.aliases[alias])
        if row is None:
            continue
        if row.action != "create":
            row.changes.append(f"alias @{alias}")
            row.action = "update"
    if to_delete:
        # A deleted alias no longer points anywhere: note it on the model's last version.
        last = max(by_version.values(), key=lambda v: v.version, default=None)
        if last is not None:
            last.changes.extend(f"remove alias @{alias}" for alias in sorted(to_delete))
            if last.action == "unchanged":
                last.action = "update"
