"""The one write path: lock, check the trail, decide, append (the commit point), then the views.

Every change goes through :meth:`Writer.write`. Under the registry lock it
takes the state from the read cache plus the events after it (refusing a
trail that does not check out: only those new events are checked, the cache
vouches for the rest, see :mod:`minireg.storage.cache`), asks the verb's pure
decision for drafts, chains them, and appends them durably: **that append is
the commit point**. Before it, a
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
from minireg.domain.config import Config
from minireg.domain.ledger import columns, render_csv
from minireg.domain.ledger_rows import Edit
from minireg.domain.records import Draft, Event, VersionRecord, chain
from minireg.domain.state import State, apply
from minireg.errors import IntegrityError
from minireg.storage import Storage
from minireg.storage.atomic import Data
from minireg.storage.cache import Folded
from minireg.storage.ledger_file import LedgerFile

log = logging.getLogger("minireg")

AfterWrite = Callable[[list[Event], "Event | None", str], None]
"""A hook run under the lock after a write: (new events, audit head, message or "")."""
Decide = Callable[[State], list[Draft]]
"""A verb's decision: the drafts to record given the current state (none for a no-op)."""


class Writer:
    """Writes for one registry: its storage, its settings, and the hooks of each thread."""

    def __init__(self, storage: Storage, config: Config) -> None:
        self.storage = storage
        self.config = config
        self._hooks = threading.local()

    # -- reading under the lock ---------------------------------------------------

    def checked_state(self) -> Folded:
        """The current state, or IntegrityError if the trail does not check out.

        Writes build only on a sound trail: appending to a forked chain (after a
        ``merge=union``, say) or to a trail with a version registered twice would
        bury the problem under new events.
        """
        folded = self.storage.state(self.config.initial_stage)
        state = folded.state
        if state.anomalies:
            raise IntegrityError(
                f"The audit trail {self.storage.events_path} does not check out, so nothing "
                f"was written ({state.anomalies[0]}); run `minireg verify`, then restore "
                "events.jsonl from git or finish the merge with the minireg merge driver.",
                list(state.anomalies),
            )
        return folded

    @contextmanager
    def locked(self) -> Iterator[Folded]:
        """Hold the lock with the checked current state (maintenance without events)."""
        with self.storage.lock():
            yield self.checked_state()

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
        with self.locked() as folded:
            state = folded.state
            drafts = decide(state)
            if not drafts:
                return [], state
            new = chain(drafts, head=state.head, time=time, actor=actor, tool=TOOL)
            ledger_before = self._insertable_ledger(folded)
            try:
                end = storage.append_events(new)  # the commit point
                before = _touched(state, new)
                for event in new:
                    apply(state, event, f"line {state.count + 1}")
                self._update_views(Folded(state, end, [], len(new)), new, before, ledger_before)
            finally:
                if ledger_before is not None:
                    ledger_before[0].close()
            self.notify(new, state.head, "")
        return new, state

    def _insertable_ledger(self, folded: Folded) -> tuple[LedgerFile, bool] | None:
        """The CSV ledger, open, when the change can be made to its rows in place, and
        whether the stamp says every row is one line.

        Only when the stamp vouches that ``ledger.csv`` is exactly the view of the
        state before the change; inserting or replacing rows then gives the bytes
        of a full render without rendering every row again (or reading the others).
        """
        if self.config.format != "csv":
            return None
        return self.storage.vouched_rows(folded.end)

    def _update_views(
        self,
        folded: Folded,
        new: list[Event],
        before: dict[tuple[str, int], VersionRecord | None],
        ledger_before: tuple[LedgerFile, bool] | None,
    ) -> None:
        """After the commit point: the read cache and the ledger; a failure is a warning.

        A ledger made from the rows the change touched has every row on one line (each
        new row is checked), which its stamp records; a full render says nothing.
        """
        try:
            self.storage.save_state(folded)
            edits = self._edits(folded.state, new, before, ledger_before)
            lines = edits is not None
            if ledger_before is not None and edits is not None:
                data: Data = ledger_before[0].pieces(edits)
            else:
                data = self.render(folded.state)
            self.storage.write_ledger(data, folded.end, lines=lines)
        except (OSError, IntegrityError) as exc:
            # IntegrityError: a damaged read cache met a trail rewritten meanwhile.
            log.warning(
                "The change WAS recorded in the audit trail, but %s could not be written "
                "(%s); it lags behind the events until `minireg rebuild` succeeds.",
                self.storage.ledger_path,
                getattr(exc, "strerror", None) or exc,
            )

    @staticmethod
    def _edits(
        state: State,
        new: list[Event],
        before: dict[tuple[str, int], VersionRecord | None],
        vouched: tuple[LedgerFile, bool] | None,
    ) -> list[Edit] | None:
        """The edits that make the ledger after ``new`` from the one before, touching only
        the rows they change (None: render it all)."""
        if vouched is None:
            return None
        ledger_before, known = vouched
        if new and all(e.action == "register" for e in new):  # one register, or a batch
            added = [state.versions[(e.model, e.version or 0)] for e in new]
            shown = len(state.versions) - len(new)
            return ledger_append.insert_rows(ledger_before, added, shown, known)
        if any(event.action in ("register", "renumber", "merge") for event in new):
            return None
        changed = [state.versions[key] for key in sorted(before) if key in state.versions]
        old = [rec for rec in before.values() if rec is not None]
        if columns(changed) != columns(old):
            # A column may come or go: only every version says which.
            cols = columns(state.records())
        else:
            # The touched versions kept their metric, param and tag names, so every
            # column stays: the ledger's own header (checked by row_spans) is the one.
            cols = _header(ledger_before[: ledger_before.find(b"\n")].decode("utf-8"))
        return ledger_update.row_spans(ledger_before, changed, cols, len(state.versions), known)

    def render(self, state: State, fmt: str | None = None) -> bytes:
        """The ledger bytes for ``state`` in ``fmt`` (default: the configured format)."""
        if (fmt or self.config.format) == "xlsx":
            from minireg.adapters.xlsx import workbook_bytes

            return workbook_bytes(state.records(), self.storage.read_events())
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


def _header(line: str) -> list[str]:
    import csv

    return next(csv.reader([line]), [])


def _touched(state: State, new: list[Event]) -> dict[tuple[str, int], VersionRecord | None]:
    """The versions ``new`` changes, with their records before it (their ledger rows change)."""
    keys = {(e.model, e.version) for e in new if e.version is not None}
    for event in new:  # an alias moved away from its previous holder changes that row too
        previous = event.data.get("previous") if event.action == "alias_set" else None
        if isinstance(previous, int) and not isinstance(previous, bool):
            keys.add((event.model, previous))
    return {key: state.versions.get(key) for key in sorted(keys)}
