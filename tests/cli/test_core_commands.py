"""Every registered command goes through the error funnel and documents itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer
import typer.main

from minireg.cli import app
from tests.conftest import run_cli


def walk(typer_app: typer.Typer, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(full command name, CommandInfo) for every command, groups included, recursively."""
    for info in typer_app.registered_commands:
        assert info.callback is not None
        name = info.name or info.callback.__name__.replace("_", "-")
        yield " ".join((*prefix, name)), info
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None
        group_name = group.name or group.typer_instance.info.name
        assert group_name, "every group has a name"
        yield from walk(group.typer_instance, (*prefix, str(group_name)))


def test_the_core_commands_are_registered() -> None:
    names = {name for name, _ in walk(app)}
    assert {"init", "register", "list", "show", "path"} <= names


def test_every_command_is_wrapped_by_handle_errors() -> None:
    unwrapped = [
        name for name, info in walk(app) if not getattr(info.callback, "__minireg_handled__", False)
    ]
    assert unwrapped == []


def click_commands(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield " ".join(prefix), command
        return
    yield " ".join(prefix), command
    for name, sub in subcommands.items():
        yield from click_commands(sub, (*prefix, name))


def test_every_command_and_parameter_has_help_and_an_example() -> None:
    root = typer.main.get_command(app)
    problems = []
    for name, command in click_commands(root):
        label = name or "minireg"
        if not (command.help or "").strip() and not (command.short_help or "").strip():
            problems.append(f"{label}: no help text")
        for param in command.params:
            if param.name == "help":
                continue
            if not (getattr(param, "help", None) or "").strip():
                problems.append(f"{label}: parameter {param.name} has no help text")
    for name, info in walk(app):
        doc = ((info.callback.__doc__ if info.callback else "") or "").strip()
        last = doc.split("\n\n")[-1].lower()
        if "example" not in last:
            problems.append(f"{name}: the docstring does not end with an example")
    assert problems == []


def test_every_command_help_runs() -> None:
    for name, _ in walk(app):
        res = run_cli(*name.split(), "--help")
        assert res.exit_code == 0, (name, res.stderr)
        assert "Usage:" in res.stdout
