"""What changed between two versions of a model: params, metrics, data, code, requirements.

The comparison itself is pure (:func:`diff_records`, :func:`parse_requirements`,
:func:`compare_requirements`); :func:`diff_versions` reads the two records and
their requirements objects from a registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from minireg.domain.ledger import FIXED_COLUMNS
from minireg.domain.records import VersionRecord

if TYPE_CHECKING:
    from minireg.service.registry import Registry

# Fields shown side by side: the ledger's fixed columns between the version's
# identity (model, version) and its approval (approved_by, approved_at), in order.
FIELDS = FIXED_COLUMNS[FIXED_COLUMNS.index("stage") : FIXED_COLUMNS.index("approved_by")]
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)$")


def parse_requirements(text: str) -> dict[str, str]:
    """Package name (normalised as PEP 503 says) -> its specifier, from a requirements file.

    Comments, blank lines and pip options (``-r``, ``--index-url``) are skipped;
    ``name==1.2`` gives ``{"name": "==1.2"}``, a bare ``name`` gives ``""``.
    """
    found: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        match = _NAME.match(line)
        if match is None:
            continue
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        found[name] = match.group(3).strip()
    return found


@dataclass(frozen=True)
class RequirementsDiff:
    """Packages added, removed and changed between two requirements files."""

    added: dict[str, str] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)
    changed: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def same(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": [{"name": n, "spec": s} for n, s in sorted(self.added.items())],
            "removed": [{"name": n, "spec": s} for n, s in sorted(self.removed.items())],
            "changed": [
                {"name": n, "from": a, "to": b} for n, (a, b) in sorted(self.changed.items())
            ],
        }


def compare_requirements(old: dict[str, str], new: dict[str, str]) -> RequirementsDiff:
    """Packages only in ``new`` (added), only in ``old`` (removed), or with another specifier."""
    return RequirementsDiff(
        added={n: s for n, s in new.items() if n not in old},
        removed={n: s for n, s in old.items() if n not in new},
        changed={n: (old[n], new[n]) for n in old if n in new and old[n] != new[n]},
    )


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclass(frozen=True)
class VersionDiff:
    """Two versions of one model side by side."""

    model: str
    old: VersionRecord
    new: VersionRecord
    requirements: RequirementsDiff | None
    requirements_note: str = ""

    def fields(self) -> list[tuple[str, Any, Any, bool]]:
        """(name, old value, new value, changed) for each recorded field."""
        a, b = self.old.to_dict(), self.new.to_dict()
        return [(name, a[name], b[name], a[name] != b[name]) for name in FIELDS]

    def metrics(self) -> list[tuple[str, float | None, float | None, float | None]]:
        """(name, old, new, new - old) for each metric; the delta is None if one lacks it."""
        names = sorted({*self.old.metrics, *self.new.metrics})
        out: list[tuple[str, float | None, float | None, float | None]] = []
        for name in names:
            a, b = self.old.metrics.get(name), self.new.metrics.get(name)
            delta = None if a is None or b is None else b - a
            out.append((name, a, b, delta))
        return out

    def params(self) -> list[tuple[str, str | None, str | None, bool]]:
        """(name, old, new, changed) for every param of either version."""
        names = sorted({*self.old.params, *self.new.params})
        return [
            (
                n,
                self.old.params.get(n),
                self.new.params.get(n),
                self.old.params.get(n) != self.new.params.get(n),
            )
            for n in names
        ]

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {
            "model": self.model,
            "from": self.old.version,
            "to": self.new.version,
            "fields": {
                name: {"from": _plain(a), "to": _plain(b), "changed": changed}
                for name, a, b, changed in self.fields()
            },
            "metrics": {
                name: {"from": a, "to": b, "delta": delta} for name, a, b, delta in self.metrics()
            },
            "params": {
                name: {"from": a, "to": b, "changed": changed}
                for name, a, b, changed in self.params()
            },
            "requirements": None if self.requirements is None else self.requirements.to_dict(),
            "requirements_note": self.requirements_note,
        }


def diff_records(
    old: VersionRecord,
    new: VersionRecord,
    old_requirements: str | None = None,
    new_requirements: str | None = None,
) -> VersionDiff:
    """Compare two version records (and their requirements text, when known)."""
    reqs = None
    note = ""
    if old_requirements is not None and new_requirements is not None:
        reqs = compare_requirements(
            parse_requirements(old_requirements), parse_requirements(new_requirements)
        )
    else:
        note = "the requirements of one version are not available"
    return VersionDiff(old.model, old, new, reqs, note)


def _requirements_text(reg: Registry, rec: VersionRecord) -> str | None:
    if not rec.requirements_sha256:
        return None
    try:
        return (
            reg.storage.object_path(rec.requirements_sha256)
            .read_bytes()
            .decode("utf-8", errors="replace")
        )
    except OSError:
        return None


def diff_versions(reg: Registry, model: str, old: int | str, new: int | str) -> VersionDiff:
    """Compare versions ``old`` and ``new`` of ``model`` in ``reg``.

    Raises:
        InvalidInput: a version is not a positive whole number.
        NotFound: the model or a version does not exist.
    """
    a, b = reg.get(model, old), reg.get(model, new)
    result = diff_records(a, b, _requirements_text(reg, a), _requirements_text(reg, b))
    if result.requirements is None:
        missing = [str(rec.version) for rec in (a, b) if _requirements_text(reg, rec) is None]
        note = (
            f"the requirements of version {' and '.join(missing)} are not recorded or "
            "their object is missing from objects/"
        )
        return VersionDiff(result.model, a, b, None, note)
    return result
