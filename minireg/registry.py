"""The service behind the API and the CLI: one locked operation per verb."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minireg._version import __version__
from minireg.domain import ledger as ledger_view
from minireg.domain.chain import parse_events
from minireg.domain.config import DEFAULT_TOML, Config, parse_config
from minireg.domain.names import (
    check_alias,
    check_key,
    check_model_name,
    check_person,
    check_stage_name,
    check_text,
)
from minireg.domain.policies import Check, Proposal, evaluate
from minireg.domain.records import Draft, Event, VersionRecord, chain
from minireg.domain.state import State, apply, fold
from minireg.domain.uris import ModelURI, parse_uri
from minireg.errors import IntegrityError, InvalidInput, NotFound, Refused
from minireg.inputs import parse_moment, parse_version, utc_text
from minireg.storage.atomic import atomic_write
from minireg.storage.files import (
    CONFIG_NAME,
    CSV_NAME,
    EVENTS_NAME,
    XLSX_NAME,
    FileStorage,
)
from minireg.storage.lock import LOCK_NAME, lock_timeout
from minireg.storage.objects import Progress, hash_path

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("minireg")

TOOL = f"minireg {__version__}"
DEFAULT_DIR = "registry"
FLAVORS = ("joblib", "pickle", "skops", "onnx", "file", "dir")
_EXT_FLAVORS = {
    ".joblib": "joblib",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".skops": "skops",
    ".onnx": "onnx",
}
GITIGNORE = f"""\
# minireg: the lock file, temporary files and the folder-artifact cache are not history.
{LOCK_NAME}
.tmp-*
objects/.tmp-*
.cache/
"""
GITATTRIBUTES = f"""\
# minireg: keep the ledger and the audit trail one line per record, LF everywhere.
{CSV_NAME} text eol=lf
{EVENTS_NAME} text eol=lf
# minireg: merge both branches' events (and rebuild the ledger) with the minireg merge
# driver; each clone installs it once with `minireg install-merge-driver`.
{CSV_NAME} merge=minireg
{EVENTS_NAME} merge=minireg
"""

Clock = Callable[[], datetime]
AfterWrite = Callable[[list[Event], "Event | None", str], None]
"""Called under the lock after a write with (new events, audit head, message or "")."""


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def detect_flavor(artifact: Path) -> str:
    """The flavor of an artifact from its kind and extension."""
    if artifact.is_dir():
        return "dir"
    return _EXT_FLAVORS.get(artifact.suffix.lower(), "file")


def _installed(folder: Path) -> list[tuple[str, str]]:
    """(name, version) of the distributions installed in one ``sys.path`` folder.

    A ``NAME-VERSION.dist-info`` folder name carries both (wheels write them
    normalised), so the metadata file is read only for other forms (egg-info):
    parsing every METADATA file made a ``register`` about 100 ms slower.
    """
    from importlib.metadata import Distribution

    found: list[tuple[str, str]] = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return found
    for entry in entries:
        if entry.endswith(".dist-info"):
            name, sep, version = entry[: -len(".dist-info")].partition("-")
            if name and sep and version and "-" not in version:
                found.append((name, version))
                continue
        elif not entry.endswith(".egg-info"):
            continue
        dist = Distribution.at(folder / entry)
        meta_name = dist.metadata["Name"] if dist.metadata else None
        if meta_name:
            found.append((meta_name, dist.version))
    return found


def environment_requirements() -> bytes:
    """The installed distributions of this environment, ``name==version`` per line, sorted.

    The first of several installs of one name on ``sys.path`` wins, as for imports.
    """
    seen: dict[str, str] = {}
    for entry in sys.path:
        for name, version in _installed(Path(entry or ".")):
            seen.setdefault(name.lower().replace("_", "-"), version)
    return "".join(f"{name}=={version}\n" for name, version in sorted(seen.items())).encode()


def locate(path: Path | str | None = None, *, cwd: Path | None = None) -> Path:
    """The registry folder: ``path``, else ``MINIREG_REGISTRY``, else the nearest ``registry/``.

    The search walks up from ``cwd`` and stops at the git root. Without one it
    answers ``registry/`` at the git root (or ``cwd``), which may not exist yet.
    """
    if path is not None and str(path) != "":
        return Path(path)
    env = os.environ.get("MINIREG_REGISTRY", "")
    if env:
        return Path(env)
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_DIR
        if (candidate / CONFIG_NAME).is_file():
            return candidate
        if (folder / ".git").exists():
            return candidate
    return here / DEFAULT_DIR


def _read_config(root: Path) -> Config:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    try:
        raw = tomllib.loads((root / CONFIG_NAME).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{root / CONFIG_NAME} is not valid TOML ({exc}).") from exc
    return parse_config(raw)


def init_registry(path: Path | str | None = None) -> tuple[Registry, bool]:
    """Create a registry (or find the existing one); return it and whether it was created.

    An existing registry is left exactly as it is.
    """
    root = locate(path)
    if (root / CONFIG_NAME).is_file():
        return open_registry(root), False
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"{root} exists and is not a folder; choose another --registry.")
    root.mkdir(parents=True, exist_ok=True)
    (root / "objects").mkdir(exist_ok=True)
    for name, text in (
        (".gitignore", GITIGNORE),
        (".gitattributes", GITATTRIBUTES),
        (EVENTS_NAME, ""),
        (CSV_NAME, ledger_view.render_csv([]).decode()),
    ):
        if not (root / name).exists():
            atomic_write(root / name, text.encode())
    # The settings go last: their presence is what marks a complete registry.
    atomic_write(root / CONFIG_NAME, DEFAULT_TOML.encode())
    return open_registry(root), True


def open_registry(path: Path | str | None = None) -> Registry:
    """Open the registry at ``path`` (or the one found from the current folder).

    Raises:
        NotFound: no registry is there.
        InvalidInput: its ``minireg.toml`` is not valid.
    """
    root = locate(path)
    if not (root / CONFIG_NAME).is_file():
        raise NotFound(f"No minireg registry at {root}; create one with `minireg init`.")
    return Registry(root, _read_config(root))


@dataclass(frozen=True)
class Promotion:
    """What a promotion did (or, in a dry run, would do)."""

    model: str
    version: int
    from_stage: str
    to_stage: str
    changed: bool
    archived: list[int]
    checks: list[Check]
    events: list[Event]
    dry_run: bool = False
    # The version models:/MODEL/<to_stage> resolves to afterwards (the highest in the stage,
    # as in MLflow): not ``version`` when a higher one holds a non-exclusive stage too.
    serving: int | None = None

    @property
    def allowed(self) -> bool:
        """True when every check passed."""
        return all(check.passed for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {
            "model": self.model,
            "version": self.version,
            "from": self.from_stage,
            "to": self.to_stage,
            "changed": self.changed,
            "allowed": self.allowed,
            "archived": self.archived,
            "dry_run": self.dry_run,
            "serving": self.serving,
            "checks": [c.to_dict() for c in self.checks],
            "events": [e.to_dict() for e in self.events],
        }


@dataclass(frozen=True)
class Change:
    """What a small verb (alias, describe, tag) wrote: its events, or none for a no-op."""

    events: list[Event]
    message: str

    @property
    def changed(self) -> bool:
        return bool(self.events)


@dataclass(frozen=True)
class Snapshot:
    """Which version held each stage and alias of a model at one moment."""

    model: str
    at: str
    stages: dict[str, list[int]]
    aliases: dict[str, int]
    versions: list[int]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "at": self.at,
            "stages": self.stages,
            "aliases": self.aliases,
            "versions": self.versions,
        }


@dataclass
class Report:
    """What ``verify`` found: every problem, grouped by where it lives."""

    events: int = 0
    versions: int = 0
    objects: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class Registry:
    """One registry folder. Reads fold the events; each write is one locked operation."""

    def __init__(self, root: Path, config: Config) -> None:
        self.root = root
        self.config = config
        self.storage = FileStorage(root, config.format, lock_timeout(config.lock_timeout))
        self.clock: Clock = _utc_now
        # Set by minireg.gitcommit.committing: commits the written files before the lock is let go.
        self.after_write: AfterWrite | None = None
        # resolve()'s cache: the folded state and per-model version lists, keyed by a stat
        # of events.jsonl, so a serving process re-reads the trail only after a write.
        self._read_cache: tuple[tuple[int, int, int], State, dict[str, list[VersionRecord]]]
        self._read_cache = ((-1, -1, -1), State(), {})

    # -- reading -------------------------------------------------------------

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
        """The current state: every version and alias (from the state cache when it matches)."""
        from minireg.storage.state_cache import cached_state

        lines = self.storage.read_event_lines()
        return cached_state(
            lines, self.storage.cache, self.config.initial_stage, self._parse_events
        )

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
            raise self._no_model(model)
        return found

    def get(self, model: str, version: int | str) -> VersionRecord:
        """One version. Raises NotFound for an unknown model or version."""
        return self._find(self.state(), model, parse_version(version))

    def _cached_read(self) -> tuple[State, dict[str, list[VersionRecord]]]:
        """The folded state for read-only use, folded again only when events.jsonl changed.

        The key is the file's (inode, size, mtime_ns): an append grows it, an atomic
        rewrite or a git checkout replaces the inode. The stat comes before the read, so
        a write racing the read costs one extra fold later, never a stale answer.
        """
        try:
            st = os.stat(self.storage.events_path)
            key = (st.st_ino, st.st_size, st.st_mtime_ns)
        except FileNotFoundError:
            key = (-1, -1, -1)
        cached_key, state, by_model = self._read_cache
        if key != cached_key or key[0] == -1:
            state, by_model = self.state(), {}
            self._read_cache = (key, state, by_model)
        return state, by_model

    def resolve(self, uri: str | ModelURI) -> VersionRecord:
        """The version a ``models:/`` URI names (a stage gives its highest version, as MLflow).

        A warm call costs one stat of events.jsonl: the folded state is cached until the
        file changes.

        Raises:
            InvalidInput: the URI is malformed.
            NotFound: the model, version, stage or alias does not exist.
        """
        parsed = parse_uri(uri) if isinstance(uri, str) else uri
        state, by_model = self._cached_read()
        found = by_model.get(parsed.model)
        if found is None:
            found = by_model[parsed.model] = state.of_model(parsed.model)
        if not found:
            raise self._no_model(parsed.model)
        if parsed.version is not None:
            return self._find(state, parsed.model, parsed.version)
        if parsed.latest:
            return found[-1]
        if parsed.alias is not None:
            number = state.aliases.get(parsed.model, {}).get(parsed.alias)
            if number is None:
                raise NotFound(f"Model {parsed.model} has no alias @{parsed.alias}.")
            return state.versions[(parsed.model, number)]
        assert parsed.stage is not None
        stage = self._stage(parsed.stage)
        highest = next((rec for rec in reversed(found) if rec.stage == stage), None)
        if highest is None:
            raise NotFound(f"No version of {parsed.model} is in {stage}.")
        return highest

    def artifact_path(self, rec: VersionRecord) -> Path:
        """The local path of a version's artifact (a folder's files appear under ``.cache/``)."""
        if rec.is_dir:
            return self.storage.objects.materialize(rec.artifact_sha256, self.storage.cache)
        path = self.storage.object_path(rec.artifact_sha256)
        if not path.is_file():
            raise NotFound(
                f"The artifact of {rec.model} version {rec.version} ({rec.artifact_sha256}) is "
                "missing from objects/; restore it from git."
            )
        return path

    def history(
        self, model: str | None = None, version: int | None = None, since: str | None = None
    ) -> list[Event]:
        """Events, optionally of one model or version, at or after ``since`` (ISO date/time)."""
        after = parse_moment(since, "--since date") if since else None
        events = self.events()
        if model is not None and not any(e.model == model for e in events):
            raise self._no_model(model)
        found = []
        for event in events:
            if model is not None and event.model != model:
                continue
            if version is not None and event.version != version:
                continue
            if after is not None and parse_moment(event.time) < after:
                continue
            found.append(event)
        return found

    def snapshot(self, model: str, at: str | datetime) -> Snapshot:
        """Which version held each stage and alias of ``model`` at moment ``at``."""
        moment = parse_moment(at, "--at time") if isinstance(at, str) else at
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        events = self.events()
        if not any(e.model == model for e in events):
            raise self._no_model(model)
        state = State(initial_stage=self.config.initial_stage)
        # Skip later events rather than stop at the first: a trail merged from two git
        # branches (or written with explicit times) need not be in time order.
        for event in events:
            if parse_moment(event.time) <= moment:
                apply(state, event)
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

    def to_pandas(self) -> pd.DataFrame:
        """Every version as a typed DataFrame: datetimes (UTC), float metrics, int versions."""
        from minireg.query import versions_frame

        return versions_frame(self)

    def events_to_pandas(self) -> pd.DataFrame:
        """The audit trail as a DataFrame, one row per event."""
        from minireg.query import events_frame

        return events_frame(self)

    # -- writing -------------------------------------------------------------

    def _now(self, now: datetime | None) -> str:
        return utc_text(now or self.clock())

    def _actor(self, actor: str | None) -> str:
        if actor:
            return check_person("actor", actor)
        from minireg.gitinfo import current_actor

        return current_actor()

    def _commit(
        self, drafts_for: Callable[[State], list[Draft]], *, actor: str | None, now: datetime | None
    ) -> tuple[list[Event], State]:
        """Decide under the lock, then write: events first, then the ledger view."""
        who = self._actor(actor)
        with self.storage.lock():
            events = self.events()
            state = fold(events, self.config.initial_stage)
            drafts = drafts_for(state)
            if not drafts:
                return [], state
            new = chain(drafts, head=state.head, time=self._now(now), actor=who, tool=TOOL)
            self.storage.append_events(new)
            for event in new:
                apply(state, event)
            self.storage.write_ledger(state.records(), [*events, *new])
            if self.after_write is not None:
                self.after_write(new, state.head, "")
        return new, state

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
            NotFound: the registry does not exist.
            RegistryBusy: the lock was not acquired in time.

        Example:
            >>> reg = minireg.open_registry()
            >>> reg.register("churn", "model.joblib", metrics={"auc_roc": 0.91})
        """
        # Check every input before anything touches the disk.
        check_model_name(model)
        from minireg.inputs import metrics_from, params_from, tags_from

        metric_values = metrics_from(given=metrics)
        param_values = params_from(given=params)
        tag_values = tags_from(given=tags)
        check_text("description", description)
        source = Path(artifact)
        if source.is_symlink() and not source.exists():
            raise InvalidInput(f"The artifact {source} is a broken symlink.")
        if not source.exists():
            raise InvalidInput(f"The artifact {source} does not exist.")
        chosen = flavor or detect_flavor(source)
        if chosen not in FLAVORS:
            raise InvalidInput(f"Flavor {chosen!r} is not known; use one of {', '.join(FLAVORS)}.")
        if chosen == "dir" and not source.is_dir():
            raise InvalidInput(f"Flavor 'dir' needs a folder, but {source} is a file.")
        if training_date:
            parse_moment(training_date, "training date")
            trained = training_date.strip()
        else:
            trained = utc_text(datetime.fromtimestamp(source.stat().st_mtime, timezone.utc))
        data_sha = ""
        if data is not None:
            data_path = Path(data)
            if not data_path.exists():
                raise InvalidInput(f"The data path {data_path} does not exist.")
            data_sha = hash_path(data_path)
        req_bytes: bytes
        if isinstance(requirements, bytes):
            req_bytes = requirements
        elif requirements is not None:
            try:
                req_bytes = Path(requirements).read_bytes()
            except OSError as exc:
                raise InvalidInput(
                    f"The requirements file {requirements} is not readable."
                ) from exc
        else:
            req_bytes = environment_requirements()

        from minireg.gitinfo import describe

        git = describe(Path(code_dir) if code_dir else Path.cwd(), exclude=self.root)
        if git.note:
            log.info(git.note)
        who = self._actor(actor)

        # Objects go in before the lock: they are content-addressed, so a
        # concurrent writer storing the same bytes is harmless, and a long copy
        # does not hold up other writers.
        stored = self.storage.objects.put_path(source, progress)
        req_sha = self.storage.put_object(req_bytes)
        when = self._now(now)
        body = {
            "stage": self.config.initial_stage,
            "created_at": when,
            "registered_by": who,
            "git_commit": git.commit,
            "git_branch": git.branch,
            "git_dirty": git.dirty,
            "training_date": trained,
            "data_sha256": data_sha,
            "artifact": source.name + ("/" if stored.is_dir else ""),
            "artifact_sha256": stored.sha256,
            "artifact_bytes": stored.bytes,
            "flavor": chosen,
            "requirements_sha256": req_sha,
            "description": description,
            "metrics": metric_values,
            "params": param_values,
            "tags": tag_values,
        }

        appended = self._register_appending(model, body, who, now)
        if appended is not None:
            return appended

        def drafts(state: State) -> list[Draft]:
            return [Draft("register", model, state.next_version(model), body)]

        new, state = self._commit(drafts, actor=who, now=now)
        version = new[0].version
        assert version is not None
        return state.versions[(model, version)]

    def _register_appending(
        self, model: str, body: dict[str, Any], who: str, now: datetime | None
    ) -> VersionRecord | None:
        """Register by inserting one ledger row, without folding every event; None if unsure.

        Only when the ledger stamp vouches that ``ledger.csv`` is exactly the
        view of the current events: the new version's number then comes from
        the model's last row, and the chain's head from the last event line.
        The result is byte for byte what :meth:`_commit` would write; it keeps
        a register O(size of the files) instead of O(parsing every event).
        """
        if self.config.format != "csv":
            return None
        from minireg.domain import ledger_append
        from minireg.storage.stamp import trusted_ledger

        storage = self.storage
        with storage.lock():
            data = trusted_ledger(storage.cache, storage.events_path, storage.ledger_path)
            plan = ledger_append.plan(data, model) if data is not None else None
            if plan is None:
                return None
            line = storage.last_event_line()
            head = Event.from_line(line) if line is not None else None
            draft = Draft("register", model, plan.next_version, body)
            new = chain([draft], head=head, time=self._now(now), actor=who, tool=TOOL)
            state = State(initial_stage=self.config.initial_stage)
            apply(state, new[0])
            rec = state.versions[(model, plan.next_version)]
            ledger = plan.insert(rec)
            if ledger is None:
                return None
            storage.append_events(new)
            storage.write_ledger_bytes(ledger)
            if self.after_write is not None:
                self.after_write(new, new[0], "")
        return rec

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
        """Move a version to ``stage`` if every policy check passes.

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

        Returns:
            A :class:`Promotion`: its checks, the archived versions and the new events.

        Raises:
            InvalidInput: a bad version number, a control character in the stage or the
                approver, or a newline in the reason.
            NotFound: unknown model, version or stage.
            Refused: a check failed (``reasons`` lists each); nothing is written.

        Example:
            >>> reg.promote("churn", 7, "Production", approver="alice@corp",
            ...             reason="AUC 0.91 vs 0.88", archive_existing=True)
        """
        number = parse_version(version)
        target = self._stage(check_stage_name(stage))
        # A blank approver is no approver: "--approver ' '" must not pass a policy.
        approver = check_person("approver", approver).strip()
        check_text("reason", reason)
        result: list[Promotion] = []

        def drafts(state: State) -> list[Draft]:
            rec = self._find(state, model, number)
            holders = [h for h in state.holders(model, target) if h.version != number]
            if rec.stage == target:
                serving = max([number, *(h.version for h in holders)])
                result.append(
                    Promotion(
                        model=model,
                        version=number,
                        from_stage=rec.stage,
                        to_stage=target,
                        changed=False,
                        archived=[],
                        checks=[],
                        events=[],
                        dry_run=dry_run,
                        serving=serving,
                    )
                )
                return []
            proposal = Proposal(rec, target, approver, reason, archive_existing)
            checks = evaluate(self.config, proposal, holders)
            # Archiving into the archive stage itself would move versions nowhere.
            moving = archive_existing and target != self.config.archive_stage
            archived = [h.version for h in holders] if moving else []
            serving = max([number, *(h.version for h in holders if h.version not in archived)])
            result.append(
                Promotion(
                    model=model,
                    version=number,
                    from_stage=rec.stage,
                    to_stage=target,
                    changed=True,
                    archived=archived,
                    checks=checks,
                    events=[],
                    dry_run=dry_run,
                    serving=serving,
                )
            )
            failed = [c for c in checks if not c.passed]
            if dry_run:
                return []
            if failed:
                raise Refused(
                    f"Promotion of {model} version {number} to {target} is refused: "
                    + "; ".join(f"{c.name}: {c.detail}" for c in failed)
                    + ".",
                    [f"{c.name}: {c.detail}" for c in failed],
                )
            out = [
                Draft(
                    "transition",
                    model,
                    h.version,
                    {"from": h.stage, "to": self.config.archive_stage, "archived_by": number},
                    approver=approver,
                    reason=f"archived by the promotion of version {number} to {target}",
                )
                for h in holders
                if moving
            ]
            out.append(
                Draft(
                    "transition",
                    model,
                    number,
                    {"from": rec.stage, "to": target},
                    approver=approver,
                    reason=reason,
                )
            )
            return out

        if dry_run:
            # A dry run decides without the lock: it writes nothing.
            drafts(self.state())
            return result[0]
        new, _ = self._commit(drafts, actor=actor, now=now)
        return replace(result[0], events=new, dry_run=False)

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

        def drafts(state: State) -> list[Draft]:
            self._find(state, model, number)
            old = state.aliases.get(model, {}).get(alias)
            if old == number:
                return []
            return [Draft("alias_set", model, number, {"alias": alias, "previous": old})]

        new, _ = self._commit(drafts, actor=actor, now=now)
        if not new:
            return Change(
                [], f"@{alias} already points to {model} version {number}; nothing to do."
            )
        return Change(new, f"@{alias} now points to {model} version {number}.")

    def delete_alias(
        self, model: str, alias: str, *, actor: str | None = None, now: datetime | None = None
    ) -> Change:
        """Remove ``@alias`` from ``model``. Raises NotFound if it does not exist."""

        def drafts(state: State) -> list[Draft]:
            if not state.of_model(model):
                raise self._no_model(model)
            old = state.aliases.get(model, {}).get(alias)
            if old is None:
                raise NotFound(f"Model {model} has no alias @{alias}.")
            return [Draft("alias_delete", model, old, {"alias": alias})]

        new, _ = self._commit(drafts, actor=actor, now=now)
        return Change(new, f"@{alias} of {model} is deleted.")

    def describe(
        self,
        model: str,
        version: int | str,
        text: str,
        *,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Change:
        """Set a version's description."""
        check_text("description", text)
        number = parse_version(version)

        def drafts(state: State) -> list[Draft]:
            rec = self._find(state, model, number)
            if rec.description == text:
                return []
            return [
                Draft("describe", model, number, {"description": text, "previous": rec.description})
            ]

        new, _ = self._commit(drafts, actor=actor, now=now)
        if not new:
            return Change(
                [], f"{model} version {number} already has that description; nothing to do."
            )
        return Change(new, f"{model} version {number} is described.")

    def tag(
        self,
        model: str,
        version: int | str,
        key: str,
        value: str | None,
        *,
        actor: str | None = None,
        now: datetime | None = None,
    ) -> Change:
        """Set (or, with ``value=None``, remove) a tag on a version."""
        check_key("tag", key)
        if value is not None:
            check_text(f"tag {key!r}", value)
        number = parse_version(version)

        def drafts(state: State) -> list[Draft]:
            rec = self._find(state, model, number)
            if rec.tags.get(key) == value:
                return []
            return [
                Draft(
                    "tag",
                    model,
                    number,
                    {"key": key, "value": value, "previous": rec.tags.get(key)},
                )
            ]

        new, _ = self._commit(drafts, actor=actor, now=now)
        if not new:
            return Change(
                [], f"{model} version {number} already has tag {key}={value}; nothing to do."
            )
        return Change(new, f"{model} version {number} is tagged {key}={value}.")

    # -- integrity -------------------------------------------------------------

    def verify(self, *, against_git: bool = False) -> Report:
        """Check the hash chain, the ledger against the events, every object, version numbers.

        Unresolved git merge conflicts in the registry are problems too. With
        ``against_git`` the audit head in the last minireg commit's trailer must
        be in the events (which catches events cut off the end).

        Raises:
            NotFound: ``against_git`` and no minireg commit is in the git history.
        """
        report = Report()
        with self.storage.lock():
            lines = self.storage.read_event_lines()
            events, problems = parse_events(lines)
            report.events = len(lines)
            report.problems.extend(f"{EVENTS_NAME} {p}" for p in problems)
            state = fold(events, self.config.initial_stage)
            report.versions = len(state.versions)
            report.problems.extend(f"{EVENTS_NAME} {p}" for p in state.anomalies)
            report.problems.extend(self._check_ledger(state.records(), events))
            for rec in state.records():
                where = f"{rec.model} v{rec.version}"
                for digest, is_dir in (
                    (rec.artifact_sha256, rec.is_dir),
                    (rec.requirements_sha256, False),
                ):
                    if not digest:
                        continue
                    report.objects += 1
                    report.problems.extend(
                        f"{where}: {p}" for p in self.storage.objects.check(digest, is_dir)
                    )
        from minireg.gitcommit import git_problems

        report.problems.extend(git_problems(self.root, events, against_git=against_git))
        return report

    def _check_ledger(self, records: list[VersionRecord], events: list[Event]) -> list[str]:
        path = self.storage.ledger_path
        other = self.root / (CSV_NAME if self.config.format == "xlsx" else XLSX_NAME)
        problems = []
        if not path.is_file():
            return [f"{path.name} is missing; run `minireg rebuild`"]
        if self.config.format == "xlsx":
            from minireg.storage.ledger_xlsx import compare_workbook

            problems = compare_workbook(records, events, path.read_bytes())
        else:
            problems = ledger_view.compare(records, path.read_bytes(), path.name)
        if other.exists() and other.name == XLSX_NAME:
            problems.append(
                f"{other.name} exists but the format is {self.config.format}; remove it"
            )
        if problems:
            problems.append(f"run `minireg rebuild` to regenerate {path.name} from the events")
        return problems

    def rebuild(self) -> int:
        """Regenerate the ledger from the events; return the number of versions."""
        with self.storage.lock():
            events = self.events()
            state = fold(events, self.config.initial_stage)
            self.storage.write_ledger(state.records(), events)
            if self.after_write is not None:
                self.after_write([], state.head, "minireg: rebuild the ledger from the events")
        return len(state.versions)

    # -- helpers ---------------------------------------------------------------

    def _stage(self, name: str) -> str:
        stage = self.config.stage(name)
        if stage is None:
            raise NotFound(
                f"Stage {name!r} does not exist; the stages are {', '.join(self.config.stages)}."
            )
        return stage

    @staticmethod
    def _no_model(model: str) -> NotFound:
        return NotFound(f"Model {model!r} is not in the registry; `minireg list` shows the models.")

    def _find(self, state: State, model: str, version: int) -> VersionRecord:
        rec = state.versions.get((model, version))
        if rec is not None:
            return rec
        if not state.of_model(model):
            raise self._no_model(model)
        latest = state.next_version(model) - 1
        raise NotFound(f"Model {model} has no version {version}; its latest version is {latest}.")
