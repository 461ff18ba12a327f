"""The service behind the API and the CLI: :class:`Registry`, one public method per verb.

Reads fold the events through the one read cache (:mod:`minireg.storage.cache`);
every write goes through the one write path (:mod:`minireg.service.writer`),
whose decisions are pure (:mod:`minireg.domain.decisions`). Collaborators are
passed in, never reached into: other modules see a Registry only through the
methods below.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minireg.domain import decisions
from minireg.domain.config import Config
from minireg.domain.diff import VersionDiff, diff_records
from minireg.domain.history import select_events, state_at
from minireg.domain.names import (
    check_alias,
    check_key,
    check_person,
    check_stage_name,
    check_text,
)
from minireg.domain.records import Draft, Event, VersionRecord
from minireg.domain.state import State
from minireg.domain.uris import ModelURI, parse_uri
from minireg.domain.values import parse_moment, parse_version, utc_text
from minireg.errors import IntegrityError, NotFound
from minireg.service.registration import Inputs, prepare
from minireg.service.results import Change, Conversion, Promotion, Query, Report, Snapshot
from minireg.service.writer import Decide, Writer
from minireg.storage import Storage
from minireg.storage.cache import Memo
from minireg.storage.files import FileStorage
from minireg.storage.layout import create_files, is_registry, locate, read_config
from minireg.storage.lock import lock_timeout
from minireg.storage.objects import Progress

if TYPE_CHECKING:
    import pandas as pd

    from minireg.adapters.git.commit import CommitOutcome
    from minireg.service.gc import Collection

log = logging.getLogger("minireg")

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def init_registry(path: Path | str | None = None) -> Registry:
    """Create a registry (or open the existing one, left exactly as it is).

    ``Registry.created`` says whether it was made now.

    Raises:
        InvalidInput: the path exists and is not a folder.
        LocalIOError: the folder cannot be written.
    """
    root = locate(path)
    if is_registry(root):
        return open_registry(root)
    create_files(root)
    reg = open_registry(root)
    reg.created = True
    return reg


def open_registry(path: Path | str | None = None) -> Registry:
    """Open the registry at ``path`` (or the one found from the current folder).

    Raises:
        NotFound: no registry is there.
        InvalidInput: its ``minireg.toml`` is not valid.
    """
    root = locate(path)
    if not is_registry(root):
        raise NotFound(f"No minireg registry at {root}; create one with `minireg init`.")
    return Registry(root, read_config(root))


class Registry:
    """One registry folder. Safe to share between threads.

    Example:
        >>> reg = minireg.open_registry()
        >>> v = reg.register("churn", "model.joblib", metrics={"auc_roc": 0.91})
        >>> reg.promote("churn", v.version, "Staging")
    """

    def __init__(self, root: Path, config: Config, *, storage: Storage | None = None) -> None:
        self.root = root
        self._config = config
        timeout = lock_timeout(config.lock_timeout)
        self.storage: Storage = storage or FileStorage(root, config.format, timeout)
        self.clock: Clock = _utc_now
        self.created = False
        """True when :func:`init_registry` made this registry just now."""
        self._writer = Writer(self.storage, config, self._parse_events)
        self._memo = Memo()

    @property
    def config(self) -> Config:
        """The settings from ``minireg.toml`` (read-only; ``convert`` returns a new Registry)."""
        return self._config

    # -- reading -------------------------------------------------------------------

    def events(self) -> list[Event]:
        """The audit trail, in order (unchecked; :meth:`verify` checks it).

        Raises:
            IntegrityError: a line is not an event (a git conflict marker, say).
        """
        return self._parse_events(self.storage.read_event_lines())

    def _parse_events(self, lines: list[str]) -> list[Event]:
        events = []
        for number, line in enumerate(lines, start=1):
            try:
                events.append(Event.from_line(line))
            except (ValueError, KeyError, TypeError) as exc:
                what = (
                    "a git conflict marker"
                    if line.startswith(("<<<<<<<", ">>>>>>>", "======="))
                    else "not an event"
                )
                raise IntegrityError(
                    f"Line {number} of {self.storage.events_path} is {what}; "
                    "`minireg verify` lists what to fix."
                ) from exc
        return events

    def state(self) -> State:
        """The current state: every version and alias (from the read cache when it matches)."""
        trail = self.storage.read_trail()
        return self.storage.state(trail, self.config.initial_stage, self._parse_events)

    def versions(self, model: str | None = None) -> list[VersionRecord]:
        """Every version (of ``model`` if given), in ledger order.

        Raises:
            NotFound: ``model`` has no versions.
        """
        state = self.state()
        if model is None:
            return state.records()
        found = state.of_model(model)
        if not found:
            raise decisions.no_model(model)
        return found

    def get(self, model: str, version: int | str) -> VersionRecord:
        """One version. Raises NotFound for an unknown model or version."""
        return decisions.find(self.state(), model, parse_version(version))

    def resolve(self, uri: str | ModelURI) -> VersionRecord:
        """The version a ``models:/`` URI names (a stage gives its highest version, as MLflow).

        A warm call costs one stat of events.jsonl (see :mod:`minireg.storage.cache`).

        Raises:
            InvalidInput: the URI is malformed.
            NotFound: the model, version, stage or alias does not exist.
        """
        parsed = parse_uri(uri) if isinstance(uri, str) else uri
        state, by_model = self._memo.get(self.storage.events_path, self.state)
        found = by_model.get(parsed.model)
        if found is None:
            found = by_model[parsed.model] = state.of_model(parsed.model)
        if not found:
            raise decisions.no_model(parsed.model)
        if parsed.version is not None:
            return decisions.find(state, parsed.model, parsed.version)
        if parsed.latest:
            return found[-1]
        if parsed.alias is not None:
            number = state.aliases.get(parsed.model, {}).get(parsed.alias)
            if number is None:
                raise NotFound(f"Model {parsed.model} has no alias @{parsed.alias}.")
            return state.versions[(parsed.model, number)]
        assert parsed.stage is not None
        stage = decisions.stage_of(self.config, parsed.stage)
        highest = next((rec for rec in reversed(found) if rec.stage == stage), None)
        if highest is None:
            raise NotFound(f"No version of {parsed.model} is in {stage}.")
        return highest

    def changed_since(self, token: object) -> tuple[bool, object]:
        """Whether the trail changed since ``token`` (from an earlier call), and a new token.

        One ``stat``: what :class:`minireg.ModelHandle` asks on every ``get``.
        """
        key = Memo.key(self.storage.events_path)
        return key != token, key

    def artifact_path(self, rec: VersionRecord) -> Path:
        """The local path of a version's artifact (a folder's files appear under ``.cache/``).

        Raises:
            NotFound: the object is missing.
            Unsafe: the object (or a file of a folder) is a symlink: its bytes live outside
                the store and may change after they were hashed.
        """
        objects = self.storage.objects
        objects.refuse_links(rec.artifact_sha256)
        if rec.is_dir:
            if objects.has(rec.artifact_sha256):
                for entry in objects.read_manifest(rec.artifact_sha256):
                    objects.refuse_links(str(entry["sha256"]))
            return objects.materialize(rec.artifact_sha256, self.storage.cache)
        path = self.storage.object_path(rec.artifact_sha256)
        if not path.is_file():
            raise NotFound(
                f"The artifact of {rec.model} version {rec.version} ({rec.artifact_sha256}) is "
                "missing from objects/; restore it from git."
            )
        return path

    def object_path(self, digest: str) -> Path:
        """Where the object ``digest`` is stored (it may be missing)."""
        return self.storage.object_path(digest)

    def manifest(self, rec: VersionRecord) -> list[dict[str, Any]]:
        """The files of a folder artifact: entries with ``path``, ``sha256`` and ``bytes``."""
        return self.storage.objects.read_manifest(rec.artifact_sha256)

    def check_artifact(self, rec: VersionRecord) -> list[str]:
        """Re-hash a version's artifact (every file of a folder); the problems found."""
        return self.storage.objects.check(rec.artifact_sha256, rec.is_dir)

    def requirements(self, rec: VersionRecord) -> str | None:
        """The pinned requirements recorded with ``rec``, None if not recorded or missing."""
        if not rec.requirements_sha256:
            return None
        data = self.storage.read_object(rec.requirements_sha256)
        return None if data is None else data.decode("utf-8", errors="replace")

    def history(
        self, model: str | None = None, version: int | None = None, since: str | None = None
    ) -> list[Event]:
        """Events, optionally of one model or version, at or after ``since`` (ISO date/time)."""
        after = parse_moment(since, "--since date") if since else None
        events = self.events()
        if model is not None and not any(e.model == model for e in events):
            raise decisions.no_model(model)
        return select_events(events, model, version, after)

    def snapshot(self, model: str, at: str | datetime) -> Snapshot:
        """Which version held each stage and alias of ``model`` at moment ``at``."""
        moment = parse_moment(at, "--at time") if isinstance(at, str) else at
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        events = self.events()
        if not any(e.model == model for e in events):
            raise decisions.no_model(model)
        state = state_at(events, moment, self.config.initial_stage)
        # Every configured stage, in configured order, so an empty one answers "nobody".
        stages: dict[str, list[int]] = {stage: [] for stage in self.config.stages}
        for rec in state.of_model(model):
            stages.setdefault(rec.stage, []).append(rec.version)
        return Snapshot(
            model=model,
            at=utc_text(moment),
            stages=stages,
            aliases=dict(sorted(state.aliases.get(model, {}).items())),
            versions=[rec.version for rec in state.of_model(model)],
        )

    def diff(self, model: str, old: int | str, new: int | str) -> VersionDiff:
        """Compare versions ``old`` and ``new`` of ``model``: fields, metrics, params, requirements.

        Raises:
            InvalidInput: a version is not a positive whole number.
            NotFound: the model or a version does not exist.
        """
        a, b = self.get(model, old), self.get(model, new)
        return diff_records(a, b, self.requirements(a), self.requirements(b))

    def query(
        self,
        model: str | None = None,
        *,
        where: str | None = None,
        sort: str | None = None,
        columns: str | None = None,
        all_columns: bool = False,
    ) -> Query:
        """The versions a pandas query picks (``minireg list --where/--sort/--columns``).

        Example:
            >>> reg.query(where="`metric.auc_roc` > 0.9", sort="-created_at").rows
        """
        from minireg.adapters.query import run_list

        cols, rows = run_list(
            self.storage, self.config, model, where, sort, columns, all_columns=all_columns
        )
        return Query(cols, rows)

    def to_pandas(self) -> pd.DataFrame:
        """Every version as a typed DataFrame: datetimes (UTC), float metrics, int versions."""
        from minireg.adapters.query import versions_frame

        return versions_frame(self.storage, self.config)

    def events_to_pandas(self) -> pd.DataFrame:
        """The audit trail as a DataFrame, one row per event."""
        from minireg.adapters.query import events_frame

        return events_frame(self.events())

    def verify(self, *, against_git: bool = False) -> Report:
        """Check the hash chain, the ledger against the events, every object, version numbers.

        Unresolved git merge conflicts in the registry are problems too. With
        ``against_git`` the audit head in the last minireg commit's trailer must
        be in the events (which catches events cut off the end). Works on a
        read-only checkout (``notes`` says it read without the lock).

        Raises:
            NotFound: ``against_git`` and no minireg commit is in the git history.
        """
        from minireg.service.verify import verify

        return verify(self.storage, self.config, self.root, against_git=against_git)

    # -- writing -------------------------------------------------------------------

    def _write(
        self, decide: Decide, *, actor: str | None, now: datetime | None
    ) -> tuple[list[Event], State]:
        who = self._actor(actor)
        return self._writer.write(decide, actor=who, time=utc_text(now or self.clock()))

    def _actor(self, actor: str | None) -> str:
        if actor:
            return check_person("actor", actor)
        from minireg.adapters.git.info import current_actor

        return current_actor()

    @contextmanager
    def committing(self, enabled: bool | None = None, message: str = "") -> Iterator[CommitOutcome]:
        """Make one git commit of the registry files the writes inside this block change.

        ``enabled`` None takes ``commit`` from ``minireg.toml``. Before anything is
        written it refuses when other changes are already staged or git has no
        author identity. The commit happens under the registry lock, right after
        each write of this thread, so concurrent writers commit in turn. It never pushes.

        Raises:
            Refused: not in a git repository, changes already staged, or no git identity.

        Example:
            >>> with reg.committing(True) as outcome:
            ...     reg.promote("churn", 7, "Production", approver="alice@corp")
            >>> outcome.sha
        """
        from minireg.adapters.git.commit import CommitOutcome, commit_hook

        if not (self.config.commit if enabled is None else enabled):
            yield CommitOutcome()
            return
        with (
            commit_hook(self.root, self.storage, message) as (hook, outcome),
            self._writer.hooked(hook),
        ):
            yield outcome

    def register(
        self,
        model: str,
        artifact: Path | str,
        *,
        metrics: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, Any] | None = None,
        data: Path | str | None = None,
        training_date: str | None = None,
        description: str = "",
        requirements: Path | str | bytes | None = None,
        flavor: str | None = None,
        code_dir: Path | str | None = None,
        actor: str | None = None,
        now: datetime | None = None,
        progress: Progress | None = None,
    ) -> VersionRecord:
        """Register a new version of ``model`` and return its record.

        Args:
            model: the model name (letters, digits, ``_``, ``.``, ``-``).
            artifact: a file or folder; it is copied into ``objects/``.
            metrics: numeric metrics; params: values stored as text; tags: text.
            data: a file or folder whose sha256 is recorded as ``data_sha256``.
            training_date: ISO date or time; defaults to the artifact's modification time.
            requirements: a requirements file or its bytes; defaults to this environment.
            flavor: joblib, pickle, skops, onnx, file or dir; detected when omitted.
            code_dir: the folder whose git commit is recorded (default: the current one).

        Raises:
            InvalidInput: a bad name, value or path. Nothing is written.
            RegistryBusy: the lock was not acquired in time.
            LocalIOError: the disk failed; the message says whether it was recorded.

        Example:
            >>> reg = minireg.open_registry()
            >>> reg.register("churn", "model.joblib", metrics={"auc_roc": 0.91})
        """
        inputs = Inputs(
            model, Path(artifact), metrics, params, tags, data, training_date, description,
            requirements, flavor, code_dir,
        )  # fmt: skip
        who = self._actor(actor)
        when = utc_text(now or self.clock())
        body = prepare(
            self.storage,
            inputs,
            initial_stage=self.config.initial_stage,
            who=who,
            when=when,
            progress=progress,
        )

        def decide(state: State) -> list[Draft]:
            return [Draft("register", model, state.next_version(model), body)]

        new, state = self._writer.write(decide, actor=who, time=when)
        version = new[0].version
        assert version is not None
        return state.versions[(model, version)]

    def promote(
        self,
        model: str,
        version: int | str,
        stage: str,
        *,
        approver: str = "",
        reason: str = "",
        archive_existing: bool = False,
        dry_run: bool = False,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Promotion:
        """Move a version to ``stage`` (MLflow's transition) if every policy check passes.

        With ``archive_existing`` the versions that held the stage move to the
        archive stage in the same locked operation, each as its own event.
        Promoting to the stage the version holds already writes nothing
        (``changed`` is False).

        Args:
            stage: the target stage, matched case-insensitively.
            approver, reason: recorded on the event as fields of their own.
            archive_existing: archive the current holders of ``stage``.
            dry_run: decide and return every check's verdict, write nothing,
                raise nothing for failed checks (see ``Promotion.allowed``).
            actor, now: who and when (default: the configured actor, the clock).

        Raises:
            InvalidInput: a bad version number, or a newline in approver or reason.
            NotFound: unknown model, version or stage.
            Refused: a check failed (``reasons`` lists each); nothing is written.

        Example:
            >>> reg.promote("churn", 7, "Production", approver="alice@corp",
            ...             reason="AUC 0.91 vs 0.88", archive_existing=True)
        """
        number = parse_version(version)
        target = decisions.stage_of(self.config, check_stage_name(stage))
        # A blank approver is no approver: "--approver ' '" must not pass a policy.
        approver = check_person("approver", approver).strip()
        check_text("reason", reason)
        plans: list[decisions.PromotionPlan] = []

        def decide(state: State) -> list[Draft]:
            plan = decisions.plan_promotion(
                state, self.config, model, number, target,
                approver=approver, reason=reason, archive_existing=archive_existing,
            )  # fmt: skip
            plans.append(plan)
            if plan.failed and not dry_run:
                raise plan.refusal()
            return [] if dry_run else plan.drafts

        if dry_run:  # decides without the lock: it writes nothing
            decide(self.state())
            return Promotion.of(plans[-1], [], dry_run=True)
        new, _ = self._write(decide, actor=actor, now=now)
        return Promotion.of(plans[-1], new)

    # MLflow's word for the same verb.
    transition_model_version_stage = promote

    def set_alias(
        self,
        model: str,
        alias: str,
        version: int | str,
        *,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Change:
        """Point ``@alias`` of ``model`` at ``version`` (moving it if another version had it)."""
        check_alias(alias)
        number = parse_version(version)
        new, _ = self._write(
            lambda state: decisions.alias_set(state, model, alias, number), actor=actor, now=now
        )
        if not new:
            return Change(
                [], f"@{alias} already points to {model} version {number}; nothing to do."
            )
        return Change(new, f"@{alias} now points to {model} version {number}.")

    def delete_alias(
        self, model: str, alias: str, *, actor: str | None = None, now: datetime | None = None
    ) -> Change:
        """Remove ``@alias`` from ``model``. Raises NotFound if it does not exist."""
        new, _ = self._write(
            lambda state: decisions.alias_delete(state, model, alias), actor=actor, now=now
        )
        return Change(new, f"@{alias} of {model} is deleted.")

    def set_description(
        self,
        model: str,
        version: int | str,
        description: str,
        *,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Change:
        """Set a version's description (MLflow: ``update_model_version(description=)``)."""
        check_text("description", description)
        number = parse_version(version)
        new, _ = self._write(
            lambda state: decisions.description(state, model, number, description),
            actor=actor,
            now=now,
        )
        if not new:
            return Change(
                [], f"{model} version {number} already has that description; nothing to do."
            )
        return Change(new, f"{model} version {number} is described.")

    def set_tag(
        self,
        model: str,
        version: int | str,
        key: str,
        value: str,
        *,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Change:
        """Set a tag on a version (MLflow: ``set_model_version_tag``)."""
        check_text(f"tag {key!r}", value)
        return self._tag(model, version, key, value, actor=actor, now=now)

    def delete_tag(
        self,
        model: str,
        version: int | str,
        key: str,
        *,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Change:
        """Remove a tag from a version (MLflow: ``delete_model_version_tag``)."""
        return self._tag(model, version, key, None, actor=actor, now=now)

    def _tag(
        self,
        model: str,
        version: int | str,
        key: str,
        value: str | None,
        *,
        actor: str | None,
        now: datetime | None,
    ) -> Change:
        check_key("tag", key)
        number = parse_version(version)
        new, _ = self._write(
            lambda state: decisions.tag(state, model, number, key, value), actor=actor, now=now
        )
        shown = f"{key}={value}" if value is not None else f"{key} removed"
        if not new:
            return Change([], f"{model} version {number} already has tag {shown}; nothing to do.")
        if value is None:
            return Change(new, f"{model} version {number}: tag {key} is removed.")
        return Change(new, f"{model} version {number} is tagged {key}={value}.")

    def describe(self, model: str, version: int | str, text: str, **kw: Any) -> Change:
        """Deprecated: use :meth:`set_description`."""
        warnings.warn("Registry.describe is set_description now", DeprecationWarning, 2)
        return self.set_description(model, version, text, **kw)

    def tag(self, model: str, version: int | str, key: str, value: str | None, **kw: Any) -> Change:
        """Deprecated: use :meth:`set_tag` or :meth:`delete_tag`."""
        warnings.warn("Registry.tag is set_tag / delete_tag now", DeprecationWarning, 2)
        if value is None:
            return self.delete_tag(model, version, key, **kw)
        return self.set_tag(model, version, key, value, **kw)

    # -- maintenance -----------------------------------------------------------------

    def rebuild(self) -> int:
        """Regenerate the ledger from the events; return the number of versions.

        Raises:
            IntegrityError: the trail does not check out (restore it from git first).
        """
        with self._writer.locked() as (trail, state):
            self.storage.write_ledger(self._writer.render(state, trail.lines), trail.digest)
            self._writer.notify([], state.head, "minireg: rebuild the ledger from the events")
        return len(state.versions)

    def gc(self, *, dry_run: bool = False, grace: float | None = None) -> Collection:
        """List (``dry_run``) or remove the objects no version references, under the lock.

        Objects younger than ``grace`` seconds (default an hour) are kept: a
        ``register`` in flight stores its objects before it takes the lock.

        Raises:
            IntegrityError: the trail does not check out (gc would guess).
        """
        from minireg.service.gc import DEFAULT_GRACE, referenced, sweep

        with self._writer.locked() as (trail, state):
            objects = self.storage.objects
            needed = referenced(objects, self._parse_events(trail.lines))
            wait = DEFAULT_GRACE if grace is None else grace
            result = sweep(objects, needed, dry_run=dry_run, grace=wait, now=self.clock())
            if result.removed:
                subject = f"minireg: gc removed {len(result.removed)} unreferenced objects"
                self._writer.notify([], state.head, subject)
        return result

    def convert(self, to: str) -> Conversion:
        """Switch the ledger to format ``to`` (csv or xlsx); ``.registry`` is the new Registry.

        Order matters for a crash: the new ledger first, then the settings, then
        the old ledger goes; a crash in between leaves both ledgers, which
        ``verify`` names and a second ``convert`` finishes.

        Raises:
            InvalidInput: an unknown format, or a minireg.toml that cannot be updated.
        """
        from minireg.service.spreadsheet import new_settings

        with self._writer.locked() as (trail, state):
            text = self.storage.read_config_text()
            old, fmt, new_text, config = new_settings(text, to, self.root)
            data = self._writer.render(state, trail.lines, fmt)
            self.storage.write_ledger(data, trail.digest, fmt)
            if new_text != text:
                self.storage.write_config_text(new_text)
            gone = self.storage.remove_ledger("csv" if fmt == "xlsx" else "xlsx")
            self._writer.notify([], state.head, f"minireg: convert the ledger to {fmt}")
        removed = self.storage.ledger_path_for("csv" if fmt == "xlsx" else "xlsx").name
        return Conversion(
            old, fmt, len(state.versions), removed if gone else "", Registry(self.root, config)
        )

    def export_csv(self, out: Path | str, *, excel: bool = False) -> int:
        """Write the ledger as CSV to ``out`` (outside the registry); the number of versions.

        ``excel`` quotes formula-like cells and adds a byte order mark for Excel.
        """
        from minireg.service.spreadsheet import write_csv

        return write_csv(self.root, self.state().records(), Path(out), excel=excel)

    def export_xlsx(self, out: Path | str) -> int:
        """Write the ledger workbook (ledger and audit sheets) to ``out``; the version count."""
        from minireg.service.spreadsheet import write_xlsx

        events = self.events()
        return write_xlsx(self.root, self.state().records(), events, Path(out))
