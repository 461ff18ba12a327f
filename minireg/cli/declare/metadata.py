"""Declarations of the metadata commands: alias set, alias delete, describe, tag."""

from __future__ import annotations

from typing import Annotated

import typer

from minireg.cli import metadata
from minireg.cli.declare import CommitOpt, ModelArg, RegistryOpt, VersionArg, declares


@declares(metadata.alias_set, "alias set")
def alias_set(
    model: ModelArg,
    alias: Annotated[
        str, typer.Argument(metavar="ALIAS", help="Alias name (letters, digits, _ and -).")
    ],
    version: Annotated[str, typer.Argument(metavar="VERSION", help="Version the alias points to.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Point an alias at a version, moving it if another version had it.

    Example: minireg alias set churn champion 7
    """


@declares(metadata.alias_delete, "alias delete")
def alias_delete(
    model: ModelArg,
    alias: Annotated[str, typer.Argument(metavar="ALIAS", help="Alias name.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Delete an alias.

    Example: minireg alias delete churn challenger
    """


@declares(metadata.describe, "describe")
def describe(
    model: ModelArg,
    version: VersionArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The description, one line.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Set a version's description.

    Example: minireg describe churn 7 "Retrained on March data"
    """


@declares(metadata.tag, "tag")
def tag(
    model: ModelArg,
    version: VersionArg,
    pair: Annotated[str, typer.Argument(metavar="KEY=VALUE", help="key=value to set.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Set a tag on a version.

    Example: minireg tag churn 7 team=growth
    """


COMMANDS = (
    alias_set,
    alias_delete,
    describe,
    tag,
)
"""This module's commands, in help order."""
