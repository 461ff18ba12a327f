"""Walking the Typer app through its public API, for the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
import typer.main

from minireg.cli import app


def declarations(group: typer.Typer = app, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(full command name, the Typer command function) for every command, groups included."""
    for info in group.registered_commands:
        assert info.name and info.callback, "every command is registered under a name"
        yield f"{prefix}{info.name}", info.callback
    for sub in group.registered_groups:
        assert sub.name and sub.typer_instance, "every group has a name"
        yield from declarations(sub.typer_instance, f"{prefix}{sub.name} ")


def click_command(name: str) -> Any:
    """The click command Typer builds for ``name`` ("" for the root, "alias set" in a group)."""
    command: Any = typer.main.get_command(app)
    for part in name.split():
        command = command.commands[part]
    return command
