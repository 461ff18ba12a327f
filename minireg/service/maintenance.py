"""The maintenance verbs of a Registry: rebuild, gc, convert, exports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from minireg.service.core import RegistryCore
from minireg.service.results import Conversion, ReportFile

if TYPE_CHECKING:
    from minireg.service.gc import Collection
    from minireg.service.registry import Registry


class Maintenance(RegistryCore):
    """The maintenance verbs of a Registry: rebuild, gc, convert, exports."""

    def rebuild(self) -> int:
        """Regenerate the ledger from the events; return the number of versions.

        Raises:
            IntegrityError: the trail does not check out (restore it from git first).
        """
        with self._writer.locked() as folded:
            state = folded.state
            self.storage.write_ledger(self._writer.render(state), folded.end)
            self._writer.notify([], state.head, "minireg: rebuild the ledger from the events")
        return len(state.versions)

    def gc(self, *, dry_run: bool = False, grace: float | None = None) -> Collection:
        """List (``dry_run``) or remove the objects no version references, under the lock.

        Objects younger than ``grace`` seconds (default an hour) are kept: a
        ``register`` in flight stores its objects before it takes the lock.

        Raises:
            IntegrityError: the trail does not check out (gc would guess).
        """
        from minireg.service.gc import DEFAULT_GRACE, referenced, sweep

        with self._writer.locked() as folded:
            state = folded.state
            objects = self.storage.objects
            # With a remote, a manifest missing here means its files are not cached either.
            cache = self.storage.remote is not None
            needed = referenced(objects, self.storage.read_events(), missing_ok=cache)
            wait = DEFAULT_GRACE if grace is None else grace
            result = sweep(objects, needed, dry_run=dry_run, grace=wait, now=self.clock())
            if result.removed:
                subject = f"minireg: gc removed {len(result.removed)} unreferenced objects"
                self._writer.notify([], state.head, subject)
        return result

    def convert(self, to: str) -> Conversion:
        """Switch the ledger to format ``to`` (csv or xlsx); ``.registry`` is the new Registry.

        Order matters for a crash: the new ledger first, then the settings, then
        the old ledger goes; a crash in between leaves both ledgers, which
        ``verify`` names and a second ``convert`` finishes.

        Raises:
            InvalidInput: an unknown format, or a minireg.toml that cannot be updated.
        """
        from minireg.service.spreadsheet import new_settings

        with self._writer.locked() as folded:
            state = folded.state
            text = self.storage.read_config_text()
            old, fmt, new_text, config = new_settings(text, to, self.root)
            data = self._writer.render(state, fmt)
            self.storage.write_ledger(data, folded.end, fmt)
            if new_text != text:
                self.storage.write_config_text(new_text)
            gone = self.storage.remove_ledger("csv" if fmt == "xlsx" else "xlsx")
            self._writer.notify([], state.head, f"minireg: convert the ledger to {fmt}")
        removed = self.storage.ledger_path_for("csv" if fmt == "xlsx" else "xlsx").name
        # The same kind of Registry, with the new settings (no import: registry imports us).
        new = cast("Registry", type(self)(self.root, config))
        return Conversion(old, fmt, len(state.versions), removed if gone else "", new)

    def export_csv(self, out: Path | str, *, excel: bool = False) -> int:
        """Write the ledger as CSV to ``out`` (outside the registry); the number of versions.

        ``excel`` quotes formula-like cells and adds a byte order mark for Excel.
        """
        from minireg.service.spreadsheet import write_csv

        return write_csv(self.root, self.state().records(), Path(out), excel=excel)

    def export_xlsx(self, out: Path | str) -> int:
        """Write the ledger workbook (ledger and audit sheets) to ``out``; the version count."""
        from minireg.service.spreadsheet import write_xlsx

        events = self.events()
        return write_xlsx(self.root, self.state().records(), events, Path(out))

    def report(
        self,
        out: Path | str,
        *,
        model: str | None = None,
        since: str | None = None,
        now: bool = False,
        verify: bool = True,
    ) -> ReportFile:
        """Write the registry's report to ``out``: one self-contained HTML page.

        It shows, per model, a stage timeline (promotions with actor, approver and
        reason), metrics across versions (Production versions highlighted, a metric
        chooser), the current state, and the audit trail as a sortable, filterable
        table with the trail's head hash and whether ``verify`` passed. Every script
        and style is inline, so it opens offline. The same trail and options give the
        same bytes: "generated at" is the trail head's time unless ``now``.

        Args:
            out: the HTML file to write (outside the registry).
            model: only this model.
            since: only what happened at or after this ISO date/time.
            now: stamp "generated at" with the current time instead.
            verify: run :meth:`verify` and show its result (it re-hashes every artifact,
                which takes long for big registries; False shows "not run").

        Raises:
            InvalidInput: a bad ``since`` or ``out``, or the ``minireg[report]`` extra
                (Altair, vl-convert) is missing.
            NotFound: ``model`` does not exist.

        Example:
            >>> reg.report("report.html", model="churn_predictor", since="2024-03-01")
        """
        from minireg.service.report import write_report

        return write_report(
            cast("Registry", self), Path(out), model=model, since=since, now=now, verify=verify
        )
