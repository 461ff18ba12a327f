"""The hook tables of ``minireg.toml``, checked once: what each hook calls, and on what.

Two kinds, in the shape the README documents::

    [[hooks.after]]                      # after a recorded change
    on = ["register", "transition"]      # register, transition, alias, describe, tag
    models = ["churn_predictor"]         # optional filter
    stages = ["Production"]              # optional: transitions into these stages only
    command = ["python", "notify.py"]    # argv, no shell; or url (or url_env) and secret_env

    [[hooks.before_transition]]          # may refuse a promotion
    stages = ["Production"]
    command = ["./checks/fairness.sh"]

Pure: no process is started and no request is sent here (see
:mod:`minireg.service.hooks`); a bad table raises :class:`InvalidInput` with one
sentence naming the table and the setting. Imported only by a registry whose
``minireg.toml`` has hooks (:mod:`minireg.domain.hooks` holds the empty set).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from minireg.domain.hooks import CHANGE_OF_ACTION, Hooks
from minireg.domain.records import Event
from minireg.errors import InvalidInput

CHANGES = ("register", "transition", "alias", "describe", "tag")
"""What an after-write hook may act on (the values of ``on``)."""

COMMAND_TIMEOUT = 60.0
WEBHOOK_TIMEOUT = 10.0
WEBHOOK_RETRIES = 3
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_AFTER_KEYS = (
    "on", "models", "stages", "command", "url", "url_env", "secret_env", "timeout", "retries",
)  # fmt: skip
_BEFORE_KEYS = ("models", "stages", "command", "timeout")
StageOf = Callable[[str, str], str]
"""The configured spelling of a stage name, or InvalidInput naming where it was written."""


def _label(command: tuple[str, ...], url: str, url_env: str) -> str:
    """How messages name a hook: its command line, or its URL without credentials or query."""
    if command:
        return shlex.join(command)
    if url_env:
        return f"POST ${url_env}"
    parts = urlsplit(url)
    return (
        f"POST {parts.scheme}://{parts.hostname or ''}"
        + (f":{parts.port}" if parts.port else "")
        + parts.path
    )


@dataclass(frozen=True)
class AfterHook:
    """A command or a webhook run after a recorded change (see the module docstring)."""

    on: tuple[str, ...]
    models: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    url: str = ""
    url_env: str = ""
    secret_env: str = ""
    timeout: float = COMMAND_TIMEOUT
    retries: int = 0

    @property
    def is_webhook(self) -> bool:
        return not self.command

    @property
    def label(self) -> str:
        return _label(self.command, self.url, self.url_env)

    @property
    def key(self) -> str:
        """Names this hook in the delivery record: what it calls and on what (not its timing)."""
        identity = [self.on, self.models, self.stages, self.command, self.url, self.url_env]
        return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]

    def matches(self, event: Event) -> bool:
        """True when ``event`` is a change this hook acts on."""
        change = CHANGE_OF_ACTION.get(event.action)
        if change is None or change not in self.on:
            return False
        if self.models and event.model not in self.models:
            return False
        return not (
            self.stages and change == "transition" and event.data.get("to") not in self.stages
        )


@dataclass(frozen=True)
class BeforeHook:
    """A command that may refuse a promotion: a non-zero exit is a veto."""

    command: tuple[str, ...]
    models: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    timeout: float = COMMAND_TIMEOUT

    @property
    def label(self) -> str:
        return _label(self.command, "", "")

    def matches(self, model: str, target: str) -> bool:
        """True when a promotion of ``model`` into ``target`` asks this hook."""
        return (not self.models or model in self.models) and (
            not self.stages or target in self.stages
        )


# -- parsing -----------------------------------------------------------------------


def _strings(body: dict[str, Any], key: str, where: str, example: str) -> tuple[str, ...]:
    value = body.get(key, [])
    if (
        not isinstance(value, list)
        or not all(isinstance(item, str) and item.strip() for item in value)
        or (key in body and not value)
    ):
        raise InvalidInput(f"minireg.toml: {where}: {key} must be a list such as {example}.")
    return tuple(value)


def _env_name(body: dict[str, Any], key: str, where: str) -> str:
    value = body.get(key, "")
    if key in body and (not isinstance(value, str) or not _ENV_NAME.fullmatch(value)):
        raise InvalidInput(
            f"minireg.toml: {where}: {key} must name an environment variable, such as "
            '"MINIREG_WEBHOOK_SECRET" (the value itself never goes in minireg.toml).'
        )
    return str(value)


def _number(body: dict[str, Any], key: str, where: str, default: float, most: float) -> float:
    value = body.get(key, default)
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not 0 < value <= most
    ):
        raise InvalidInput(
            f"minireg.toml: {where}: {key} must be a number of seconds above 0 and at most "
            f"{most:g}."
        )
    return float(value)


def _retries(body: dict[str, Any], where: str) -> int:
    value = body.get("retries", WEBHOOK_RETRIES)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 10:
        raise InvalidInput(f"minireg.toml: {where}: retries must be a whole number from 0 to 10.")
    return value


def _unknown(body: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    unknown = sorted(set(body) - set(keys))
    if unknown:
        raise InvalidInput(
            f"minireg.toml: {where} has unknown setting {unknown[0]!r}; "
            f"the settings are {', '.join(keys)}."
        )


def _command(body: dict[str, Any], where: str) -> tuple[str, ...]:
    value = body["command"]
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, str) for item in value)
        or not value[0].strip()
    ):
        raise InvalidInput(
            f'minireg.toml: {where}: command must be a list such as ["python", "notify.py"] '
            "(it runs without a shell)."
        )
    return tuple(value)


def _url(body: dict[str, Any], where: str) -> str:
    value = body["url"]
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"minireg.toml: {where}: url must be an http:// or https:// address "
            "(or use url_env to keep it out of minireg.toml)."
        )
    return str(value)


def _target(body: dict[str, Any], where: str) -> tuple[tuple[str, ...], str, str]:
    """An after-write hook's command, url or url_env: exactly one of them."""
    given = [key for key in ("command", "url", "url_env") if key in body]
    if len(given) != 1:
        raise InvalidInput(
            f"minireg.toml: {where} needs exactly one of command (a list of program and "
            "arguments), url or url_env" + (f"; it has {' and '.join(given)}." if given else ".")
        )
    if given == ["command"]:
        if "secret_env" in body or "retries" in body:
            extra = "secret_env" if "secret_env" in body else "retries"
            raise InvalidInput(f"minireg.toml: {where}: {extra} is for webhooks, not commands.")
        return _command(body, where), "", ""
    if given == ["url"]:
        return (), _url(body, where), ""
    return (), "", _env_name(body, "url_env", where)


