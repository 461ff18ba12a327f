"""Help that tells the truth: every command and parameter documented, flags shown as flags."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import typer
import typer.main

from minireg.cli import app
from tests.conftest import run_cli, run_proc
from tests.support.cli import declarations


def click_commands(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    yield " ".join(prefix), command
    for name, sub in (getattr(command, "commands", None) or {}).items():
        yield from click_commands(sub, (*prefix, name))


def test_the_core_commands_are_registered() -> None:
    names = {name for name, _ in declarations()}
    assert {"init", "register", "list", "show", "path", "promote", "alias set"} <= names


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
    for name, callback in declarations():
        doc = (callback.__doc__ or "").strip()
        last = doc.split("\n\n")[-1].lower()
        if "example" not in last:
            problems.append(f"{name}: the docstring does not end with an example")
    assert problems == []


def test_every_command_help_runs() -> None:
    for name, _ in declarations():
        res = run_cli(*name.split(), "--help")
        assert res.exit_code == 0, (name, res.stderr)
        assert res.stdout.startswith(f"Usage: minireg {name} [OPTIONS]")


def test_promote_help_shows_flags_as_flags() -> None:
    out = run_proc("promote", "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Usage: minireg promote [OPTIONS] {MODEL} {VERSION}\n")
    # A flag takes no value: nothing between its name and its help.
    assert re.search(r"^  --archive-existing +Archive the versions", out.stdout, re.MULTILINE)
    assert re.search(r"^  --dry-run +Show what would change", out.stdout, re.MULTILINE)
    assert re.search(r"^  --commit / --no-commit +Make one git commit", out.stdout, re.MULTILINE)
    # An option that takes a value says what kind.
    assert re.search(r"^  --to <str> +Target stage", out.stdout, re.MULTILINE)
    # And the parser agrees: a flag given a value is a usage error.
    bad = run_proc("promote", "churn", "1", "--to", "Staging", "--dry-run", "true")
    assert bad.returncode == 2
    assert "unexpected extra argument" in bad.stderr


def test_no_help_offers_a_value_to_a_flag() -> None:
    for name, _ in [("", None), *declarations()]:
        res = run_cli(*name.split(), "--help")
        assert "<bool>" not in res.stdout, name


def test_usage_lines_name_the_arguments_as_the_help_does() -> None:
    for name, _ in declarations():
        usage = run_cli(*name.split(), "--help").stdout.splitlines()[0]
        arguments = usage.split("[OPTIONS]", 1)[1].split()
        for argument in arguments:
            assert argument.strip("{}[].") == argument.strip("{}[].").upper(), (name, usage)
    assert run_cli("register", "--help").stdout.startswith(
        "Usage: minireg register [OPTIONS] [MODEL] [ARTIFACT]\n"  # or --batch FILE.jsonl
    )
    assert run_cli("path", "--help").stdout.startswith(
        "Usage: minireg path [OPTIONS] {MODEL|URI} [VERSION]\n"
    )


def test_dash_h_is_help_too() -> None:
    for args in (["-h"], ["path", "-h"], ["alias", "set", "-h"]):
        out = run_proc(*args)
        assert out.returncode == 0, out.stderr
        assert out.stdout.startswith("Usage: minireg")
        assert out.stdout == run_proc(*args[:-1], "--help").stdout
