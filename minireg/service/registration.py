"""What a registration records: its inputs checked, its objects stored, its event's body.

:func:`prepare` does everything a ``register`` does before it takes the lock:
it checks every input (nothing touches the disk before they pass), reads the
git state and the requirements, stores the artifact's objects and, with a remote
set, uploads them (:func:`~minireg.service.transfers.upload_new_objects`). Objects
are content-addressed, so storing them before the lock is safe (a concurrent
writer storing the same bytes is harmless) and a long copy holds up nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from minireg.domain.flavors import FLAVORS, flavor_of
from minireg.domain.names import check_model_name, check_text
from minireg.domain.values import metrics_from, params_from, parse_moment, tags_from, utc_text
from minireg.errors import InvalidInput, local_io
from minireg.service.transfers import upload_new_objects
from minireg.storage import Storage
from minireg.storage.objects import Progress, hash_path
from minireg.storage.remote import Bars

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


def _requirements(inputs: Inputs) -> bytes:
    if isinstance(inputs.requirements, bytes):
        return inputs.requirements
    if inputs.requirements is not None:
        try:
            return Path(inputs.requirements).read_bytes()
        except OSError as exc:
            raise InvalidInput(
                f"The requirements file {inputs.requirements} is not readable."
            ) from exc
    from minireg.service.environment import environment_requirements

    return environment_requirements()


def prepare(
    storage: Storage,
    inputs: Inputs,
    *,
    initial_stage: str,
    who: str,
    when: str,
    progress: Progress | None = None,
    upload: bool = True,
    bars: Bars | None = None,
) -> dict[str, Any]:
    """Check the inputs, store the objects (and upload them), and return the event's body.

    With a remote set, the new objects are uploaded right after they are stored,
    before the caller appends the event; ``upload`` False (``--no-upload``) keeps
    them local until ``minireg push``. ``bars`` makes the upload's progress bars.

    Raises:
        InvalidInput: a bad name, value or path; nothing is written.
        LocalIOError: the objects could not be stored; nothing was recorded.
        RemoteError: the upload failed; nothing was recorded.
    """
    check_model_name(inputs.model)
    metric_values = metrics_from(given=inputs.metrics)
    param_values = params_from(given=inputs.params)
    tag_values = tags_from(given=inputs.tags)
    check_text("description", inputs.description)
    source, flavor = _checked_artifact(inputs)
    trained = _training_date(inputs, source)
    data_sha = _data_sha256(inputs)
    req_bytes = _requirements(inputs)

    from minireg.adapters.git.info import describe

    git = describe(Path(inputs.code_dir) if inputs.code_dir else Path.cwd(), exclude=storage.root)
    if git.note:
        log.info(git.note)
    with local_io(storage.objects.root, False, "store the artifact in"):
        stored = storage.put_path(source, progress)
        req_sha = storage.put_object(req_bytes)
    artifact = source.name + ("/" if stored.is_dir else "")
    upload_new_objects(storage, stored, req_sha, name=artifact, upload=upload, bars=bars)
    return {
        "stage": initial_stage,
        "created_at": when,
        "registered_by": who,
        "git_commit": git.commit,
        "git_branch": git.branch,
        "git_dirty": git.dirty,
        "training_date": trained,
        "data_sha256": data_sha,
        "artifact": artifact,
        "artifact_sha256": stored.sha256,
        "artifact_bytes": stored.bytes,
        "flavor": flavor,
        "requirements_sha256": req_sha,
        "description": inputs.description,
        "metrics": metric_values,
        "params": param_values,
        "tags": tag_values,
    }