def _after(body: object, number: int, stage: StageOf) -> AfterHook:
    where = f"[[hooks.after]] #{number}"
    if not isinstance(body, dict):
        raise InvalidInput(f"minireg.toml: {where} must be a table.")
    _unknown(body, _AFTER_KEYS, where)
    on = _strings(body, "on", where, '["register", "transition"]')
    wrong = [change for change in on if change not in CHANGES]
    if not on or wrong:
        raise InvalidInput(
            f"minireg.toml: {where}: on must list the changes to act on, from "
            f"{', '.join(CHANGES)}" + (f"; {wrong[0]!r} is not one." if wrong else ".")
        )
    stages = tuple(
        stage(s, f"{where} stages") for s in _strings(body, "stages", where, '["Production"]')
    )
    if stages and "transition" not in on:
        raise InvalidInput(
            f'minireg.toml: {where}: stages filters transitions; add "transition" to on.'
        )
    command, url, url_env = _target(body, where)
    webhook = not command
    return AfterHook(
        on=on,
        models=_strings(body, "models", where, '["churn_predictor"]'),
        stages=stages,
        command=command,
        url=url,
        url_env=url_env,
        secret_env=_env_name(body, "secret_env", where),
        timeout=_number(
            body, "timeout", where, WEBHOOK_TIMEOUT if webhook else COMMAND_TIMEOUT, 3600
        ),
        retries=_retries(body, where) if webhook else 0,
    )


def _before(body: object, number: int, stage: StageOf) -> BeforeHook:
    where = f"[[hooks.before_transition]] #{number}"
    if not isinstance(body, dict):
        raise InvalidInput(f"minireg.toml: {where} must be a table.")
    if "url" in body or "url_env" in body:
        raise InvalidInput(
            f"minireg.toml: {where}: a before_transition hook is a command (its exit status "
            "allows or refuses the promotion); a webhook cannot refuse one."
        )
    _unknown(body, _BEFORE_KEYS, where)
    if "command" not in body:
        raise InvalidInput(f"minireg.toml: {where} needs command, a list of program and arguments.")
    return BeforeHook(
        command=_command(body, where),
        models=_strings(body, "models", where, '["churn_predictor"]'),
        stages=tuple(
            stage(s, f"{where} stages") for s in _strings(body, "stages", where, '["Production"]')
        ),
        timeout=_number(body, "timeout", where, COMMAND_TIMEOUT, 3600),
    )


def _tables(raw: dict[str, Any], key: str) -> list[object]:
    value = raw.get(key, [])
    if not isinstance(value, list):
        raise InvalidInput(f"minireg.toml: hooks.{key} must be written as [[hooks.{key}]] tables.")
    return value


def parse_hooks(raw: object, stage: StageOf) -> Hooks:
    """The hooks of the ``[hooks]`` table (``raw``; None when absent), checked.

    ``stage`` gives the configured spelling of a stage name or raises InvalidInput.

    Raises:
        InvalidInput: a table has an unknown or missing setting, or a value of the wrong kind.
    """
    if raw is None:
        return Hooks()
    if not isinstance(raw, dict):
        raise InvalidInput(
            "minireg.toml: hooks must be written as [[hooks.after]] and "
            "[[hooks.before_transition]] tables."
        )
    _unknown(raw, ("after", "before_transition"), "[hooks]")
    return Hooks(
        after=tuple(_after(b, n, stage) for n, b in enumerate(_tables(raw, "after"), start=1)),
        before_transition=tuple(
            _before(b, n, stage) for n, b in enumerate(_tables(raw, "before_transition"), start=1)
        ),
    )
