"""Exports running at the same time: each version is created by exactly one of them.

Two exports of one registry to one MLflow (two CI jobs, two people, two
machines) share nothing but MLflow, which has no lock. So each version's run
is its claim, judged by its heartbeat (:mod:`.lease`). To create a version,
an export:

1. looks the version up by its ``minireg.*`` tags: if MLflow has it, it only
   brings it in line (another export made it);
2. looks at the version's runs: while another export's run is live, waits
   (polls) and starts again from 1;
3. claims it: creates the version's run, tagged as the version, with a fresh
   heartbeat;
4. looks again: if another live claim is there (both claimed at once) or the
   version appeared, gives its claim up (deletes the run), waits a random
   moment and starts again from 1;
5. owns it: every other run of the version is abandoned (an export killed
   or failed midway, a run made by hand) and is deleted with its logged
   models. A heartbeat thread keeps the claim fresh while it logs the values,
   the model and the audit trail, creates the version and sets its stage; the
   run is marked FINISHED last.

Why no version is created twice: a claim is written before it is checked, so
of two exports that claim at once, the one whose check comes second sees the
other's claim and gives way (if both see each other, both give way and retry
at random moments). As a last guard, the version created is looked up by its
tags; should two exist, the lowest MLflow number is kept by both exports'
reckoning and the other export removes its own.

An export that fails while it holds a claim sets its heartbeat to 0, so the
next export takes over at once; one that is killed leaves a heartbeat that
ages out within the lease (60 s by default).
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from minireg.exporters.mlflow import client
from minireg.exporters.mlflow.lease import CLAIMED_BY, HEARTBEAT, Watch
from minireg.exporters.mlflow.plan import FoundRun
from minireg.exporters.mlflow.session import Session, remote_errors
from minireg.exporters.mlflow.wanted import Wanted, ms, run_tags


def owner() -> str:
    """Who claims: this host and process, as people read it in ``minireg.claimed_by``."""
    return f"{platform.node() or 'unknown host'} pid {os.getpid()}"


@dataclass
class Claims:
    """One export's claims on versions, in one experiment, judged with one :class:`Watch`."""

    s: Session
    experiment_id: str
    watch: Watch
    me: str = field(default_factory=owner)
    clock: Callable[[], float] = time.time
    mono: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _held: str | None = field(default=None, init=False)
    _beater: threading.Thread | None = field(default=None, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _beating: threading.Lock = field(default_factory=threading.Lock, init=False)

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    def sorted_runs(self, runs: list[FoundRun], mine: str = "") -> dict[str, list[FoundRun]]:
        """Runs other than ``mine`` by state: ``done``, ``live``, ``abandoned``."""
        out: dict[str, list[FoundRun]] = {"done": [], "live": [], "abandoned": []}
        for run in runs:
            if run.run_id != mine:
                out[self.watch.state(run, self.now_ms(), self.mono())].append(run)
        return out

    def is_live(self, run: FoundRun) -> bool:
        return self.watch.state(run, self.now_ms(), self.mono()) == "live"

    def still_working(self, want: Wanted, run_id: str) -> bool:
        """True (after a pause) while another export finishes the version of ``run_id``."""
        runs = client.version_runs(self.s, self.experiment_id, want.rec)
        if any(run.run_id == run_id and self.is_live(run) for run in runs):
            self.sleep(self.watch.poll)
            return True
        return False

    def claim(self, want: Wanted, look_first: bool = True) -> str | None:
        """My run, holding ``want``'s version; None: look the version up again (steps 2-5).

        ``look_first=False`` skips step 2 when the export's first reading of
        MLflow showed no run of the version: the check after the claim is what
        keeps two exports apart, the look before only spares a claim made in vain.
        """
        rec = want.rec
        runs = client.version_runs(self.s, self.experiment_id, rec) if look_first else []
        if self.sorted_runs(runs)["live"]:
            self.sleep(self.watch.poll)
            return None
        tags = {**run_tags(want), HEARTBEAT: str(self.now_ms()), CLAIMED_BY: self.me}
        mine = client.start_run(self.s, self.experiment_id, ms(rec.created_at), tags)
        others = self.sorted_runs(client.version_runs(self.s, self.experiment_id, rec), mine)
        # With no other run of the version, no version can have been made since the
        # caller looked (making one takes a run); with others, it may have.
        if others["live"] or (any(others.values()) and client.lookup(self.s, rec)):
            client.discard_run(self.s, self.experiment_id, mine)
            if others["live"]:
                self.sleep(random.uniform(0.5, 2.0) * self.watch.poll)
            return None
        for run in others["done"] + others["abandoned"]:
            client.discard_run(self.s, self.experiment_id, run.run_id)
        return mine

    @contextlib.contextmanager
    def holding(self, run_id: str) -> Iterator[None]:
        """Keep the claim on ``run_id`` fresh while the block runs; give it up if it fails."""
        self._start_beating()
        with self._beating:
            self._held = run_id
        try:
            yield
        except BaseException as exc:
            # Given up: the next export may take over at once. Not when MLflow itself
            # failed: its client would retry this call for minutes before reporting.
            if isinstance(exc, remote_errors()):
                self._held = None
                raise
            with self._beating:
                self._held = None
                with contextlib.suppress(*remote_errors()):
                    client.set_run_tag(self.s, run_id, HEARTBEAT, "0")
            raise
        self._held = None

    def _start_beating(self) -> None:
        """One heartbeat thread per export, beating for whichever claim is held."""
        if self._beater is not None:
            return

        def beat() -> None:
            while not self._stop.wait(self.watch.beat):
                with self._beating:
                    run_id = self._held
                    if run_id is None:
                        continue
                    # The main thread meets MLflow's failures itself; a missed beat is no
                    # harm unless the lease passes, and then the twin check still holds.
                    with contextlib.suppress(*remote_errors()):
                        client.set_run_tag(self.s, run_id, HEARTBEAT, str(self.now_ms()))

        self._beater = threading.Thread(target=beat, name="minireg-heartbeat", daemon=True)
        self._beater.start()

    def close(self) -> None:
        """Stop the heartbeat thread (it beats for no claim once the work is done)."""
        self._stop.set()
        if self._beater is not None:
            self._beater.join(timeout=self.watch.beat)
