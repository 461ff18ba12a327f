"""The hot path: an explicit table of the commands scripts call in loops, and its parser.

Each entry names a command's body (a plain function of a noun module) and its
parameters: positional arguments in order, then options with their flags,
kind (str, path or flag), whether required, whether repeatable, and the
``--no-x`` half of a ``--x/--no-x`` pair. :func:`parse` turns a command line
into the body and its keywords using this table alone, so ``main()`` runs
these commands without importing Typer (whose parser imports pydantic).

It accepts the plain forms: positional arguments, ``--name VALUE``,
``--name=VALUE``, ``-n VALUE``, repeated repeatable options, and flags. It
returns None for anything else (``--help``, ``-h``, ``--``, an unknown, glued
or repeated option, a value or argument that starts with ``-``, a missing
required parameter, an extra argument, an empty path), and ``main()`` then
hands the whole command line to the Typer app, which parses it and, for a bad
one, prints the usage error (exit 2).

The Typer app (:mod:`minireg.cli.typer_app`) declares the same parameters with their
help; ``tests/cli/test_table.py`` checks that the two agree, parameter by
parameter, and that the defaults of each body are Typer's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

from minireg.cli import audit, git, metadata, stages, versions

Kind = Literal["str", "path", "flag"]
STR: Kind = "str"
PATH: Kind = "path"
FLAG: Kind = "flag"


class Param(NamedTuple):
    """One parameter of a command: a positional argument when it has no flags."""

    name: str
    """The body's keyword (and Typer's parameter name)."""
    kind: Kind = STR
    """STR, PATH (a ``pathlib.Path``) or FLAG (a bool that takes no value)."""
    flags: tuple[str, ...] = ()
    """An option's names (for a flag: the ones that set True); none for an argument."""
    off: tuple[str, ...] = ()
    """A flag's names that set False (``--no-commit``)."""
    required: bool = False
    multiple: bool = False
    """Repeatable: the body gets a list of every value given."""


def argument(name: str, kind: Kind = STR, *, required: bool = True) -> Param:
    """A positional argument."""
    return Param(name, kind, required=required)


def option(
    name: str, *flags: str, kind: Kind = STR, required: bool = False, multiple: bool = False
) -> Param:
    """An option that takes a value: ``--name VALUE``, ``--name=VALUE`` or ``-n VALUE``."""
    return Param(name, kind, flags, required=required, multiple=multiple)


def flag(name: str, *flags: str, off: tuple[str, ...] = ()) -> Param:
    """A flag (no value): True for ``flags``, False for ``off``, the body's default if absent."""
    return Param(name, FLAG, flags, off)


class Command(NamedTuple):
    """A command's body and its parameters, in the order the Typer app declares them."""

    body: Callable[..., None]
    params: tuple[Param, ...]


REGISTRY = option("registry", "--registry", "-r", kind=PATH)
JSON = flag("json_out", "--json")
COMMIT = flag("commit", "--commit", off=("--no-commit",))
MODEL = argument("model")
VERSION = argument("version")
TARGET = (argument("target"), argument("version", required=False))

_PROMOTE = Command(
    stages.promote,
    (
        MODEL,
        VERSION,
        option("to", "--to", required=True),
        option("approver", "--approver"),
        option("reason", "--reason"),
        flag("archive_existing", "--archive-existing"),
        flag("dry_run", "--dry-run"),
        REGISTRY,
        JSON,
        COMMIT,
    ),
)

