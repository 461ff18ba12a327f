"""Versions: init, register, list, show, path, checkout.

Each function is one command's body (open the registry, one public API call,
render) and takes the command's parameters as keywords, parsed either by the
hot-path table (:mod:`minireg.cli.table`) or by the Typer app
(:mod:`minireg.cli.typer_app`), which documents them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from minireg.cli import render
from minireg.cli.git import committing
from minireg.cli.hooks import hook_deliveries, with_deliveries
from minireg.domain.uris import ModelURI, is_uri, parse_uri
from minireg.domain.values import parse_version, tags_from
from minireg.errors import InvalidInput, ItemProblems
from minireg.service.inputs import metrics_from, params_from
from minireg.service.registry import Registry, init_registry, open_registry


def init(registry: Path | None = None) -> None:
    """minireg init: create a registry, or say that one is there."""
    reg = init_registry(registry)
    if reg.created:
        render.message(f"Created a minireg registry at {reg.root}.")
    else:
        render.message(f"A minireg registry already exists at {reg.root}; nothing changed.")


def register(
    model: str | None = None,
    artifact: Path | None = None,
    metric: list[str] | None = None,
    metrics: Path | None = None,
    param: list[str] | None = None,
    params: Path | None = None,
    tag: list[str] | None = None,
    data: Path | None = None,
    training_date: str | None = None,
    description: str = "",
    requirements: Path | None = None,
    flavor: str | None = None,
    code_dir: Path | None = None,
    batch: Path | None = None,
    registry: Path | None = None,
    json_out: bool = False,
    commit: bool | None = None,
    upload: bool = True,
) -> None:
    """minireg register: store (and upload) a new version, its number on stdout (or a
    --batch file's)."""
    one = (model, artifact, metric, metrics, param, params, tag, data, training_date)
    if batch is not None:
        if any(v for v in (*one, description, requirements, flavor, code_dir)):
            raise InvalidInput(
                "--batch takes every registration from its file; give no MODEL, ARTIFACT "
                "or other register option with it."
            )
        items, lines = _batch_items(batch)
        reg = open_registry(registry, bars=render.transfer_bar)
        update, finish = render.progress_bar(f"storing {render.plural(len(items), 'artifact')}")
        with committing(reg, commit), _named_by(lines), _finishing(finish):
            records = reg.register_many(items, progress=update, upload=upload)
        render.registered(records, json_out)
        _not_uploaded(reg, upload, "Their")
        return
    if model is None or artifact is None:
        raise InvalidInput("Give MODEL and ARTIFACT (or --batch FILE.jsonl).")
    metric_values = metrics_from(metric or [], metrics)
    param_values = params_from(param or [], params)
    tag_values = tags_from(tag or [])
    reg = open_registry(registry, bars=render.transfer_bar)
    update, finish = render.progress_bar(f"storing {artifact.name}")
    with committing(reg, commit), hook_deliveries(reg) as sent, _finishing(finish):
        rec = reg.register(
            model,
            artifact,
            metrics=metric_values,
            params=param_values,
            tags=tag_values,
            data=data,
            training_date=training_date,
            description=description,
            requirements=requirements,
            flavor=flavor,
            code_dir=code_dir,
            progress=update,
            upload=upload,
        )
    if json_out:
        render.as_json(with_deliveries(rec.to_dict(), sent))
    else:
        render.line(str(rec.version))
        render.message(f"Registered {rec.model} version {rec.version} ({rec.uri}).")
    _not_uploaded(reg, upload, "Its")


def _not_uploaded(reg: Registry, upload: bool, whose: str) -> None:
    if reg.config.remote and not upload:
        render.message(
            f"{whose} objects are only here, not on {reg.remote_url} yet: run `minireg push`."
        )


def _batch_items(path: Path) -> tuple[list[Any], list[int]]:
    from minireg.service.batch import read_items

    return read_items(path)


@contextmanager
def _named_by(lines: list[int]) -> Iterator[None]:
    """Name a batch's bad items by their line in the file."""
    try:
        yield
    except ItemProblems as exc:
        raise exc.labelled([f"line {n}" for n in lines]) from None


@contextmanager
def _finishing(finish: Callable[[], None]) -> Iterator[None]:
    """End the progress bar however the block ends."""
    try:
        yield
    finally:
        finish()


LIST_NEWEST = 50
"""Rows a plain ``minireg list`` shows on a terminal (``--all``, a pipe or ``--json``: all)."""


def list_(
    model: str | None = None,
    where: str | None = None,
    sort: str | None = None,
    columns: str | None = None,
    all_versions: bool = False,
    registry: Path | None = None,
    json_out: bool = False,
) -> None:
    """minireg list: a table of versions; a pandas query of the ledger with --where/--sort."""
    reg = open_registry(registry)
    if where is None and sort is None and columns is None:
        if json_out:
            render.json_array(rec.to_dict() for rec in reg.versions(model))
            return
        newest = None if all_versions or not render.on_terminal() else LIST_NEWEST
        render.listing(reg.listing(model, newest=newest))
        return

    found = reg.query(model, where=where, sort=sort, columns=columns, all_columns=json_out)
    headers, rows = found.columns, found.rows
    if json_out:
        render.as_json(rows)
    else:
        render.query(headers, rows)


def _target(target: str, version: str | None) -> ModelURI:
    """The version named by ``MODEL VERSION`` or by one ``models:/`` URI."""
    if is_uri(target):
        if version is not None:
            raise InvalidInput("Give either a models:/ URI or MODEL VERSION, not both.")
        return parse_uri(target)
    if version is None:
        raise InvalidInput(f"Name a version of {target} (MODEL VERSION) or give a models:/ URI.")
    return ModelURI(target, version=parse_version(version))


def show(
    target: str,
    version: str | None = None,
    at: str | None = None,
    registry: Path | None = None,
    json_out: bool = False,
) -> None:
    """minireg show: every field of one version; with --at, who held each stage then."""
    reg = open_registry(registry)
    if at is not None:
        if version is not None or is_uri(target):
            raise InvalidInput("--at takes a MODEL alone, without a version or URI.")
        snap = reg.snapshot(target, at)
        if json_out:
            render.as_json(snap.to_dict())
        else:
            render.snapshot(snap)
        return
    from minireg.loading import resolve

    found = resolve(_target(target, version), reg, fetch=False)  # show never downloads
    if json_out:
        render.as_json(found.to_dict())
    else:
        render.version(found)


def path(target: str, version: str | None = None, registry: Path | None = None) -> None:
    """minireg path: the local path of a version's artifact (fetched first), for scripts."""
    reg = open_registry(registry, bars=render.transfer_bar)
    from minireg.loading import resolve

    render.line(str(resolve(_target(target, version), reg).path))


def checkout(
    uri: str,
    dest: Path,
    force: bool = False,
    registry: Path | None = None,
    json_out: bool = False,
) -> None:
    """minireg checkout: copy a version's artifact out as ordinary files, checked."""
    from minireg import loading

    reg = open_registry(registry, bars=render.transfer_bar)
    done = loading.checkout(uri, dest, reg, force=force)
    if json_out:
        data = {**done.record.to_dict(), "uri": done.record.uri, "checkout": str(done.path)}
        render.as_json(data)
        return
    render.line(str(done.path))
    render.message(f"Checked out {done.model} version {done.version} to {done.path}.")
