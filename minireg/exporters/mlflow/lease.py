"""Telling a live export's run from an abandoned one: the lease and its heartbeat.

Pure: the clocks are arguments. An export that works on a version's run
claims it with two tags, written when the run is created and kept fresh by a
heartbeat while the work goes on:

- ``minireg.heartbeat``: the owner's wall clock (ms) at its last beat, every
  quarter of the lease; ``0`` once the owner gave the run up (it failed).
- ``minireg.claimed_by``: who works on it (host and process), for people.

Another export judges such a run by :meth:`Watch.state`: ``done`` (finished,
its model logged), ``live`` (running, with a heartbeat younger than the lease)
or ``abandoned`` (anything else: a crash, a kill, a run made by hand). A
heartbeat is judged by two clocks, so that machines whose clocks disagree
still agree in the end: it is older than the lease by the observer's wall
clock, or the observer has seen it unchanged for a whole lease.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from minireg.exporters.mlflow.plan import FoundRun

HEARTBEAT = "minireg.heartbeat"
CLAIMED_BY = "minireg.claimed_by"
DEFAULT_LEASE = 60.0
"""Seconds a claim stays live without a heartbeat."""


@dataclass
class Watch:
    """What one export has seen of other exports' heartbeats, to judge their runs."""

    lease: float
    """Seconds after which a silent claim is abandoned."""
    seen: dict[str, tuple[str, float]] = field(default_factory=dict)
    """run id -> (heartbeat, the observer's monotonic clock when it first saw that value)."""

    @property
    def beat(self) -> float:
        """Seconds between two heartbeats of a claim: a quarter of the lease."""
        return self.lease / 4

    @property
    def poll(self) -> float:
        """Seconds between two looks at a claim another export holds."""
        return min(1.0, max(self.lease / 20, 0.05))

    def state(self, run: FoundRun, now_ms: int, mono: float) -> str:
        """``done``, ``live`` or ``abandoned``; ``now_ms`` is wall clock, ``mono`` monotonic."""
        if run.done:
            return "done"
        beat = run.tags.get(HEARTBEAT, "")
        if run.status != "RUNNING" or not beat.isdigit() or int(beat) == 0:
            return "abandoned"
        if now_ms - int(beat) > self.lease * 1000:
            return "abandoned"
        first = self.seen.get(run.run_id)
        if first is None or first[0] != beat:
            self.seen[run.run_id] = (beat, mono)
            return "live"
        return "abandoned" if mono - first[1] > self.lease else "live"
