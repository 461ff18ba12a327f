"""Hooks: run (deliver what came by git), test (a sample payload), verify-signature (receivers).

Also :func:`hook_deliveries`, which the writing commands wrap around their one
call so that ``--json`` reports what their after-write hooks delivered (a
failure is also a ``warning:`` line on stderr, and never changes the exit code).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minireg.cli import render
from minireg.cli.errors import Exit
from minireg.errors import InvalidInput, RemoteError
from minireg.service.registry import open_registry

if TYPE_CHECKING:
    from minireg.service.hook_runs import HookRun
    from minireg.service.hooks import Delivery
    from minireg.service.registry import Registry


@contextmanager
def hook_deliveries(reg: Registry) -> Iterator[list[Delivery]]:
    """Collect the after-write deliveries of the write in the block (none without hooks)."""
    if not reg.config.hooks.after:
        yield []
        return
    with reg.delivering() as sent:
        yield sent


def with_deliveries(data: dict[str, Any], sent: list[Delivery]) -> dict[str, Any]:
    """``--json`` output with a ``hooks`` list when after-write hooks ran."""
    return {**data, "hooks": [d.to_dict() for d in sent]} if sent else data


def _deliveries(count: int) -> str:
    return f"{count} {'delivery' if count == 1 else 'deliveries'}"


def _show(result: HookRun, json_out: bool) -> None:
    if json_out:
        render.as_json(result.to_dict())
    elif result.deliveries:
        render.table(
            ["event", "model", "version", "hook", "result", "detail"],
            [
                [d.event, d.model, d.version, d.hook, "ok" if d.ok else "FAILED", d.detail]
                for d in result.deliveries
            ],
        )
    failed = result.failed
    if failed:
        if json_out:
            raise Exit(RemoteError.exit_code)
        raise RemoteError(
            f"{len(failed)} of {_deliveries(len(result.deliveries))} failed"
            + ("; `minireg hooks run` tries them again." if result.head else ".")
        )


def run(since: str | None = None, registry: Path | None = None, json_out: bool = False) -> None:
    """minireg hooks run: deliver the events this machine has not delivered yet."""
    reg = open_registry(registry)
    result = reg.run_hooks(since)
    _show(result, json_out)
    if not reg.config.hooks.after:
        render.message("No [[hooks.after]] in minireg.toml; nothing to deliver.")
    elif not json_out:
        render.message(
            f"Delivered {sum(d.ok for d in result.deliveries)} of "
            f"{_deliveries(len(result.deliveries))} for "
            f"{render.plural(result.events, 'event')}; every event up to "
            f"{render.short(result.head)} is delivered on this machine."
        )


def test(event: str, registry: Path | None = None, json_out: bool = False) -> None:
    """minireg hooks test: send a sample payload of EVENT to every after-write hook."""
    reg = open_registry(registry)
    result = reg.test_hooks(event)
    _show(result, json_out)
    if not result.deliveries:
        render.message("No [[hooks.after]] in minireg.toml; nothing to test.")
    elif not json_out:
        render.message(f"Sent a sample {event} to {render.plural(len(result.deliveries), 'hook')}.")


def verify_signature(
    msg_id: str,
    timestamp: str,
    signature: str,
    body: Path | None = None,
    secret_env: str = "MINIREG_WEBHOOK_SECRET",
    tolerance: float = 300.0,
) -> None:
    """minireg hooks verify-signature: check a received webhook's signature (exit 6 if not)."""
    from minireg.adapters import webhook

    secret = os.getenv(secret_env, "")
    if not secret:
        raise InvalidInput(
            f"The environment variable {secret_env} is not set; it must hold the signing "
            "secret (or name another one with --secret-env)."
        )
    if body is None or str(body) == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = body.read_bytes()
        except OSError as exc:
            raise InvalidInput(f"Cannot read {body}: {exc.strerror or exc}.") from exc
    headers = {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature}
    webhook.verify_signature(secret, headers, data, tolerance=tolerance)
    render.message("OK: the signature checks out.")
