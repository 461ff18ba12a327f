"""``minireg verify --remote``: every object the versions need is on the remote, whole.

Every version's objects (its artifact, a folder's manifest and each file it
lists, its requirements) must be on the remote with the size the trail records
(the ledger's ``artifact_bytes``, a manifest's ``bytes`` per file; a manifest or
requirements object has no recorded size, so the cached copy's counts when there
is one). One listing answers for all of them. ``deep`` also reads each object
back as a stream and re-hashes it, which catches a corruption that kept the size.
Works in a fresh clone: a folder's manifest missing from the cache is fetched
(and checked) to learn its files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from minireg.domain.records import VersionRecord
from minireg.domain.state import State
from minireg.errors import IntegrityError, InvalidInput, NotFound
from minireg.service.results import Report
from minireg.service.transfers import local_object
from minireg.storage import Storage
from minireg.storage.objects import Progress
from minireg.storage.remote import Bars, RemoteStore


@dataclass(frozen=True)
class Wanted:
    """An object a version needs, how messages name it, and its recorded size if any."""

    digest: str
    label: str
    size: int | None


@dataclass
class RemoteCheck:
    """What ``verify --remote`` found: how many objects it checked, and every problem."""

    url: str
    checked: int = 0
    deep: bool = False
    problems: list[str] = field(default_factory=list)


def _cached_size(storage: Storage, digest: str) -> int | None:
    path = storage.object_path(digest)
    return path.stat().st_size if path.is_file() else None


def _folder(
    storage: Storage, rec: VersionRecord, what: str, problems: list[str], bars: Bars | None
) -> list[Wanted]:
    """A folder artifact's files, from its manifest (fetched when not cached)."""
    try:
        local_object(storage, rec.artifact_sha256, f"the manifest of {what}", bars)
        entries = storage.objects.read_manifest(rec.artifact_sha256)
    except (NotFound, IntegrityError) as exc:
        problems.append(f"{what}: {exc.message.rstrip('.')}; its files could not be checked")
        return []
    return [
        Wanted(str(e["sha256"]), f"{what}: the file {e['path']}", int(e["bytes"])) for e in entries
    ]


def wanted_objects(
    storage: Storage, records: Iterable[VersionRecord], problems: list[str], bars: Bars | None
) -> list[Wanted]:
    """Every object the versions need, labelled by version, in upload order."""
    wanted: list[Wanted] = []
    for rec in records:
        what = f"{rec.model} v{rec.version}"
        if rec.is_dir:
            wanted.extend(_folder(storage, rec, what, problems, bars))
            manifest = _cached_size(storage, rec.artifact_sha256)
            wanted.append(Wanted(rec.artifact_sha256, f"{what}: the manifest", manifest))
        else:
            label = f"{what}: the artifact {rec.artifact}"
            wanted.append(Wanted(rec.artifact_sha256, label, rec.artifact_bytes))
        if rec.requirements_sha256:
            size = _cached_size(storage, rec.requirements_sha256)
            wanted.append(Wanted(rec.requirements_sha256, f"{what}: the requirements", size))
    return wanted


def _problem(
    remote: RemoteStore,
    item: Wanted,
    there: int | None,
    cached: bool,
    *,
    deep: bool,
    progress: Progress | None = None,
) -> str | None:
    """What is wrong with one object on the remote (None: nothing), its key named."""
    key = remote.where(item.digest)
    if there is None:
        hint = " (it is in the local cache: `minireg push` uploads it)" if cached else ""
        return f"{item.label}: {key} is missing from the remote{hint}"
    if item.size is not None and there != item.size:
        return f"{item.label}: {key} has {there} bytes on the remote, but {item.size} are recorded"
    if deep:
        found, _ = remote.checksum(item.digest, progress)
        if found != item.digest:
            return f"{item.label}: {key} does not match its name (its bytes hash to {found[:12]}…)"
    return None


def _no_bar(label: str) -> tuple[Progress | None, Callable[[], None]]:
    return None, lambda: None


def check_remote(
    storage: Storage,
    remote: RemoteStore,
    records: list[VersionRecord],
    *,
    deep: bool = False,
    bars: Bars | None = None,
) -> RemoteCheck:
    """Check that every object ``records`` need is on ``remote`` with its size (and bytes).

    Raises:
        RemoteError: the remote is unreachable or refuses.
    """
    result = RemoteCheck(url=remote.url, deep=deep)
    problems = result.problems
    wanted = wanted_objects(storage, records, problems, bars)
    known = remote.inventory()
    seen: set[str] = set()
    for item in wanted:
        if item.digest in seen:
            continue  # checked once, named by the first version that needs it
        seen.add(item.digest)
        result.checked += 1
        there = known.get(item.digest)
        update, finish = (bars or _no_bar)(f"checking {item.label}") if deep else (None, None)
        try:
            cached = storage.objects.has(item.digest)
            found = _problem(remote, item, there, cached, deep=deep, progress=update)
        finally:
            if finish is not None:
                finish()
        if found:
            problems.append(found)
    return result


def remote_to_check(storage: Storage, *, remote: bool, deep: bool) -> RemoteStore | None:
    """The remote ``verify --remote`` checks, None without ``remote``.

    Raises:
        InvalidInput: ``deep`` without ``remote``, or ``remote`` and no remote is set.
    """
    if deep and not remote:
        raise InvalidInput(
            "--deep re-hashes the remote's objects; add --remote (verify alone already "
            "re-hashes every object in the local cache)."
        )
    if not remote:
        return None
    if storage.remote is None:
        raise InvalidInput(
            "No remote is set for objects (they live in git), so there is nothing to check "
            "with --remote; set one with `minireg remote set s3://bucket/prefix`."
        )
    return storage.remote


def add_remote_check(
    report: Report,
    storage: Storage,
    remote: RemoteStore,
    state: Callable[[], State],
    *,
    deep: bool,
    bars: Bars | None = None,
) -> None:
    """Add what :func:`check_remote` finds about the versions of ``state()`` to ``report``."""
    try:
        records = state().records()
    except IntegrityError:
        report.notes.append(
            f"the remote {remote.url} was not checked: the trail does not read (see the problems)"
        )
        return
    found = check_remote(storage, remote, records, deep=deep, bars=bars)
    report.remote = found.url
    report.remote_objects = found.checked
    report.remote_deep = deep
    report.problems.extend(f"remote: {p}" for p in found.problems)
