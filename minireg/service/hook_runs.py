"""``minireg hooks run`` and ``minireg hooks test``: deliveries for events that came by git.

A promotion merged by a pull request was never written on the machine that
should announce it. :func:`run_pending` walks the trail after the delivery
record's head (or after ``--since``) and sends every event to every after-write
hook it calls that has not had it yet, exactly once per (event, hook) on this
machine while deliveries succeed; a failed one stays pending for the next run.
Events are known by their *original* hash (a merge that re-chains an event
maps its new hash back), which is also the idempotency key in the payload, so
a receiver can drop a repeat. :func:`send_samples` sends an example payload of
one type to every after-write hook.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from minireg.domain.hook_payloads import TYPES, payload, sample_event
from minireg.domain.hook_settings import AfterHook
from minireg.domain.merge_identity import walk
from minireg.domain.records import GENESIS, Event
from minireg.errors import InvalidInput, NotFound
from minireg.service.hooks import Delivery, HookRunner
from minireg.storage.deliveries import Delivered, DeliveryRecord


@dataclass(frozen=True)
class HookRun:
    """What ``hooks run`` or ``hooks test`` sent, and the delivered head afterwards."""

    deliveries: list[Delivery] = field(default_factory=list)
    events: int = 0
    """How many events were looked at (after the start)."""
    head: str = ""
    """The hash up to which every event is delivered on this machine ("" for a test)."""

    @property
    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.ok]

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {
            "events": self.events,
            "delivered": sum(d.ok for d in self.deliveries),
            "failed": len(self.failed),
            "head": self.head,
            "deliveries": [d.to_dict() for d in self.deliveries],
        }


Walked = list[tuple[Event, str]]
"""The trail's events, each with its original hash."""


def _index(walked: Walked, digest: str) -> int | None:
    """The position of the event with hash (or original hash) ``digest``; -1 for GENESIS."""
    if digest == GENESIS:
        return -1
    for index, (event, origin) in enumerate(walked):
        if digest in (event.hash, origin):
            return index
    return None


def find_event(walked: Walked, prefix: str) -> str | None:
    """The original hash of the one event whose hash starts with ``prefix``, else None.

    Raises:
        InvalidInput: more than one event starts with it.
    """
    text = prefix.lower()
    if len(text) < 4 or any(c not in "0123456789abcdef" for c in text):
        return None
    n = len(text)
    found = {origin for event, origin in walked if text in (event.hash[:n], origin[:n])}
    if len(found) > 1:
        raise InvalidInput(f"{prefix!r} starts the hashes of {len(found)} events; give more of it.")
    return found.pop() if found else None


def _resume(walked: Walked, delivered: Delivered | None) -> tuple[int, set[str]]:
    """Where this machine's deliveries stand: the index up to which all is delivered, and the
    origins of later events that are delivered too (this side's, moved by a merge)."""
    if delivered is None:
        raise InvalidInput(
            "This machine has no record of delivered events yet; run `minireg hooks run --since "
            "HASH` once (an event hash, or a git commit: the events after it are delivered; "
            "--since HEAD starts from now)."
        )
    at = _index(walked, delivered.head)
    if at is None:
        raise NotFound(
            f"The delivered head {delivered.head[:12]} is not in events.jsonl any more (the "
            "trail was replaced?); run `minireg hooks run --since HASH` to say where to resume."
        )
    if at < 0 or walked[at][0].hash == delivered.head:
        return at, set()
    return _moved(walked, at)


def _moved(walked: Walked, at: int) -> tuple[int, set[str]]:
    """The head was re-chained: a merge (``git pull --rebase``, say) put the other side's
    events before this side's. Resume after the merge's base, minus this side's events up to
    the head, which were delivered before they moved."""
    final = walked[at][0].hash
    for event, _ in walked[at + 1 :]:
        moved = event.data.get("rechained") if event.action == "merge" else None
        if not isinstance(moved, dict) or final not in moved.values():
            continue
        base = _index(walked, str(event.data.get("base", "")))
        if base is None or base >= at:
            break
        hashes = set(moved.values())
        return base, {walked[i][1] for i in range(base + 1, at + 1) if walked[i][0].hash in hashes}
    return at, set()


