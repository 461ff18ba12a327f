"""The reading verbs of a Registry: versions, URIs, artifacts, history, queries, verify."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minireg.domain import decisions
from minireg.domain.records import Event, VersionRecord
from minireg.domain.state import State
from minireg.domain.uris import ModelURI, parse_uri
from minireg.domain.values import parse_moment, parse_version, utc_text
from minireg.errors import NotFound
from minireg.service.results import Query, Report, Snapshot
from minireg.service.transfers import is_cached, local_artifact, local_object
from minireg.storage.cache import TrailEnd

if TYPE_CHECKING:
    import pandas as pd

    from minireg.domain.diff import VersionDiff
    from minireg.domain.listing import Listing


from minireg.service.core import RegistryCore


class Reads(RegistryCore):
    """The reading verbs of a Registry: versions, URIs, artifacts, history, queries, verify."""

    def versions(self, model: str | None = None) -> list[VersionRecord]:
        """Every version (of ``model`` if given), in ledger order.

        Raises:
            NotFound: ``model`` has no versions.
        """
        state = self._shared_state()
        if model is None:
            return state.records()
        found = state.of_model(model)
        if not found:
            raise decisions.no_model(model)
        return found

    def listing(self, model: str | None = None, *, newest: int | None = None) -> Listing:
        """The table ``minireg list`` shows: every version (of ``model``), or the ``newest``.

        Read from ``ledger.csv`` when the ledger stamp vouches that it is exactly the
        view of the events (no fold: a fraction of a second at 100,000 versions, and
        only the rows shown are parsed); otherwise from the folded state. Both give
        the same cells (see :mod:`minireg.domain.listing`).

        Raises:
            NotFound: ``model`` has no versions.
        """
        from minireg.domain import listing

        if self.config.format == "csv":
            ledger = self.storage.vouched_ledger(self.storage.trail_end())
            found = None if ledger is None else listing.of_ledger(ledger, model, newest)
            if found is not None:
                if model is not None and not found.total:
                    raise decisions.no_model(model)
                return found
        return listing.of_records(self.versions(model), newest, one_model=model is not None)

    def get(self, model: str, version: int | str) -> VersionRecord:
        """One version. Raises NotFound for an unknown model or version."""
        return decisions.find(self._shared_state(), model, parse_version(version))

    def resolve(self, uri: str | ModelURI) -> VersionRecord:
        """The version a ``models:/`` URI names (a stage gives its highest version, as MLflow).

        A warm call costs one short read of events.jsonl (see :mod:`minireg.storage.cache`).

        Raises:
            InvalidInput: the URI is malformed.
            NotFound: the model, version, stage or alias does not exist.
        """
        parsed = parse_uri(uri) if isinstance(uri, str) else uri
        state, answers = self._memo.get(self.storage.ends_at, self._fold)
        found = answers.get(parsed)
        if found is None:
            found = answers[parsed] = self._resolve_in(state, parsed)
        return found

    def _resolve_in(self, state: State, parsed: ModelURI) -> VersionRecord:
        model = parsed.model
        if not state.versions.has_model(model):
            raise decisions.no_model(model)
        if parsed.version is not None:
            return decisions.find(state, model, parsed.version)
        if parsed.latest:
            return state.versions[(model, state.next_version(model) - 1)]
        if parsed.alias is not None:
            number = state.aliases.get(model, {}).get(parsed.alias)
            if number is None:
                raise NotFound(f"Model {model} has no alias @{parsed.alias}.")
            return state.versions[(model, number)]
        assert parsed.stage is not None
        stage = decisions.stage_of(self.config, parsed.stage)
        held = state.versions.in_stage(model, stage)
        if not held:
            raise NotFound(f"No version of {model} is in {stage}.")
        return state.versions[(model, held[-1])]

    def changed_since(self, token: object) -> tuple[bool, object]:
        """Whether the trail changed since ``token`` (from an earlier call), and a new token.

        One short read of the trail's end: what :class:`minireg.ModelHandle` asks on
        every ``get``.
        """
        if isinstance(token, TrailEnd) and self.storage.ends_at(token):
            return False, token
        return True, self.storage.trail_end()

    def artifact_path(self, rec: VersionRecord, *, fetch: bool = True) -> Path:
        """The local path of a version's artifact (a folder's files appear under ``.cache/``).

        With a remote set, a missing object is downloaded into the local cache and
        checked against its digest first; with ``fetch`` False, nothing is downloaded
        and the answer is where the artifact will be once fetched.

        Raises:
            NotFound: the object is missing (here and, with a remote, there: the key is named).
            IntegrityError: a downloaded object does not match its digest; it is not kept.
            RemoteError: the remote is unreachable or refuses.
            Unsafe: the object (or a file of a folder) is a symlink: its bytes live outside
                the store and may change after they were hashed.
        """
        objects = self.storage.objects
        objects.refuse_links(rec.artifact_sha256)
        if not fetch and not is_cached(self.storage, rec):
            return (
                self.storage.cache / rec.artifact_sha256
                if rec.is_dir
                else objects.path(rec.artifact_sha256)
            )
        local_artifact(self.storage, rec, self._bars)  # with a remote: fetched and checked
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
        """Where the object ``digest`` is stored (it may be missing; with a remote, fetched)."""
        try:
            return local_object(self.storage, digest, f"object {digest[:12]}…", self._bars)
        except NotFound:
            return self.storage.object_path(digest)

    def manifest(self, rec: VersionRecord) -> list[dict[str, Any]]:
        """The files of a folder artifact: entries with ``path``, ``sha256`` and ``bytes``."""
        what = f"the manifest of {rec.model} version {rec.version}"
        local_object(self.storage, rec.artifact_sha256, what, self._bars)
        return self.storage.objects.read_manifest(rec.artifact_sha256)

    def check_artifact(self, rec: VersionRecord) -> list[str]:
        """Re-hash a version's artifact (every file of a folder); the problems found."""
        local_artifact(self.storage, rec, self._bars)
        return self.storage.objects.check(rec.artifact_sha256, rec.is_dir)

    def requirements(self, rec: VersionRecord) -> str | None:
        """The pinned requirements recorded with ``rec``, None if not recorded or missing."""
        if not rec.requirements_sha256:
            return None
        self.object_path(rec.requirements_sha256)  # with a remote: fetched when missing
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
        from minireg.domain.history import select_events

        return select_events(events, model, version, after)

    def snapshot(self, model: str, at: str | datetime) -> Snapshot:
        """Which version held each stage and alias of ``model`` at moment ``at``."""
        moment = parse_moment(at, "--at time") if isinstance(at, str) else at
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        events = self.events()
        if not any(e.model == model for e in events):
            raise decisions.no_model(model)
        from minireg.domain.history import state_at

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
        from minireg.domain.diff import diff_records

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

    def verify(
        self, *, against_git: bool = False, remote: bool = False, deep: bool = False
    ) -> Report:
        """Check the hash chain, the ledger against the events, every object, version numbers.

        Unresolved git merge conflicts in the registry are problems too. With
        ``against_git`` the audit head in the last minireg commit's trailer must
        be in the events (which catches events cut off the end). With ``remote``,
        every object a version needs must be on the remote with its recorded size
        (``deep``: read back and re-hashed too). Works on a read-only checkout
        (``notes`` says it read without the lock) and, with ``remote``, in a fresh
        clone with nothing cached.

        Raises:
            NotFound: ``against_git`` and no minireg commit is in the git history.
            InvalidInput: ``remote`` (or ``deep``) and no remote is set; ``deep`` alone.
            RemoteError: ``remote`` and the remote is unreachable or refuses.
        """
        from minireg.service.remote_verify import add_remote_check, remote_to_check
        from minireg.service.verify import verify

        store = remote_to_check(self.storage, remote=remote, deep=deep)
        report = verify(self.storage, self.config, self.root, against_git=against_git)
        if store is not None:
            add_remote_check(report, self.storage, store, self.state, deep=deep, bars=self._bars)
        return report
