"""What a registration records: its inputs checked, its objects stored, its event's body.

:func:`prepare` does everything a ``register`` does before it takes the lock:
it checks every input (:func:`check`: nothing touches the disk before they
pass), reads the git state and the requirements, stores the artifact's objects
and, with a remote set, uploads them
(:func:`~minireg.service.transfers.upload_new_objects`). Objects are
content-addressed, so storing them before the lock is safe (a concurrent
writer storing the same bytes is harmless) and a long copy holds up nobody. A
batch (:mod:`minireg.service.batch`) checks every item first, then prepares
each with one :class:`Shared`, so git is asked and the requirements are read
and stored once for all of them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minireg.domain.flavors import FLAVORS, flavor_of
from minireg.domain.names import check_model_name, check_text
from minireg.domain.values import metrics_from, params_from, parse_moment, tags_from, utc_text
from minireg.errors import InvalidInput, local_io
from minireg.service.transfers import upload_new_objects
from minireg.storage import Storage
from minireg.storage.objects import Progress, hash_path, list_files
from minireg.storage.remote import Bars

if TYPE_CHECKING:
    from minireg.adapters.git.info import GitInfo

log = logging.getLogger("minireg")


@dataclass(frozen=True)
class Inputs:
    """What a caller asks to register (see :meth:`minireg.Registry.register`)."""

    model: str
    artifact: Path
    metrics: Mapping[str, Any] | None = None
    params: Mapping[str, Any] | None = None
    tags: Mapping[str, Any] | None = None
    data: Path | str | None = None
    training_date: str | None = None
    description: str = ""
    requirements: Path | str | bytes | None = None
    flavor: str | None = None
    code_dir: Path | str | None = None


def _checked_artifact(inputs: Inputs) -> tuple[Path, str]:
    source = Path(inputs.artifact)
    if source.is_symlink() and not source.exists():
        raise InvalidInput(f"The artifact {source} is a broken symlink.")
    if not source.exists():
        raise InvalidInput(f"The artifact {source} does not exist.")
    chosen = inputs.flavor or flavor_of(source.name, source.is_dir())
    if chosen not in FLAVORS:
        raise InvalidInput(f"Flavor {chosen!r} is not known; use one of {', '.join(FLAVORS)}.")
    if chosen == "dir" and not source.is_dir():
        raise InvalidInput(f"Flavor 'dir' needs a folder, but {source} is a file.")
    if source.is_dir():
        list_files(source)  # a symlink or a special file inside is refused before any copy
    return source, chosen


def _training_date(inputs: Inputs, source: Path) -> str:
    if inputs.training_date:
        parse_moment(inputs.training_date, "training date")
        return inputs.training_date.strip()
    return utc_text(datetime.fromtimestamp(source.stat().st_mtime, timezone.utc))


def _data_sha256(inputs: Inputs) -> str:
    if inputs.data is None:
        return ""
    data_path = Path(inputs.data)
    if not data_path.exists():
        raise InvalidInput(f"The data path {data_path} does not exist.")
    return hash_path(data_path)


def _read_requirements(given: Path | str | bytes | None) -> bytes:
    if isinstance(given, bytes):
        return given
    if given is not None:
        try:
            return Path(given).read_bytes()
        except OSError as exc:
            raise InvalidInput(f"The requirements file {given} is not readable.") from exc
    from minireg.service.environment import environment_requirements

    return environment_requirements()


class Shared:
    """What registrations made together share, found once: git facts and requirements.

    A plain ``register`` uses a fresh one; a batch passes one to every item, so
    the environment's requirements are read once, each requirements file once,
    git is asked once per code folder, and each distinct requirements text is
    stored once. Not thread-safe: one batch, one thread.
    """

    def __init__(self) -> None:
        self._requirements: dict[str | None, bytes] = {}
        self._git: dict[Path, GitInfo] = {}
        self._stored: dict[bytes, str] = {}

    def requirements(self, given: Path | str | bytes | None) -> bytes:
        """The requirements' bytes: given, read from a file, or this environment's."""
        if isinstance(given, bytes):
            return given
        key = None if given is None else str(given)
        found = self._requirements.get(key)
        if found is None:
            found = self._requirements[key] = _read_requirements(given)
        return found

    def git(self, code_dir: Path, registry: Path) -> GitInfo:
        """Commit, branch and dirty flag of the repository holding ``code_dir``."""
        found = self._git.get(code_dir)
        if found is None:
            from minireg.adapters.git.info import describe

            found = self._git[code_dir] = describe(code_dir, exclude=registry)
            if found.note:
                log.info(found.note)
        return found

    def store_requirements(self, storage: Storage, data: bytes) -> str:
        """Store a requirements text as an object (once per text) and return its digest."""
        digest = self._stored.get(data)
        if digest is None:
            digest = self._stored[data] = storage.put_object(data)
        return digest


@dataclass(frozen=True)
class Checked:
    """A registration's inputs once every check passed: the values to record, nothing stored."""

    model: str
    source: Path
    flavor: str
    training_date: str
    data_sha256: str
    requirements: bytes
    code_dir: Path
    description: str
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]


