"""What MLflow holds for a minireg registry, and how that differs from what it should hold.

Pure: this module imports neither mlflow nor anything that touches the disk,
so every rule of the export can be tested on hand-made records and events:

- :class:`Found` is what MLflow already holds for a model, as the client read it:
  its versions, aliases, and the runs of the export's experiment.
- :func:`plan_model` compares it with what MLflow should hold (:mod:`.wanted`),
  version by version (:class:`Step`, :class:`VersionDiff`), and
  :func:`alias_changes` does the same for aliases.

The outcome's shapes (rows, counts, mapping, ``--json``) are in :mod:`.result`,
the tracking URI's checks in :mod:`.tracking`, and how concurrent exports
share the work in :mod:`.lease` and :mod:`.claim`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from minireg.domain.records import VersionRecord
from minireg.errors import Refused
from minireg.exporters.mlflow.wanted import PREFIX, ModelWant, Wanted, stale_run_tags

# -- what MLflow holds ---------------------------------------------------------


@dataclass(frozen=True)
class FoundVersion:
    """One MLflow model version, as the export compares it."""

    number: int
    """MLflow's version number."""
    tags: dict[str, str]
    description: str = ""
    stage: str = "None"
    run_id: str = ""


@dataclass(frozen=True)
class FoundRun:
    """An MLflow run tagged as a minireg version: an export's work, done or under way."""

    run_id: str
    status: str
    """MLflow's run status: ``RUNNING`` while an export works on it, ``FINISHED`` once done."""
    tags: dict[str, str]

    @property
    def done(self) -> bool:
        """True for a finished run whose model was logged."""
        return self.status == "FINISHED" and bool(self.tags.get("minireg.logged_model", ""))


@dataclass
class Found:
    """What MLflow already holds for one model."""

    exists: bool = False
    versions: dict[int, FoundVersion] = field(default_factory=dict)
    """minireg version -> the MLflow version tagged as it (the lowest, if several)."""
    duplicates: list[int] = field(default_factory=list)
    """MLflow versions that repeat a minireg version: left by a retried create."""
    aliases: dict[str, int] = field(default_factory=dict)
    """alias -> MLflow version."""
    managed: list[str] = field(default_factory=list)
    """The aliases an earlier export set (the model's ``minireg.aliases`` tag)."""
    runs: dict[str, FoundRun] = field(default_factory=dict)
    """run id -> the model's runs in the export's experiment."""

    def runs_of(self, rec: VersionRecord) -> list[FoundRun]:
        """The runs found tagged as ``rec``'s version (of any artifact)."""
        number = str(rec.version)
        return [run for run in self.runs.values() if run.tags.get("minireg.version") == number]


def found_model(
    aliases: dict[str, int],
    managed: list[str],
    versions: Iterable[FoundVersion],
    runs: Iterable[FoundRun] = (),
) -> Found:
    """A registered model as found: its versions sorted out by their ``minireg.version`` tag.

    Versions without the tag are not minireg's and are ignored; a second
    version with the same tag is a duplicate.
    """
    found = Found(
        exists=True, aliases=aliases, managed=managed, runs={run.run_id: run for run in runs}
    )
    for mv in sorted(versions, key=lambda v: v.number):
        tag = mv.tags.get("minireg.version", "")
        if not tag.isdigit():
            continue
        number = int(tag)
        if number in found.versions:
            found.duplicates.append(mv.number)
        else:
            found.versions[number] = mv
    return found


def is_version_of(mv: FoundVersion, rec: VersionRecord) -> bool:
    """True when MLflow's version carries ``rec``'s identity tags."""
    return (
        mv.tags.get("minireg.version") == str(rec.version)
        and mv.tags.get("minireg.artifact_sha256") == rec.artifact_sha256
    )


def check_identity(model: ModelWant, found: Found) -> None:
    """Refuse when MLflow holds, under a minireg version number, another artifact.

    Raises:
        Refused: the tracking URI holds another registry's versions of this model.
    """
    for want in model.versions:
        rec = want.rec
        mv = found.versions.get(rec.version)
        sha = mv.tags.get("minireg.artifact_sha256", "") if mv is not None else ""
        if mv is not None and sha and sha != rec.artifact_sha256:
            raise Refused(
                f"MLflow version {mv.number} of {rec.model} claims minireg version "
                f"{rec.version} but holds another artifact ({sha[:12]}…, here "
                f"{rec.artifact_sha256[:12]}…); export this registry to another tracking URI "
                "or model name."
            )


