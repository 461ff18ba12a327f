"""The remote verbs of a Registry: set and show the remote, push, pull, status.

With ``[objects] remote`` set, the ledger and the trail live in git and the
artifacts' bytes in an object store, under the same content-addressed names;
``objects/`` is a git-ignored local cache. Whether a version is pushed is not
recorded anywhere: it is read from the remote each time (``status``), so it is
the same in every clone and never stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from minireg.domain.records import VersionRecord
from minireg.domain.remotes import check_remote_url, shown, with_remote
from minireg.domain.uris import ModelURI
from minireg.errors import InvalidInput, RemoteError
from minireg.service.reads import Reads
from minireg.service.remote_results import (
    Pulled,
    Pushed,
    RemoteSettings,
    RemoteStatus,
    VersionObjects,
)
from minireg.service.transfers import local_artifact, local_object, version_items
from minireg.storage.files import CONFIG_NAME
from minireg.storage.layout import ignore_objects, parse_settings
from minireg.storage.remote import RemoteStore, upload_missing

if TYPE_CHECKING:
    from minireg.service.migrate import Migration
    from minireg.service.registry import Registry
    from minireg.service.remote_gc import RemoteCollection


class RemoteVerbs(Reads):
    """The remote verbs of a Registry: set and show the remote, push, pull, status."""

    @property
    def remote_url(self) -> str:
        """The remote for objects as it may be shown, "" when the objects live in git."""
        return shown(self.config.remote) if self.config.remote else ""

    def set_remote(self, url: str) -> RemoteSettings:
        """Keep the artifacts in the object store at ``url``; ``objects/`` becomes a cache.

        Writes ``[objects] remote`` in ``minireg.toml`` (comments kept) and adds
        ``objects/`` to the registry's ``.gitignore``, under the registry lock, once
        the URL is valid, its backend installed and the remote answers.
        ``.registry`` of the result is this registry with the new setting.

        Raises:
            InvalidInput: not a URL, credentials in it, or its backend is not installed
                (the message gives the pip command); nothing is changed.
            RemoteError: the remote does not answer (no bucket, no folder); nothing is changed.

        Example:
            >>> reg.set_remote("s3://acme-models/churn").registry.push()
        """
        from minireg.adapters.remote import FsspecRemote, check_backend

        url = check_remote_url(url)
        check_backend(url)
        try:
            FsspecRemote(url).check()
        except RemoteError as exc:
            raise RemoteError(
                f"{exc.message.rstrip('.')}; {CONFIG_NAME} was not changed.", url=exc.url
            ) from exc
        with self._writer.locked() as folded:
            state = folded.state
            text = self.storage.read_config_text()
            new_text = with_remote(text, url)
            config = parse_settings(new_text, self.root / CONFIG_NAME)
            if config.remote != url:
                raise InvalidInput(
                    f"{self.root / CONFIG_NAME} could not be updated; set remote under "
                    "[objects] by hand."
                )
            if new_text != text:
                self.storage.write_config_text(new_text)
            ignored_now = ignore_objects(self.root)
            self._writer.notify([], state.head, f"minireg: keep the objects in {shown(url)}")
        new = cast("Registry", type(self)(self.root, config, bars=self._bars))
        return RemoteSettings.of(
            new.root, url, changed=new_text != text, ignore_added=ignored_now, registry=new
        )

    def remote_settings(self) -> RemoteSettings:
        """The remote for objects, its backend (installed or not), the cache; reads only."""
        return RemoteSettings.of(self.root, self.config.remote)

    def _remote(self) -> RemoteStore:
        remote = self.storage.remote
        if remote is None:
            raise InvalidInput(
                "No remote is set for objects (they live in git); set one with "
                "`minireg remote set s3://bucket/prefix`."
            )
        return remote

    def status(self) -> RemoteStatus:
        """Which versions' objects are only local (not pushed) or nowhere to be found.

        Asks the remote for one listing; nothing is recorded locally, so every
        clone sees the same answer.

        Raises:
            InvalidInput: no remote is set.
            RemoteError: the remote is unreachable or refuses.
        """
        return self._survey(self._remote())[1]

    def _survey(self, remote: RemoteStore) -> tuple[dict[str, int], RemoteStatus]:
        """The remote's inventory, and each version's objects it lacks (cached or not)."""
        known = remote.inventory()
        result = RemoteStatus(url=remote.url)
        for rec in self.state().records():
            objects = VersionObjects.of(rec)
            for digest, _ in version_items(self.storage, rec, known):
                if self._on_remote(digest, known):
                    continue
                cached = self.storage.objects.has(digest)
                (objects.local if cached else objects.missing).append(digest)
            if objects.local or objects.missing:
                result.versions.append(objects)
            else:
                result.pushed += 1
        return known, result

    def _on_remote(self, digest: str, known: dict[str, int]) -> bool:
        """True when the remote holds ``digest`` with the cached copy's size (if cached)."""
        if digest not in known:
            return False
        path = self.storage.object_path(digest)
        return not path.is_file() or path.stat().st_size == known[digest]

    def push(self) -> Pushed:
        """Upload every object a version needs that the remote lacks (``--no-upload`` ones).

        Objects the remote holds with the same size are not sent again. Versions
        whose objects are neither here nor on the remote are listed in
        ``unavailable`` (push them from a machine that has them).

        Raises:
            InvalidInput: no remote is set.
            RemoteError: the remote is unreachable or refuses; re-running resumes.
        """
        remote = self._remote()
        known, status = self._survey(remote)
        result = Pushed(url=remote.url, unavailable=[v for v in status.versions if v.missing])
        versions = self.state().versions
        for entry in status.versions:
            rec = versions[(entry.model, entry.version)]
            wanted = set(entry.local)
            items = [i for i in version_items(self.storage, rec, known) if i[0] in wanted]
            sent = upload_missing(self.storage.objects, remote, items, known=known, bars=self._bars)
            for digest in sent:
                known[digest] = self.storage.object_path(digest).stat().st_size
                result.bytes += known[digest]
            result.uploaded.extend(sent)
            if not entry.missing:
                result.versions.append(entry)
        return result

    def pull(self, uris: Iterable[str | ModelURI] = ()) -> Pulled:
        """Fetch versions' objects into the local cache, each checked, before they are needed.

        Default: every version holding a stage other than the initial and the
        archive stage, and every version an alias points to.

        Raises:
            InvalidInput: no remote is set, or a URI is malformed.
            NotFound: a URI names nothing, or the remote lacks an object (the key is named).
            IntegrityError: a remote object does not match its name; it is not kept.
            RemoteError: the remote is unreachable or refuses.
        """
        remote = self._remote()
        targets = [self.resolve(uri) for uri in uris] or self._serving()
        result = Pulled(url=remote.url)
        for rec in targets:
            fetched = local_artifact(self.storage, rec, self._bars)
            if rec.requirements_sha256 and not self.storage.objects.has(rec.requirements_sha256):
                what = f"the requirements of {rec.model} version {rec.version}"
                local_object(self.storage, rec.requirements_sha256, what, self._bars)
                fetched += 1
            result.add(rec, fetched)
        return result

    def _serving(self) -> list[VersionRecord]:
        idle = {self.config.initial_stage, self.config.archive_stage}
        return [r for r in self.state().records() if r.stage not in idle or r.aliases]

    def gc_remote(self, *, delete: bool = False, grace: float | None = None) -> RemoteCollection:
        """List (or, with ``delete``, delete) the remote's objects that nothing needs.

        An object stays when an event of any commit on any ref (local and
        remote-tracking branches, tags, stashes) or of any working tree of the
        repository needs it, or when it is younger than ``grace`` seconds (default
        a week: a version registered in another clone whose branch is not pushed
        yet). ``.tmp-…`` leftovers of cut uploads older than that go too. Fetch
        first (``git fetch --all``): branches only other clones have are not seen.

        Raises:
            InvalidInput: no remote is set.
            Unsafe: a shallow clone, or git fails; nothing was deleted.
            IntegrityError: a folder artifact's manifest is nowhere; nothing was deleted.
            RemoteError: the remote is unreachable or refuses.
        """
        from minireg.service.remote_gc import DEFAULT_REMOTE_GRACE, collect

        remote = self._remote()
        wait = DEFAULT_REMOTE_GRACE if grace is None else grace
        return collect(
            self.storage,
            self.root,
            remote,
            delete=delete,
            grace=wait,
            now=self.clock(),
            bars=self._bars,
        )

    def migrate_objects(self) -> Migration:
        """Move the objects git holds to the remote, then stop tracking them in git.

        Uploads every object the versions need and every object of ``objects/``
        the remote lacks (each re-hashed first), lists the remote to check every
        size, then adds ``/objects/`` to ``.gitignore``, removes ``objects/`` from
        git's index and commits that with a message that says so. No event and no
        version changes. Running it again does what is left (nothing, once done).

        Raises:
            InvalidInput: no remote is set.
            Refused: other changes are staged in git, or git has no identity.
            NotFound: a version needs an object that is neither here nor on the remote.
            IntegrityError: a local object is damaged, or an upload did not land.
            RemoteError: the remote is unreachable or refuses; re-running resumes.
        """
        from minireg.adapters.git.untrack import check_ready
        from minireg.service.migrate import stop_tracking, upload_all

        remote = self._remote()
        check_ready(self.root)
        done = upload_all(self.storage, remote, self.state(), self._bars)
        with self._writer.locked() as folded:
            state = folded.state
            stop_tracking(self.root, done, state.head.hash if state.head else "0" * 64)
        return done
