"""A fast lane for the commands scripts call in loops: ``path``, ``list``, ``show``, ``register``.

Typer (0.26 and later) coerces every non-flag parameter through a pydantic
``TypeAdapter``, and importing pydantic costs about as much as the rest of a
``minireg path`` run. For the plain forms of these commands :func:`run` parses
the arguments itself, from the same declarations Typer reads (the command's
signature), and calls the very same command function, so the output, the
messages and the exit codes are those of the Typer command. It understands
positional arguments, ``--name VALUE``, ``--name=VALUE``, ``-n VALUE``,
repeatable options, and flags (``--json``, ``--commit/--no-commit``), for
parameters typed ``str``, ``Path``, ``bool`` or lists of those. Anything else
(``--help``, an unknown or repeated option, ``--``, a value that starts with
``-``, another parameter type) is left to Typer, which then parses everything.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import typer
from typer.models import ArgumentInfo, OptionInfo

FAST_COMMANDS = ("path", "list", "show", "register")


@dataclass
class _Param:
    name: str
    kind: type  # str, Path or bool
    multiple: bool = False
    required: bool = False
    # For flags: each declared form and the value it gives.
    flags: dict[str, bool] = field(default_factory=dict)


@dataclass
class _Spec:
    func: Callable[..., Any]
    arguments: list[_Param]
    options: dict[str, _Param]


def _base_type(annotation: Any) -> tuple[type, bool] | None:
    """(str | Path | bool, is a list) for a supported annotation, else None."""
    if typing.get_origin(annotation) is Union:
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(inner) != 1:
            return None
        annotation = inner[0]
    multiple = False
    if typing.get_origin(annotation) is list:
        (annotation,) = typing.get_args(annotation)
        multiple = True
    if annotation in (str, Path, bool) and not (multiple and annotation is bool):
        return annotation, multiple
    return None


def _spec(func: Callable[..., Any]) -> _Spec | None:
    """How to parse the arguments of a command function, or None if it has unusual ones."""
    original = inspect.unwrap(func)
    hints = typing.get_type_hints(original, include_extras=True)
    arguments: list[_Param] = []
    options: dict[str, _Param] = {}
    for name, param in inspect.signature(original).parameters.items():
        hint = hints.get(name)
        if typing.get_origin(hint) is not typing.Annotated:
            return None
        annotation, *extras = typing.get_args(hint)
        infos = [e for e in extras if isinstance(e, (ArgumentInfo, OptionInfo))]
        base = _base_type(annotation)
        if len(infos) != 1 or base is None:
            return None
        info = infos[0]
        if info.callback is not None or info.envvar is not None or info.parser is not None:
            return None
        kind, multiple = base
        required = param.default is inspect.Parameter.empty
        spec = _Param(name, kind, multiple, required)
        if isinstance(info, ArgumentInfo):
            if multiple or kind is bool:
                return None
            arguments.append(spec)
            continue
        # As Typer reads it: in Annotated form the first declaration sits in ``default``.
        first = [info.default] if isinstance(info.default, str) else []
        decls = [d for d in (*first, *(info.param_decls or ())) if d.startswith("-")]
        if not decls:
            decls = ["--" + name.replace("_", "-")]
        for decl in decls:
            if kind is bool:
                on, _, off = decl.partition("/")
                spec.flags[on] = True
                if off:
                    spec.flags[off] = False
            elif "/" in decl:
                return None
        for decl in spec.flags or decls:
            options[decl] = spec
    return _Spec(func, arguments, options)


def _value(kind: type, text: str) -> Any | None:
    if kind is Path:
        return Path(text) if text else None
    return text


def parse(argv: list[str]) -> tuple[Callable[..., Any], dict[str, Any]] | None:
    """The command function and its keyword arguments, or None when Typer should parse."""
    if not argv or argv[0] not in FAST_COMMANDS:
        return None
    from minireg.cli import core

    funcs: dict[str, Callable[..., Any]] = {
        "path": core.path,
        "list": core.list_,
        "show": core.show,
        "register": core.register,
    }
    spec = _spec(funcs[argv[0]])
    if spec is None:
        return None
    kwargs: dict[str, Any] = {}
    positional: list[str] = []
    rest = argv[1:]
    i = 0
    while i < len(rest):
        token = rest[i]
        i += 1
        if not token.startswith("-") or token == "-":
            positional.append(token)
            continue
        name, eq, text = token.partition("=") if token.startswith("--") else (token, "", "")
        param = spec.options.get(name)
        if param is None:
            return None  # --help, --, an unknown or glued option: Typer's job
        if param.kind is bool:
            if eq or param.name in kwargs:
                return None
            kwargs[param.name] = param.flags[name]
            continue
        if not eq:
            if i >= len(rest) or rest[i].startswith("-"):
                return None
            text = rest[i]
            i += 1
        value = _value(param.kind, text)
        if value is None:
            return None
        if param.multiple:
            kwargs.setdefault(param.name, []).append(value)
        elif param.name in kwargs:
            return None
        else:
            kwargs[param.name] = value
    if len(positional) > len(spec.arguments):
        return None
    for param, text in zip(spec.arguments, positional):
        value = _value(param.kind, text)
        if value is None:
            return None
        kwargs[param.name] = value
    if any(p.required and p.name not in kwargs for p in spec.arguments):
        return None
    if any(p.required and p.name not in kwargs for p in spec.options.values()):
        return None
    return spec.func, kwargs


def run(argv: list[str]) -> bool:
    """Run a plain fast-lane command without Typer's parser; False if ``argv`` is not one.

    Exits the process (``SystemExit``) with the command's exit code when it fails.
    """
    try:
        parsed = parse(argv)
    except Exception:
        # The fast lane reads Typer's declarations (typer.models), which Typer
        # does not promise to keep; if a release changes them, Typer parses.
        parsed = None
    if parsed is None:
        return False
    func, kwargs = parsed
    try:
        func(**kwargs)
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    return True
