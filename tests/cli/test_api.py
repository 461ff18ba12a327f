"""Each command's body makes exactly the public API call that COMMAND_API names, and no other."""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from typing import Any

import pytest

from minireg.cli.api import COMMAND_API
from minireg.service.registry import Registry
from tests.support.cli import declarations

BODIES = {name: run.__minireg_body__ for name, run in declarations()}


def resolve(dotted: str) -> Any:
    """The object a dotted name names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            found = getattr(found, attr)
        return found
    raise AssertionError(f"{dotted} names nothing importable")


@pytest.mark.parametrize("form", sorted(COMMAND_API))
def test_every_name_in_the_map_exists(form: str) -> None:
    assert callable(resolve(COMMAND_API[form])), COMMAND_API[form]


def test_every_command_is_in_the_map() -> None:
    assert set(BODIES) <= set(COMMAND_API)
    for form in COMMAND_API:
        assert form.split(" -")[0] in BODIES, f"{form}: no such command"


def service_calls(body: Any) -> list[str]:
    """The public API functions and Registry methods a body calls, in source order."""
    api = {name for name, _ in inspect.getmembers(Registry) if not name.startswith("_")}
    api |= {dotted.rsplit(".", 1)[1] for dotted in COMMAND_API.values()}
    api -= {
        "config",
        "root",
        "storage",
        "clock",
        "created",
        "committing",
    }  # committing wraps a call
    tree = ast.parse(textwrap.dedent(inspect.getsource(body)))
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            if isinstance(func.value, ast.Name) and func.value.id == "render":
                continue  # render.versions(...) shows versions; it reads no registry
            name = func.attr
        else:
            name = getattr(func, "id", "")
        if name in api:
            calls.append(name)
    return calls


@pytest.mark.parametrize("command", sorted(BODIES))
def test_each_body_makes_the_one_call_the_map_names(command: str) -> None:
    forms = [f for f in COMMAND_API if f == command or f.startswith(f"{command} -")]
    wanted = sorted(COMMAND_API[f].rsplit(".", 1)[1] for f in forms)
    # One call per form of the command: `list` and `list --where` make one each.
    assert sorted(service_calls(BODIES[command])) == wanted
