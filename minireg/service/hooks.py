"""Hooks at work: before-transition checks and after-write deliveries, one payload at a time.

A :class:`HookRunner` runs a registry's hooks from ``minireg.toml``:

- :meth:`HookRunner.vet` asks the before-transition hooks about a promotion
  (before the lock is taken) and returns their verdicts;
- :meth:`HookRunner.deliver` sends one payload to one after-write hook: a
  command (argv, no shell, the payload on stdin, ``MINIREG_*`` variables) or a
  webhook (:mod:`minireg.adapters.webhook`), within the hook's timeout;
- :func:`after_write` delivers a write's events once the write has returned
  (after the commit point, with the lock released) and notes them in the
  delivery record, so ``minireg hooks run`` does not send them again.

A failed delivery never undoes a change: it is returned, logged as a warning
(the command line shows it on stderr) and tried again by ``minireg hooks run``.
Secrets stay in the environment: no message, record or payload holds one, and
command hooks do not inherit the variables that hold webhook secrets.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from minireg.adapters.command import run_command
from minireg.domain.hook_payloads import Ask, environment, payload, proposal
from minireg.domain.hook_settings import AfterHook
from minireg.domain.hooks import Hooks
from minireg.domain.policies import Check
from minireg.domain.records import Event, VersionRecord
from minireg.domain.vetting import Vetting
from minireg.errors import MiniregError
from minireg.storage.deliveries import Delivered, DeliveryRecord

if TYPE_CHECKING:
    from typing import Unpack

log = logging.getLogger("minireg")


@dataclass(frozen=True)
class Delivery:
    """One payload sent to one after-write hook, and how it went."""

    hook: str
    event: str
    key: str
    model: str
    version: int | None
    ok: bool
    detail: str
    attempts: int = 1
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data with stable keys, for ``--json``."""
        return {
            "hook": self.hook,
            "event": self.event,
            "idempotency_key": self.key,
            "model": self.model,
            "version": self.version,
            "ok": self.ok,
            "detail": self.detail,
            "attempts": self.attempts,
            "seconds": round(self.seconds, 3),
        }

    def warning(self) -> str:
        """The sentence that reports a failed delivery."""
        what = f"{self.event} of {self.model}" + (
            f" version {self.version}" if self.version is not None else ""
        )
        return (
            f"hook {self.hook} failed for {what} ({self.detail}); the change stands, and "
            "`minireg hooks run` tries the hook again."
        )


def body_bytes(body: dict[str, Any]) -> bytes:
    """A payload as sent: UTF-8 JSON."""
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class HookRunner:
    """Runs the hooks of the registry at ``root`` (commands start in its parent folder)."""

    def __init__(self, root: Path, hooks: Hooks) -> None:
        self.root = root.resolve()
        self.hooks = hooks

    def _env(self, body: dict[str, Any]) -> dict[str, str]:
        # A command hook does not need the webhooks' signing secrets: keep them from it.
        kept = {k: v for k, v in os.environ.items() if k not in self.hooks.secret_envs}
        return {**kept, **environment(body), "MINIREG_REGISTRY": str(self.root)}

    def _run(
        self, command: tuple[str, ...], body: dict[str, Any], timeout: float, veto: bool = False
    ) -> Check:
        ran = run_command(
            list(command),
            body_bytes(body),
            env=self._env(body),
            cwd=self.root.parent,
            timeout=timeout,
        )
        return Check("", ran.ok, ran.summary(timeout, veto=veto))

    def vet(self, record: VersionRecord, target: str, **ask: Unpack[Ask]) -> Vetting:
        """Ask every before-transition hook of this promotion; their verdicts as checks."""
        checks = []
        for hook in self.hooks.before_for(record.model, target):
            body = proposal(record, target, key=uuid.uuid4().hex, **ask)
            verdict = self._run(hook.command, body, hook.timeout, veto=True)
            checks.append(Check(f"hook {hook.label}", verdict.passed, verdict.detail))
        return Vetting(record.stage, tuple(checks))

    def deliver(self, hook: AfterHook, body: dict[str, Any]) -> Delivery:
        """Send ``body`` to ``hook`` within its timeout (and retries, for a webhook)."""
        start = time.monotonic()
        if hook.is_webhook:
            ok, detail, attempts = self._post(hook, body)
        else:
            verdict = self._run(hook.command, body, hook.timeout)
            ok, detail, attempts = verdict.passed, verdict.detail, 1
        data = body["data"]
        version = int(data["version"]) if str(data.get("version", "")).isdigit() else None
        return Delivery(
            hook=hook.label,
            event=body["type"],
            key=body["idempotency_key"],
            model=str(data.get("name", "")),
            version=version,
            ok=ok,
            detail=detail,
            attempts=attempts,
            seconds=time.monotonic() - start,
        )

    def _post(self, hook: AfterHook, body: dict[str, Any]) -> tuple[bool, str, int]:
        url = hook.url or os.environ.get(hook.url_env, "")
        if not url:
            return False, f"the environment variable {hook.url_env} is not set; nothing was sent", 0
        if urlsplit(url).scheme not in ("http", "https"):
            return False, f"{hook.url_env} does not hold an http(s) address; nothing was sent", 0
        secret = os.environ.get(hook.secret_env, "") if hook.secret_env else None
        if secret == "":
            return (
                False,
                f"the environment variable {hook.secret_env} (secret_env) is not set; "
                "nothing was sent unsigned",
                0,
            )
        from minireg.adapters.webhook import post

        posted = post(
            url,
            body_bytes(body),
            msg_id=str(body["idempotency_key"]),
            secret=secret,
            timeout=hook.timeout,
            retries=hook.retries,
        )
        detail = posted.detail
        if posted.ok and posted.attempts > 1:
            detail += f" after {posted.attempts} attempts"
        return posted.ok, detail, posted.attempts


def after_write(runner: HookRunner, record: DeliveryRecord, new: list[Event]) -> list[Delivery]:
    """Deliver a write's new events (after it returned) and note them in the delivery record.

    A machine without a record starts one here: what was written before this
    write counts as delivered.
    """
    pairs = [(event, hook) for event in new for hook in runner.hooks.after_for(event)]
    if not pairs:
        return []
    sent = []
    landed = set()
    for event, hook in pairs:
        delivery = runner.deliver(hook, payload(event, event.hash))
        sent.append(delivery)
        if delivery.ok:
            landed.add((event.hash, hook.key))
        else:
            log.warning(delivery.warning())

    def note(delivered: Delivered | None) -> Delivered:
        found = delivered or Delivered(new[0].prev)
        for event_hash, hook_key in landed:
            found.add(event_hash, hook_key)
        if len(landed) == len(pairs) and found.head == new[0].prev:
            # The usual case, everything landed right after the head: move the head on.
            found.head = new[-1].hash
            for event in new:
                found.done.pop(event.hash, None)
        return found

    try:
        record.update(note)
    except (MiniregError, OSError) as exc:
        log.warning(
            "The hooks ran, but the delivery record could not be updated (%s); "
            "`minireg hooks run` may deliver these events again.",
            exc,
        )
    return sent
