"""Which events this machine's after-write hooks have delivered: ``.cache/hooks/delivered.json``.

    {"head": "<event hash>", "done": {"<event hash>": ["<hook key>", ...]}}

Every event up to ``head`` (in the trail's order) counts as delivered to every
hook; after it, ``done`` lists the hooks each later event reached (a write
delivers its own events at once, and a hook that failed is tried again by
``minireg hooks run``). Like the rest of ``.cache/`` it is local and
git-ignored: delivery is a fact about this machine, not about the registry.

It has its own two small locks, never the registry lock: one held only while
the record is read and replaced, one held by ``minireg hooks run`` for its
whole run, so two runs never deliver the same events at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from minireg.errors import RegistryBusy, local_io
from minireg.storage.atomic import atomic_write
from minireg.storage.lock import registry_lock

RECORD_NAME = "delivered.json"


@dataclass
class Delivered:
    """The record: the head up to which everything is delivered, and the hooks reached since."""

    head: str
    done: dict[str, set[str]] = field(default_factory=dict)

    def has(self, event_hash: str, hook_key: str) -> bool:
        return hook_key in self.done.get(event_hash, set())

    def add(self, event_hash: str, hook_key: str) -> None:
        self.done.setdefault(event_hash, set()).add(hook_key)

    def to_json(self) -> bytes:
        done = {h: sorted(keys) for h, keys in sorted(self.done.items())}
        return (json.dumps({"head": self.head, "done": done}, indent=1) + "\n").encode()


def _parse(data: bytes) -> Delivered | None:
    try:
        raw = json.loads(data)
        done = {str(h): {str(k) for k in keys} for h, keys in raw.get("done", {}).items()}
        return Delivered(str(raw["head"]), done)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # torn or edited: as if this machine had no record


class DeliveryRecord:
    """The delivery record of one registry on this machine, under ``cache/hooks/``."""

    def __init__(self, cache: Path, timeout: float) -> None:
        self.folder = cache / "hooks"
        self.path = self.folder / RECORD_NAME
        self.timeout = timeout

    def read(self) -> Delivered | None:
        """The record, or None when this machine has none (or it is unreadable)."""
        try:
            return _parse(self.path.read_bytes())
        except FileNotFoundError:
            return None

    @contextmanager
    def _lock(self, name: str, what: str) -> Iterator[None]:
        folder = self.folder / name
        with local_io(folder, None, "lock the hook delivery record in"):
            folder.mkdir(parents=True, exist_ok=True)
        try:
            with registry_lock(folder, self.timeout):
                yield
        except RegistryBusy as exc:
            raise RegistryBusy(
                f"{what} did not start within {self.timeout:g} s: another one is running "
                "on this registry; try again, or raise MINIREG_LOCK_TIMEOUT."
            ) from exc

    def update(self, change: Callable[[Delivered | None], Delivered | None]) -> None:
        """Replace the record with ``change(record)`` (None: leave it), under its lock."""
        with self._lock("record", "Updating the hook delivery record"):
            new = change(self.read())
            if new is not None:
                with local_io(self.path, None, "write the hook delivery record"):
                    atomic_write(self.path, new.to_json())

    @contextmanager
    def running(self) -> Iterator[None]:
        """Hold the lock of ``minireg hooks run`` (one run at a time per registry)."""
        with self._lock("run", "minireg hooks run"):
            yield
