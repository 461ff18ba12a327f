"""Metadata of a version: aliases (set, delete), its description, its tags."""

from __future__ import annotations

from pathlib import Path

from minireg.cli import render
from minireg.cli.git import committing
from minireg.domain.values import split_pair
from minireg.service.registry import open_registry


def alias_set(
    model: str, alias: str, version: str, registry: Path | None = None, commit: bool | None = None
) -> None:
    """minireg alias set: point an alias at a version, moving it if another had it."""
    reg = open_registry(registry)
    with committing(reg, commit):
        change = reg.set_alias(model, alias.lstrip("@"), version)
    render.message(change.message)


def alias_delete(
    model: str, alias: str, registry: Path | None = None, commit: bool | None = None
) -> None:
    """minireg alias delete: remove an alias."""
    reg = open_registry(registry)
    with committing(reg, commit):
        change = reg.delete_alias(model, alias.lstrip("@"))
    render.message(change.message)


def describe(
    model: str, version: str, text: str, registry: Path | None = None, commit: bool | None = None
) -> None:
    """minireg describe: set a version's description."""
    reg = open_registry(registry)
    with committing(reg, commit):
        change = reg.describe(model, version, text)
    render.message(change.message)


def tag(
    model: str, version: str, pair: str, registry: Path | None = None, commit: bool | None = None
) -> None:
    """minireg tag: set one key=value tag on a version."""
    key, value = split_pair("tag", pair)
    reg = open_registry(registry)
    with committing(reg, commit):
        change = reg.tag(model, version, key, value)
    render.message(change.message)
