"""The one write path: lock, check the trail, decide, append (the commit point), then the views.

Every change goes through :meth:`Writer.write`. Under the registry lock it
reads the trail, takes the state from the read cache (refusing a trail that
does not check out), asks the verb's pure decision for drafts, chains them,
and appends them durably: **that append is the commit point**. Before it, a
failure leaves nothing visible (:class:`~minireg.errors.LocalIOError`, exit 9,
"nothing was recorded"). After it the change stands: the read cache and the
ledger are views, and one that cannot be written is a warning that the
ledger lags (``minireg rebuild`` brings it up to date), never a failure.
Last, still under the lock, the hooks of this thread run (``--commit``
commits the written files there, so concurrent committers take turns).

Maintenance that writes no event (rebuild, convert, gc) holds the same lock
through :meth:`Writer.locked` and reports through :meth:`Writer.notify`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from minireg._version import TOOL
from minireg.domain import ledger_append, ledger_update
from minireg.domain.chain import Trail
from minireg.domain.config import Config
from minireg.domain.ledger import columns, render_csv
from minireg.domain.records import Draft, Event, chain
from minireg.domain.state import State, apply
from minireg.errors import IntegrityError
from minireg.storage import Storage

log = logging.getLogger("minireg")

AfterWrite = Callable[[list[Event], "Event | None", str], None]
"""A hook run under the lock after a write: (new events, audit head, message or "")."""
Decide = Callable[[State], list[Draft]]
"""A verb's decision: the drafts to record given the current state (none for a no-op)."""


class Writer:
    """Writes for one registry: its storage, its settings, and the hooks of each thread."""

    def __init__(
        self, storage: Storage, config: Config, parse: Callable[[list[str]], list[Event]]
    ) -> None:
        self.storage = storage
        self.config = config
        self._parse = parse
        self._hooks = threading.local()

    # -- reading under the lock ---------------------------------------------------

    def checked_state(self, trail: Trail) -> State:
        """The state of ``trail``, or IntegrityError if the trail does not check out.

        Writes build only on a sound trail: appending to a forked chain (after a
        ``merge=union``, say) or to a trail with a version registered twice would
        bury the problem under new events.
        """
        state = self.storage.state(trail, self.config.initial_stage, self._parse)
        if state.anomalies:
            raise IntegrityError(
                f"The audit trail {self.storage.events_path} does not check out, so nothing "
                f"was written ({state.anomalies[0]}); run `minireg verify`, then restore "
                "events.jsonl from git or finish the merge with the minireg merge driver.",
                list(state.anomalies),
            )
        return state

    @contextmanager
    def locked(self) -> Iterator[tuple[Trail, State]]:
        """Hold the lock with the trail and its checked state (maintenance without events)."""
        with self.storage.lock():
            trail = self.storage.read_trail()
            yield trail, self.checked_state(trail)

    # -- the write ------------------------------------------------------------------

    def write(self, decide: Decide, *, actor: str, time: str) -> tuple[list[Event], State]:
        """Decide under the lock, append the events (the commit point), update the views.

        Returns the new events (empty for a no-op) and the state after them.

        Raises:
            IntegrityError: the trail does not check out; nothing is written.
            LocalIOError: the append failed; nothing was recorded.
            RegistryBusy: the lock was not acquired in time.
        """
        storage = self.storage
        with self.locked() as (trail, state):
            drafts = decide(state)
            if not drafts:
                return [], state
            new = chain(drafts, head=state.head, time=time, actor=actor, tool=TOOL)
            ledger_before = self._insertable_ledger(trail, new)
            storage.append_events(new)  # the commit point
            for event in new:
                apply(state, event)
            self._update_views(trail, state, new, ledger_before)
            self.notify(new, state.head, "")
        return new, state

    def _insertable_ledger(self, trail: Trail, new: list[Event]) -> bytes | None:
        """The CSV ledger's bytes when the change can be made to its rows in place.

        Only when the stamp vouches that ``ledger.csv`` is exactly the view of the
        trail before ``new``; inserting or replacing rows then gives the bytes of
        a full render without rendering every row again.
        """
        if self.config.format != "csv":
            return None
        return self.storage.vouched_ledger(trail.digest)

    def _update_views(
        self, trail: Trail, state: State, new: list[Event], ledger_before: bytes | None
    ) -> None:
        """After the commit point: the read cache and the ledger; a failure is a warning."""
        try:
            digest = self.storage.trail_digest()  # read once: it keys the cache and the stamp
            self.storage.save_state(state, digest)
            data = self._inserted(state, new, ledger_before)
            if data is None:
                lines = [*trail.lines, *(event.to_line() for event in new)]
                data = self.render(state, lines)
            self.storage.write_ledger(data, digest)
        except OSError as exc:
            log.warning(
                "The change WAS recorded in the audit trail, but %s could not be written "
                "(%s); it lags behind the events until `minireg rebuild` succeeds.",
                self.storage.ledger_path,
                exc.strerror or exc,
            )

    @staticmethod
    def _inserted(state: State, new: list[Event], ledger_before: bytes | None) -> bytes | None:
        """The ledger after ``new``, made from the rows they touch (None: render it all)."""
        if ledger_before is None:
            return None
        if all(event.action == "register" for event in new):  # one register, or a batch
            added = [state.versions[(e.model, e.version or 0)] for e in new]
            return ledger_append.insert_rows(ledger_before, added)
        if any(event.action in ("register", "renumber", "merge") for event in new):
            return None
        touched = {(e.model, e.version) for e in new if e.version is not None}
        for event in new:  # an alias moved away from its previous holder changes that row too
            previous = event.data.get("previous") if event.action == "alias_set" else None
            if isinstance(previous, int) and not isinstance(previous, bool):
                touched.add((event.model, previous))
        changed = [state.versions[key] for key in sorted(touched) if key in state.versions]
        return ledger_update.replace_rows(ledger_before, changed, columns(state.records()))

    def render(self, state: State, lines: list[str], fmt: str | None = None) -> bytes:
        """The ledger bytes for ``state`` in ``fmt`` (default: the configured format)."""
        if (fmt or self.config.format) == "xlsx":
            from minireg.adapters.xlsx import workbook_bytes

            return workbook_bytes(state.records(), self._parse(lines))
        return render_csv(state.records())

    # -- hooks ------------------------------------------------------------------------

    @contextmanager
    def hooked(self, hook: AfterWrite) -> Iterator[None]:
        """Run ``hook`` after each write of this thread inside the block."""
        stack: list[AfterWrite] = self._hooks.__dict__.setdefault("stack", [])
        stack.append(hook)
        try:
            yield
        finally:
            stack.remove(hook)

    def notify(self, events: list[Event], head: Event | None, message: str) -> None:
        """Run this thread's hooks (under the lock) for a write that was just made."""
        for hook in list(self._hooks.__dict__.get("stack", [])):
            hook(events, head, message)
