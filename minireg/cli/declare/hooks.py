"""Declarations of the hook commands: hooks run, hooks test, hooks verify-signature."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from minireg.cli import hooks
from minireg.cli.declare import JsonOpt, RegistryOpt, declares


@declares(hooks.run, "hooks run")
def run(
    since: Annotated[
        Optional[str],
        typer.Option(
            "--since",
            help="Deliver every event after this one again: an event hash (or its first "
            "characters), a git commit (the events it did not have), or 'start'.",
            show_default=False,
        ),
    ] = None,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fire the after-write hooks for every event not yet delivered on this machine.

    For events that came by git (a promotion merged by a pull request): each is
    delivered once to each hook it calls; a failed delivery is tried again by the
    next run (exit 7 until then). The delivered head is kept in the registry's
    git-ignored .cache/.

    Example: git pull && minireg hooks run
    """


@declares(hooks.test, "hooks test")
def test(
    event: Annotated[
        str,
        typer.Argument(
            metavar="EVENT",
            help="An event type (model_version.created, model_version.transitioned, ...) "
            "or a change (register, transition, alias, describe, tag).",
        ),
    ],
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Send a sample payload of EVENT to every after-write hook (exit 7 if one fails).

    Example: minireg hooks test model_version.transitioned
    """


@declares(hooks.verify_signature, "hooks verify-signature")
def verify_signature(
    msg_id: Annotated[str, typer.Option("--id", help="The webhook-id header received.")],
    timestamp: Annotated[
        str, typer.Option("--timestamp", help="The webhook-timestamp header received.")
    ],
    signature: Annotated[
        str, typer.Option("--signature", help="The webhook-signature header received.")
    ],
    body: Annotated[
        Optional[Path],
        typer.Argument(
            metavar="BODY",
            help="The raw body received, as a file ('-' or none: standard input).",
            show_default=False,
        ),
    ] = None,
    secret_env: Annotated[
        str,
        typer.Option("--secret-env", help="The environment variable that holds the secret."),
    ] = "MINIREG_WEBHOOK_SECRET",
    tolerance: Annotated[
        float,
        typer.Option(
            "--tolerance",
            help="Seconds the timestamp may be away from now (0: do not check it).",
        ),
    ] = 300.0,
) -> None:
    """Check a received webhook's signature (Standard Webhooks, v1 HMAC-SHA256): exit 0 or 6.

    Example: minireg hooks verify-signature body.json --id "$ID" --timestamp "$TS"
    --signature "$SIG"
    """


COMMANDS = (run, test, verify_signature)
"""This module's commands, in help order."""