def _compact(delivered: Delivered, walked: Walked, hooks: list[AfterHook], start: int) -> None:
    """Move the head over every event after ``start`` whose hooks all had it."""
    head = start
    for event, origin in walked[start + 1 :]:
        if not all(delivered.has(origin, h.key) for h in hooks if h.matches(event)):
            break
        head += 1
    delivered.head = walked[head][1] if head >= 0 else GENESIS
    passed = {origin for _, origin in walked[: head + 1]}
    for digest in list(delivered.done):
        if digest in passed:
            del delivered.done[digest]


def run_pending(
    runner: HookRunner, record: DeliveryRecord, events: list[Event], since: str | None
) -> HookRun:
    """Deliver what this machine has not delivered (or, with ``since``, everything after it).

    ``since`` is an original event hash (GENESIS for the whole trail), already resolved.

    Raises:
        InvalidInput: no record yet and no ``since``.
        NotFound: the record's head is not in the trail.
        RegistryBusy: another ``hooks run`` holds this registry.
    """
    walked = [(event, origin) for _, event, origin, _ in walk(events)]
    hooks = list(runner.hooks.after)
    with record.running():
        if since is None:
            start, skip = _resume(walked, record.read())
        else:
            found = _index(walked, since)
            assert found is not None, "resolved by find_event"
            start, skip = found, set()
        delivered = record.read() if since is None else None
        sent, landed = _send(runner, walked[start + 1 :], delivered, skip)

        def note(current: Delivered | None) -> Delivered:
            found = current or Delivered(GENESIS)
            for origin, key in landed:
                found.add(origin, key)
            for event, origin in walked[start + 1 :]:
                if origin in skip:  # delivered before a merge moved it: say so for each hook
                    for hook in runner.hooks.after_for(event):
                        found.add(origin, hook.key)
            # Resume from the recorded head when it is intact and further on (a write
            # meanwhile, or a replay of older events), else from where this run started.
            at = _index(walked, found.head) if current else None
            if at is None or at <= start or walked[at][0].hash != found.head:
                at = start
            _compact(found, walked, hooks, at)
            return found

        record.update(note)
        head = (record.read() or Delivered(GENESIS)).head
    return HookRun(sent, len(walked) - start - 1, head)


def _send(
    runner: HookRunner, walked: Walked, delivered: Delivered | None, skip: set[str]
) -> tuple[list[Delivery], set[tuple[str, str]]]:
    """Deliver each event to each hook it calls that has not had it; a hook that fails rests."""
    sent: list[Delivery] = []
    landed: set[tuple[str, str]] = set()
    down: set[str] = set()
    for event, origin in walked:
        if origin in skip:
            continue
        for hook in runner.hooks.after_for(event):
            if delivered is not None and delivered.has(origin, hook.key):
                continue
            if hook.key in down:
                sent.append(_not_tried(hook, event, origin))
                continue
            delivery = runner.deliver(hook, payload(event, origin))
            sent.append(delivery)
            if delivery.ok:
                landed.add((origin, hook.key))
            else:
                down.add(hook.key)  # a dead endpoint is not waited for once per event
    return sent, landed


def _not_tried(hook: AfterHook, event: Event, origin: str) -> Delivery:
    body = payload(event, origin)
    return Delivery(
        hook=hook.label,
        event=body["type"],
        key=origin,
        model=event.model,
        version=event.version,
        ok=False,
        detail="not tried: the hook failed on an earlier event of this run",
        attempts=0,
    )


def send_samples(runner: HookRunner, kind: str, *, time: str, actor: str) -> HookRun:
    """Send an example payload of type ``kind`` to every after-write hook (filters aside).

    Raises:
        InvalidInput: ``kind`` is not an event type (nor register, transition, ...).
    """
    event = sample_event(kind, time=time, actor=actor)
    if event is None:
        raise InvalidInput(
            f"{kind!r} is not an event type; use one of {', '.join(TYPES)} "
            "(or register, transition, alias, describe, tag)."
        )
    sent = []
    for hook in runner.hooks.after:
        body = {**payload(event, f"test-{uuid.uuid4().hex}"), "test": True}
        sent.append(runner.deliver(hook, body))
    return HookRun(sent, 1, "")
