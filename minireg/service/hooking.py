"""Where a Registry's verbs meet its hooks, at no cost when ``minireg.toml`` has none.

:class:`HookSite` is what the write verbs call: :meth:`~HookSite.vet` before a
promotion takes the lock, :meth:`~HookSite.after` once a write has returned
(the lock released). With no hooks configured both return at once and import
nothing: the hook machinery (:mod:`minireg.service.hooks`, and ``urllib`` for
webhooks) is loaded only by a registry that has hooks.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from minireg.domain.hooks import Hooks
from minireg.domain.records import Event, VersionRecord

if TYPE_CHECKING:
    from typing import Unpack

    from minireg.domain.hook_payloads import Ask
    from minireg.domain.vetting import Vetting
    from minireg.service.hooks import Delivery, HookRunner
    from minireg.storage.deliveries import DeliveryRecord


class HookSite:
    """The hooks of one registry: its folder, its ``[hooks]`` and its delivery record."""

    def __init__(self, root: Path, hooks: Hooks, cache: Path, timeout: float) -> None:
        self.root = root
        self.hooks = hooks
        self.cache = cache
        self.timeout = timeout
        self._sinks = threading.local()

    def runner(self) -> HookRunner:
        from minireg.service.hooks import HookRunner

        return HookRunner(self.root, self.hooks)

    def record(self) -> DeliveryRecord:
        from minireg.storage.deliveries import DeliveryRecord

        return DeliveryRecord(self.cache, self.timeout)

    def vet(self, record: VersionRecord, target: str, **ask: Unpack[Ask]) -> Vetting:
        """The verdicts of the before-transition hooks that apply to this promotion."""
        return self.runner().vet(record, target, **ask)

    def after(self, new: list[Event]) -> None:
        """Deliver a returned write's events to the after-write hooks (call it outside the lock)."""
        if not new or not self.hooks.after:
            return
        from minireg.service.hooks import after_write

        sent = after_write(self.runner(), self.record(), new)
        for sink in self._sinks.__dict__.get("stack", []):
            sink.extend(sent)

    @contextmanager
    def collecting(self) -> Iterator[list[Delivery]]:
        """Collect the deliveries of this thread's writes inside the block."""
        stack: list[list[Delivery]] = self._sinks.__dict__.setdefault("stack", [])
        sink: list[Delivery] = []
        stack.append(sink)
        try:
            yield sink
        finally:
            stack.pop()  # blocks nest, so the last one opened is this one
