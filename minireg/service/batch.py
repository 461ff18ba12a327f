"""Registering many versions at once: one check pass, one copy pass, one lock, one append.

:func:`register_many` takes items, each a mapping of
:meth:`minireg.Registry.register`'s keyword arguments, and works in four steps:

1. **Check every item** (:func:`minireg.service.registration.check`) and
   report every bad one at once (:class:`~minireg.errors.InvalidItems`, exit 2,
   or :class:`~minireg.errors.UnsafeItems`, exit 8): nothing is written
   before all of them pass, so a bad batch leaves the registry byte for byte
   as it was.
2. **Prepare each item as ``register`` does**, before the lock, with one
   :class:`~minireg.service.registration.Shared`: git is asked once per code
   folder, the environment's requirements are read once and each distinct
   requirements text is stored once. The objects are copied with one sync for
   them all (:meth:`minireg.storage.objects.ObjectStore.deferred`).
3. **One locked write** numbers the items in order (two items of one model get
   consecutive versions) and appends every event with one write: one commit
   point for the whole batch, so it lands entirely or not at all.
4. The ledger gets every new row in one update (rows inserted, not rendered
   again, when the ledger is vouched for: :func:`minireg.domain.ledger_append.insert_rows`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from minireg.domain.config import Config
from minireg.domain.records import Draft, Event
from minireg.domain.state import State
from minireg.errors import InvalidInput, InvalidItems, Unsafe, UnsafeItems, local_io
from minireg.service.registration import Checked, Inputs, Shared, check, prepare
from minireg.service.transfers import upload_registered
from minireg.service.writer import Writer
from minireg.storage import Storage
from minireg.storage.objects import Progress
from minireg.storage.remote import Bars

PATHS = (str, os.PathLike)
ITEM_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "model": ((str,), "text"),
    "artifact": (PATHS, "a path"),
    "metrics": ((Mapping, type(None)), "a mapping of name to number"),
    "params": ((Mapping, type(None)), "a mapping of name to value"),
    "tags": ((Mapping, type(None)), "a mapping of key to text"),
    "data": ((*PATHS, type(None)), "a path"),
    "training_date": ((str, type(None)), "an ISO date or time"),
    "description": ((str,), "text"),
    "requirements": ((*PATHS, bytes, type(None)), "a path or bytes"),
    "flavor": ((str, type(None)), "text"),
    "code_dir": ((*PATHS, type(None)), "a path"),
}
"""The keys an item may have (``register()``'s keyword arguments), their types, in words."""


def inputs_of(item: object) -> Inputs:
    """The :class:`Inputs` an item asks for, or InvalidInput naming what is wrong with it."""
    if not isinstance(item, Mapping):
        raise InvalidInput(
            f"The item is {type(item).__name__}, not a mapping of register()'s keyword "
            "arguments (model, artifact, metrics, …)."
        )
    unknown = sorted(str(key) for key in item if key not in ITEM_TYPES)
    if unknown:
        raise InvalidInput(
            f"Unknown key {', '.join(map(repr, unknown))}; an item may have "
            f"{', '.join(ITEM_TYPES)}."
        )
    for key in ("model", "artifact"):
        if key not in item:
            raise InvalidInput(f"The item has no {key!r}.")
    for key, value in item.items():
        types, words = ITEM_TYPES[key]
        if not isinstance(value, types):
            raise InvalidInput(f"{key!r} is {value!r}; it must be {words}.")
    values: dict[str, Any] = dict(item)
    values["artifact"] = Path(values["artifact"])
    return Inputs(**values)


def check_items(items: list[Any], shared: Shared) -> list[Checked]:
    """Every item checked; raises InvalidItems (or UnsafeItems) listing every bad one."""
    checked: list[Checked] = []
    problems: list[tuple[int, str]] = []
    unsafe = False
    for index, item in enumerate(items):
        try:
            checked.append(check(inputs_of(item), shared))
        except (InvalidInput, Unsafe) as exc:
            problems.append((index, exc.message))
            unsafe = unsafe or isinstance(exc, Unsafe)
    if problems:
        summary = f"{len(problems)} of {len(items)} items are not valid, so nothing was registered"
        raise (UnsafeItems if unsafe else InvalidItems)(summary, problems)
    return checked


def read_items(path: Path) -> tuple[list[Any], list[int]]:
    """The items of a JSON Lines file (one mapping a line; blank lines skipped) and their
    line numbers.

    Raises:
        InvalidInput: the file cannot be read.
        InvalidItems: lines that are not JSON, each named by its number.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InvalidInput(f"The batch file {path} does not exist.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"The batch file {path} is not readable UTF-8 text ({exc}).") from exc
    items: list[Any] = []
    numbers: list[int] = []
    bad: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            bad.append((len(numbers), f"not a JSON object ({exc.msg} at column {exc.colno})."))
            items.append(None)
        numbers.append(number)
    if bad:
        summary = (
            f"{len(bad)} of {len(items)} lines of {path} are not JSON, so nothing was registered"
        )
        raise InvalidItems(summary, bad).labelled([f"line {n}" for n in numbers])
    return items, numbers


def _numbered(state: State, checked: list[Checked], bodies: list[dict[str, Any]]) -> list[Draft]:
    """One register draft per item, in order, numbered on from each model's highest version."""
    top = dict.fromkeys({c.model for c in checked}, 0)
    for model, version in state.versions:  # one pass, however many models the batch names
        if model in top and version > top[model]:
            top[model] = version
    drafts = []
    for item, body in zip(checked, bodies):
        top[item.model] += 1
        drafts.append(Draft("register", item.model, top[item.model], body))
    return drafts


def register_many(
    storage: Storage,
    config: Config,
    writer: Writer,
    items: Iterable[Mapping[str, Any]],
    *,
    who: str,
    when: str,
    progress: Progress | None = None,
    upload: bool = True,
    bars: Bars | None = None,
) -> tuple[list[Event], State]:
    """Register every item (in order) in one locked write; see the module's docstring.

    Returns the new events and the state after them. ``progress`` is called with
    (items stored, items in all) while objects are copied; with a remote set,
    every new object is then uploaded in one pass (unless ``upload`` is False),
    before the lock is taken.

    Raises:
        InvalidItems: items hold bad values or paths; ``problems`` lists each (nothing
            is written).
        UnsafeItems: an item's folder holds a symlink (nothing is written).
        RegistryBusy: the lock was not acquired in time (objects may be stored, unreferenced).
        LocalIOError: the disk failed; the message says whether anything was recorded.
        RemoteError: the upload failed; nothing was recorded.
    """
    given = list(items)
    if not given:
        return [], State()
    shared = Shared()
    checked = check_items(given, shared)
    bodies: list[dict[str, Any]] = []
    # The deferred block's end syncs and renames every copy: local_io must wrap it too.
    stored = local_io(storage.objects.root, False, "store the artifacts in")
    with stored, storage.objects.deferred():
        for item in checked:
            body = prepare(
                storage,
                item,
                initial_stage=config.initial_stage,
                who=who,
                when=when,
                shared=shared,
                upload=False,  # the objects are in place only once the block ends
            )
            bodies.append(body)
            if progress is not None:
                progress(len(bodies), len(checked))
    upload_registered(storage, bodies, upload=upload, bars=bars)
    return writer.write(lambda state: _numbered(state, checked, bodies), actor=who, time=when)
