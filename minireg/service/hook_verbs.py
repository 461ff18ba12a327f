"""The hook verbs of a Registry: run the after-write hooks for events that came by git, test them.

The hooks themselves run from the write verbs (:mod:`minireg.service.writes`
through :class:`minireg.service.hooking.HookSite`); these verbs are for the
events a process did not write: ``git pull && minireg hooks run`` in CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from minireg.domain.records import GENESIS, Event
from minireg.domain.values import utc_text
from minireg.errors import IntegrityError, NotFound
from minireg.service.core import RegistryCore

if TYPE_CHECKING:
    from minireg.service.hook_runs import HookRun
    from minireg.service.hooks import Delivery


class HookVerbs(RegistryCore):
    """The hook verbs of a Registry: run_hooks, test_hooks, and delivering."""

    def run_hooks(self, since: str | None = None) -> HookRun:
        """Fire the after-write hooks for every event not yet delivered on this machine.

        Each (event, hook) pair is delivered once while deliveries succeed; a
        failed one is tried again by the next run. The delivered head is kept in
        the registry's git-ignored ``.cache/``. ``since`` (an event hash or its
        first characters, a git commit, or ``start`` for the whole trail)
        delivers every event after it again, whatever was delivered before.

        Raises:
            InvalidInput: this machine has no delivery record yet and ``since`` is None.
            NotFound: ``since`` names no event or commit, or the record's head is gone.
            IntegrityError: the trail does not check out.
            RegistryBusy: another ``hooks run`` on this registry did not finish in time.

        Example:
            >>> reg.run_hooks().deliveries            # after `git pull`
        """
        from minireg.service.hook_runs import HookRun, run_pending

        if not self.config.hooks.after:
            return HookRun()
        state = self.state()
        if state.anomalies:
            raise IntegrityError(
                "The audit trail does not check out, so no hook was run; `minireg verify` "
                "lists the problems.",
                list(state.anomalies),
            )
        events = self.events()
        start = None if since is None else self._start(events, since)
        return run_pending(self._hooks.runner(), self._hooks.record(), events, start)

    def _start(self, events: list[Event], since: str) -> str:
        """The original hash of the event ``since`` names (GENESIS for ``start``)."""
        from minireg.domain.merge_identity import walk
        from minireg.service.hook_runs import find_event

        if since == "start":
            return GENESIS
        walked = [(event, origin) for _, event, origin, _ in walk(events)]
        found = find_event(walked, since)
        if found is not None:
            return found
        from minireg.adapters.git.trail import head_at

        head = head_at(self.root, since, self.storage.events_path.name)
        if head == GENESIS:
            return GENESIS
        found = find_event(walked, head) if head else None
        if found is None:
            raise NotFound(
                f"--since {since!r} names no event of this registry"
                + (" (that commit's last event is not in events.jsonl)" if head else "")
                + "; give an event hash (`minireg history --json` lists them), a git commit, "
                "or start."
            )
        return found

    def test_hooks(
        self, event: str, *, actor: str | None = None, now: datetime | None = None
    ) -> HookRun:
        """Send an example payload of type ``event`` to every after-write hook.

        ``event`` is a payload type (``model_version.created``, ...) or a change
        (``register``, ``transition``, ``alias``, ``describe``, ``tag``). The payload
        has ``"test": true`` and a fresh idempotency key; filters are ignored, and
        nothing is noted as delivered.

        Raises:
            InvalidInput: ``event`` is not an event type.
        """
        from minireg.service.hook_runs import send_samples

        who = self._actor(actor)
        return send_samples(
            self._hooks.runner(), event, time=utc_text(now or self.clock()), actor=who
        )

    @contextmanager
    def delivering(self) -> Iterator[list[Delivery]]:
        """Collect what the after-write hooks of this thread's writes in the block delivered.

        Example:
            >>> with reg.delivering() as sent:
            ...     reg.promote("churn", 7, "Production", approver="alice@corp")
            >>> [d.detail for d in sent if not d.ok]
        """
        with self._hooks.collecting() as sink:
            yield sink
