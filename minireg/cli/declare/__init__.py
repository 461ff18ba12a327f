"""The Typer declarations of every command, one module per noun module of bodies.

A declaration is a signature (parameters and their help) and a docstring (the
command's help, ending with an example); its own body is never run. Each
module here mirrors the module of bodies it names (:mod:`minireg.cli.versions`
→ :mod:`minireg.cli.declare.versions`, ...) and lists its declarations in
``COMMANDS``, in help order; :mod:`minireg.cli.typer_app` adds them to the app.
This module holds what they share: :func:`declares` and the parameters used by
many commands (``--registry``, ``--json``, ``--commit``, MODEL, VERSION).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NamedTuple, Optional

import typer

Body = Callable[..., None]


class Declared(NamedTuple):
    """A command's declaration, paired with the body it runs and its name."""

    name: str
    """The command's name; a group's subcommand as ``"alias set"``."""
    body: Body
    """The plain function of a noun module that runs the command."""
    declaration: Callable[..., None]
    """The signature and docstring Typer reads."""
    settings: dict[str, Any]
    """Typer's command settings (``hidden``, ``help``)."""


def declares(body: Body, name: str, **settings: Any) -> Callable[[Callable[..., None]], Declared]:
    """Pair the decorated declaration with ``body`` as command ``name`` (Typer ``settings``)."""

    def pair(declaration: Callable[..., None]) -> Declared:
        return Declared(name, body, declaration, settings)

    return pair


# -- shared parameters ----------------------------------------------------------

RegistryOpt = Annotated[
    Optional[Path],
    typer.Option(
        "--registry",
        "-r",
        help="Registry folder (default: $MINIREG_REGISTRY, else registry/ at the git root "
        "or the nearest parent that has one).",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON for scripts.")]
CommitOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--commit/--no-commit",
        help="Make one git commit of exactly the registry files this command changed "
        "(default: `commit` in minireg.toml). Refused if other changes are staged; never pushes.",
        show_default=False,
    ),
]
ModelArg = Annotated[str, typer.Argument(metavar="MODEL", help="Model name.")]
VersionArg = Annotated[str, typer.Argument(metavar="VERSION", help="Version number.")]
TargetArg = Annotated[
    str, typer.Argument(metavar="MODEL|URI", help="MODEL, or a models:/ URI.", show_default=False)
]
TargetVersionArg = Annotated[
    Optional[str],
    typer.Argument(metavar="VERSION", help="Version number (not with a URI).", show_default=False),
]