TABLE: dict[str, Command] = {
    "init": Command(versions.init, (REGISTRY,)),
    "register": Command(
        versions.register,
        (
            argument("model", required=False),
            argument("artifact", PATH, required=False),
            option("metric", "--metric", "-m", multiple=True),
            option("metrics", "--metrics", kind=PATH),
            option("param", "--param", "-p", multiple=True),
            option("params", "--params", kind=PATH),
            option("tag", "--tag", "-t", multiple=True),
            option("data", "--data", kind=PATH),
            option("training_date", "--training-date"),
            option("description", "--description", "-d"),
            option("requirements", "--requirements", kind=PATH),
            option("flavor", "--flavor"),
            option("code_dir", "--code-dir", kind=PATH),
            option("batch", "--batch", kind=PATH),
            REGISTRY,
            JSON,
            COMMIT,
            flag("upload", "--upload", off=("--no-upload",)),
        ),
    ),
    "list": Command(
        versions.list_,
        (
            argument("model", required=False),
            option("where", "--where"),
            option("sort", "--sort"),
            option("columns", "--columns"),
            flag("all_versions", "--all"),
            REGISTRY,
            JSON,
        ),
    ),
    "show": Command(versions.show, (*TARGET, option("at", "--at"), REGISTRY, JSON)),
    "path": Command(versions.path, (*TARGET, REGISTRY)),
    "checkout": Command(
        versions.checkout,
        (argument("uri"), argument("dest", PATH), flag("force", "--force", "-f"), REGISTRY, JSON),
    ),
    "promote": _PROMOTE,
    "transition": _PROMOTE,
    "alias set": Command(metadata.alias_set, (MODEL, argument("alias"), VERSION, REGISTRY, COMMIT)),
    "alias delete": Command(metadata.alias_delete, (MODEL, argument("alias"), REGISTRY, COMMIT)),
    "describe": Command(metadata.describe, (MODEL, VERSION, argument("text"), REGISTRY, COMMIT)),
    "tag": Command(metadata.tag, (MODEL, VERSION, argument("pair"), REGISTRY, COMMIT)),
    "history": Command(
        audit.history,
        (
            argument("model", required=False),
            option("version", "--version"),
            option("since", "--since"),
            REGISTRY,
            JSON,
        ),
    ),
    "verify": Command(
        audit.verify,
        (
            REGISTRY,
            JSON,
            flag("against_git", "--against-git"),
            flag("remote", "--remote"),
            flag("deep", "--deep"),
        ),
    ),
    "rebuild": Command(audit.rebuild, (REGISTRY, COMMIT)),
    "diff": Command(audit.diff, (MODEL, argument("old"), argument("new"), REGISTRY, JSON)),
    "merge-driver": Command(
        git.merge_driver,
        (
            argument("base", PATH),
            argument("ours", PATH),
            argument("theirs", PATH),
            argument("path"),
        ),
    ),
}
"""Command name (a group's subcommand as ``"alias set"``) → its body and parameters."""


def _value(param: Param, text: str) -> str | Path | None:
    if param.kind == PATH:
        return Path(text) if text else None  # Typer's reading of "" is not ours to guess
    return text


def parse(argv: Sequence[str]) -> tuple[Callable[..., None], dict[str, Any]] | None:
    """The body and its keywords for a command line the table knows; None for Typer to parse."""
    found = _find(argv)
    if found is None:
        return None
    command, rest = found
    read = _read_options(command, rest)
    if read is None:
        return None
    kwargs, given = read
    arguments = _read_arguments(command, given)
    if arguments is None:
        return None
    kwargs.update(arguments)
    if any(p.required and p.name not in kwargs for p in command.params):
        return None
    return command.body, kwargs


def _find(argv: Sequence[str]) -> tuple[Command, Sequence[str]] | None:
    """The command a line names (a group's subcommand first) and the tokens after its name."""
    if len(argv) >= 2 and f"{argv[0]} {argv[1]}" in TABLE:
        return TABLE[f"{argv[0]} {argv[1]}"], argv[2:]
    if argv and argv[0] in TABLE:
        return TABLE[argv[0]], argv[1:]
    return None


def _read_options(command: Command, rest: Sequence[str]) -> tuple[dict[str, Any], list[str]] | None:
    """The options' keywords and the positional tokens, in order; None for Typer to parse."""
    by_flag = {name: p for p in command.params for name in (*p.flags, *p.off)}
    kwargs: dict[str, Any] = {}
    given: list[str] = []
    tokens = iter(rest)
    for token in tokens:
        if not token.startswith("-"):
            given.append(token)
            continue
        name, eq, text = token.partition("=") if token.startswith("--") else (token, "", "")
        param = by_flag.get(name)
        if param is None or (param.name in kwargs and not param.multiple):
            return None
        value = _option_value(param, name, text if eq else None, tokens)
        if value is None:
            return None
        if param.multiple:
            kwargs.setdefault(param.name, []).append(value)
        else:
            kwargs[param.name] = value
    return kwargs, given


def _option_value(
    param: Param, name: str, glued: str | None, tokens: Iterator[str]
) -> bool | str | Path | None:
    """An option's value: a flag's bool, the ``=VALUE`` given, or the next token."""
    if param.kind == FLAG:
        return name in param.flags if glued is None else None
    if glued is None:
        glued = next(tokens, "-")  # a missing value reads as "-": Typer's to report
        if glued.startswith("-"):
            return None
    return _value(param, glued)


def _read_arguments(command: Command, given: list[str]) -> dict[str, Any] | None:
    """The positional arguments' keywords; None when they do not fit the command."""
    arguments = [p for p in command.params if not p.flags]
    if len(given) > len(arguments):
        return None
    values = {param.name: _value(param, text) for param, text in zip(arguments, given)}
    return None if any(value is None for value in values.values()) else values
