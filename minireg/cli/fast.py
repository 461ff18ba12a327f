"""A fast lane for the read commands shell scripts call in loops: ``path`` and ``list``.

Typer (0.26 and later) coerces every non-flag parameter through a pydantic
``TypeAdapter``, and importing pydantic costs about as much as the rest of a
``minireg path`` run. For the plain forms of ``path`` and ``list`` (positional
arguments, ``--registry``/``-r``, and ``--json`` for ``list``) :func:`run`
parses the arguments itself and calls the very same command functions, so the
output, the messages and the exit codes are those of the Typer command. Any
other form (``--help``, another option, a repeated option, ``--``, a value
that starts with ``-``) is left to Typer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

_SHAPES = {
    # command: (positional names, flags it takes)
    "path": (("target", "version"), ()),
    "list": (("model",), ("--json",)),
}


def parse(argv: list[str]) -> tuple[str, dict[str, Any]] | None:
    """The command and its keyword arguments, or None when Typer should parse ``argv``."""
    if not argv or argv[0] not in _SHAPES:
        return None
    command, rest = argv[0], argv[1:]
    names, flags = _SHAPES[command]
    positional: list[str] = []
    kwargs: dict[str, Any] = {}
    i = 0
    while i < len(rest):
        token = rest[i]
        if token in ("--registry", "-r") and "registry" not in kwargs and i + 1 < len(rest):
            value = rest[i + 1]
            if value.startswith("-") or value == "":
                return None
            kwargs["registry"] = Path(value)
            i += 2
            continue
        if token.startswith("--registry=") and "registry" not in kwargs:
            value = token.split("=", 1)[1]
            if value == "":
                return None
            kwargs["registry"] = Path(value)
        elif token in flags and "json_out" not in kwargs:
            kwargs["json_out"] = True
        elif token.startswith("-") or token == "":
            return None
        else:
            positional.append(token)
        i += 1
    if len(positional) > len(names) or (command == "path" and not positional):
        return None
    kwargs.update(zip(names, positional))
    return command, kwargs


def run(argv: list[str]) -> bool:
    """Run a plain ``path`` or ``list`` without Typer's parser; False if not one of those.

    Exits the process (``SystemExit``) with the command's exit code when it fails.
    """
    parsed = parse(argv)
    if parsed is None:
        return False
    command, kwargs = parsed
    from minireg.cli import core

    func = core.path if command == "path" else core.list_
    try:
        func(**kwargs)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    return True