# -- the differences -----------------------------------------------------------


@dataclass(frozen=True)
class VersionDiff:
    """What to change on an existing MLflow version so it matches minireg."""

    number: int
    """The MLflow version to change."""
    set_tags: dict[str, str]
    delete_tags: list[str]
    description: str | None
    """The new description, or None when it already matches."""
    stage: str | None
    """The stage to move to, or None when it already matches."""
    stage_from: str
    audit_run: str
    """The run whose ``minireg/audit.json`` is out of date, or ``""``."""
    run_id: str = ""
    """The version's run, when it is in the export's experiment."""
    run_untag: list[str] = field(default_factory=list)
    """Your tags an earlier export copied onto the run: deleted (they live on the version)."""
    finish_run: bool = False
    """The run was left unfinished by an interrupted export after its version was created."""

    def changes(self) -> list[str]:
        """The differences as words: ``tag K``, ``untag K``, ``description``, ``stage A → B``."""
        out = [f"tag {key}" for key in self.set_tags]
        out.extend(f"untag {key}" for key in self.delete_tags)
        if self.description is not None:
            out.append("description")
        if self.stage is not None:
            out.append(f"stage {self.stage_from} → {self.stage}")
        out.extend(f"untag run {key}" for key in self.run_untag)
        if self.finish_run:
            out.append("finish run")
        return out


def diff_version(want: Wanted, mv: FoundVersion, run: FoundRun | None = None) -> VersionDiff:
    """What differs between an MLflow version (and its run) and what minireg says it should be."""
    have = mv.tags
    to_set = {key: value for key, value in want.tags.items() if have.get(key) != value}
    stale = set(have.get("minireg.tag_keys", "").split(",")) - set(want.rec.tags) - {""}
    stale |= {k for k in have if k.startswith(PREFIX) and k not in want.tags}
    description = want.description if mv.description != want.description else None
    stage = want.stage if mv.stage.casefold() != want.stage.casefold() else None
    audit_moved = have.get("minireg.audit_sha256") != want.tags["minireg.audit_sha256"]
    return VersionDiff(
        number=mv.number,
        set_tags=to_set,
        delete_tags=sorted(stale),
        description=description,
        stage=stage,
        stage_from=mv.stage,
        audit_run=mv.run_id if audit_moved else "",
        run_id=run.run_id if run is not None else "",
        run_untag=stale_run_tags(want, run.tags) if run is not None else [],
        finish_run=run is not None and run.status != "FINISHED",
    )


@dataclass(frozen=True)
class Step:
    """One minireg version in a model's plan: create it, or bring its MLflow version in line."""

    want: Wanted
    found: FoundVersion | None
    diff: VersionDiff | None

    @property
    def action(self) -> str:
        """``create``, ``update`` or ``unchanged``."""
        if self.found is None:
            return "create"
        return "update" if self.changes else "unchanged"

    @property
    def changes(self) -> list[str]:
        """The differences as words; ``["new"]`` for a version to create."""
        return ["new"] if self.diff is None else self.diff.changes()


def plan_model(model: ModelWant, found: Found) -> list[Step]:
    """Each version of ``model`` in version order, with what MLflow lacks of it."""
    steps = []
    for want in model.versions:
        mv = found.versions.get(want.rec.version)
        if mv is None:
            steps.append(Step(want, None, None))
            continue
        steps.append(Step(want, mv, diff_version(want, mv, found.runs.get(mv.run_id))))
    return steps


def alias_changes(
    wanted: dict[str, int], found: Found, mapping: dict[int, int | None]
) -> tuple[dict[str, int], list[str]]:
    """Aliases to set (alias -> MLflow version, -1 if not created yet) and managed ones to delete.

    ``mapping`` is minireg version -> MLflow version (None in a dry run for a new version).
    """
    to_set: dict[str, int] = {}
    for alias, number in wanted.items():
        target = mapping.get(number)
        if target is not None and found.aliases.get(alias) == target:
            continue
        to_set[alias] = target if target is not None else -1
    to_delete = [a for a in found.managed if a not in wanted and a in found.aliases]
    return to_set, to_delete