def check(inputs: Inputs, shared: Shared | None = None) -> Checked:
    """Check every input of a registration; the disk is read (data hashed), never written.

    Raises:
        InvalidInput: a bad name, value or path.
        Unsafe: a symlink inside a folder artifact.
    """
    check_model_name(inputs.model)
    metric_values = metrics_from(given=inputs.metrics)
    param_values = params_from(given=inputs.params)
    tag_values = tags_from(given=inputs.tags)
    check_text("description", inputs.description)
    source, flavor = _checked_artifact(inputs)
    return Checked(
        model=inputs.model,
        source=source,
        flavor=flavor,
        training_date=_training_date(inputs, source),
        data_sha256=_data_sha256(inputs),
        requirements=(shared or Shared()).requirements(inputs.requirements),
        code_dir=Path(inputs.code_dir) if inputs.code_dir else Path.cwd(),
        description=inputs.description,
        metrics=metric_values,
        params=param_values,
        tags=tag_values,
    )


def prepare(
    storage: Storage,
    inputs: Inputs | Checked,
    *,
    initial_stage: str,
    who: str,
    when: str,
    progress: Progress | None = None,
    shared: Shared | None = None,
    upload: bool = True,
    bars: Bars | None = None,
) -> dict[str, Any]:
    """Check the inputs (unless already :func:`check`-ed), store the objects (and upload
    them), and return the event's body.

    With a remote set, the new objects are uploaded right after they are stored,
    before the caller appends the event; ``upload`` False (``--no-upload``, or a
    batch that uploads once for all its items) keeps them local. ``bars`` makes
    the upload's progress bars.

    Raises:
        InvalidInput: a bad name, value or path; nothing is written.
        LocalIOError: the objects could not be stored; nothing was recorded.
        RemoteError: the upload failed; nothing was recorded.
    """
    shared = shared or Shared()
    checked = inputs if isinstance(inputs, Checked) else check(inputs, shared)
    git = shared.git(checked.code_dir, storage.root)
    with local_io(storage.objects.root, False, "store the artifact in"):
        stored = storage.put_path(checked.source, progress)
        req_sha = shared.store_requirements(storage, checked.requirements)
    artifact = checked.source.name + ("/" if stored.is_dir else "")
    upload_new_objects(storage, stored, req_sha, name=artifact, upload=upload, bars=bars)
    return {
        "stage": initial_stage,
        "created_at": when,
        "registered_by": who,
        "git_commit": git.commit,
        "git_branch": git.branch,
        "git_dirty": git.dirty,
        "training_date": checked.training_date,
        "data_sha256": checked.data_sha256,
        "artifact": artifact,
        "artifact_sha256": stored.sha256,
        "artifact_bytes": stored.bytes,
        "flavor": checked.flavor,
        "requirements_sha256": req_sha,
        "description": checked.description,
        "metrics": checked.metrics,
        "params": checked.params,
        "tags": checked.tags,
    }
