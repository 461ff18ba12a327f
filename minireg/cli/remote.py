"""The remote for objects: remote set, show and migrate, push, pull, status.

Each function is one command's body (open the registry, one public API call,
render). Transfers show a progress bar on a terminal only; ``--json`` and
pipes get data alone.
"""

from __future__ import annotations

from pathlib import Path

from minireg.cli import render
from minireg.cli.errors import Exit
from minireg.cli.git import committing
from minireg.errors import NotFound
from minireg.service.registry import open_registry
from minireg.service.remote_results import RemoteSettings, RemoteStatus, VersionObjects


def remote_set(
    url: str, registry: Path | None = None, json_out: bool = False, commit: bool | None = None
) -> None:
    """minireg remote set: keep the objects in an object store; objects/ becomes a cache."""
    reg = open_registry(registry)
    with committing(reg, commit):
        done = reg.set_remote(url)
    if json_out:
        render.as_json(done.to_dict())
        return
    _settings(done)
    if done.ignore_added:
        render.message("Added objects/ to .gitignore: it is a local cache of the remote now.")
    render.message(
        f"New registrations upload their objects to {done.url}. Objects registered before "
        "stay where they are: `minireg push` uploads them."
    )


def remote_show(registry: Path | None = None, json_out: bool = False) -> None:
    """minireg remote show: the remote for objects, its backend and the local cache."""
    settings = open_registry(registry).remote_settings()
    if json_out:
        render.as_json(settings.to_dict())
    elif not settings.url:
        render.message(
            f"No remote is set: the objects live in git, in {settings.cache}. "
            "Set one with `minireg remote set s3://bucket/prefix`."
        )
    else:
        _settings(settings)


def _settings(settings: RemoteSettings) -> None:
    backend = "installed" if settings.installed else f"not installed: {settings.install}"
    ignored = "git-ignored" if settings.ignored else "NOT git-ignored"
    render.table(
        ["setting", "value"],
        [
            ["remote", settings.url],
            ["layout", settings.layout],
            ["backend", f"{settings.backend} ({backend})"],
            ["cache", f"{settings.cache} ({ignored})"],
        ],
    )


def status(registry: Path | None = None, json_out: bool = False) -> None:
    """minireg status: the versions whose objects are only here (or nowhere)."""
    found = open_registry(registry).status()
    if json_out:
        render.as_json(found.to_dict())
        return
    _status_table(found)


def _state(entry: VersionObjects) -> str:
    if entry.missing:
        return f"missing: {len(entry.missing)} object(s) neither here nor on the remote"
    return f"not pushed: {len(entry.local)} object(s) only here"


def _status_table(found: RemoteStatus) -> None:
    if found.clean:
        render.message(
            f"Every version's objects are on {found.url} "
            f"({render.plural(found.pushed, 'version')})."
        )
        return
    render.table(
        ["model", "version", "stage", "objects"],
        [[v.model, v.version, v.stage, _state(v)] for v in found.versions],
    )
    waiting = sum(1 for v in found.versions if not v.missing)
    render.message(
        f"{render.plural(found.pushed, 'version')} on {found.url}; {waiting} not pushed "
        "(`minireg push` uploads them)"
        + (f"; {len(found.versions) - waiting} missing" if waiting < len(found.versions) else "")
        + "."
    )


def push(registry: Path | None = None, json_out: bool = False) -> None:
    """minireg push: upload the objects the remote lacks (from --no-upload registrations)."""
    done = open_registry(registry, bars=render.transfer_bar).push()
    if json_out:
        render.as_json(done.to_dict())
    else:
        size = f"{done.bytes / 2**20:.1f} MiB"
        render.message(
            f"Uploaded {render.plural(len(done.uploaded), 'object')} ({size}) to {done.url}; "
            f"{render.plural(len(done.versions), 'version')} pushed now."
        )
    if done.unavailable:
        names = ", ".join(f"{v.model} v{v.version}" for v in done.unavailable)
        error = NotFound(
            f"{render.plural(len(done.unavailable), 'version')} ({names}) have objects neither "
            "here nor on the remote; run `minireg push` on the machine that registered them."
        )
        render.error(error.message)
        raise Exit(error.exit_code)


def pull(
    uris: list[str] | None = None, registry: Path | None = None, json_out: bool = False
) -> None:
    """minireg pull: fetch versions' objects into the local cache (default: the served ones)."""
    done = open_registry(registry, bars=render.transfer_bar).pull(uris or ())
    if json_out:
        render.as_json(done.to_dict())
        return
    for rec, fetched in done.versions:
        got = f"downloaded {render.plural(fetched, 'object')}" if fetched else "already here"
        render.line(f"models:/{rec.model}/{rec.version} ({rec.stage}): {got}")
    render.message(
        f"{render.plural(len(done.versions), 'version')} ready from {done.url} "
        f"({render.plural(done.fetched, 'object')} downloaded, each checked)."
    )


def remote_migrate(registry: Path | None = None, json_out: bool = False) -> None:
    """minireg remote migrate: the objects git holds go to the remote; git stops tracking them."""
    done = open_registry(registry, bars=render.transfer_bar).migrate_objects()
    if json_out:
        render.as_json(done.to_dict())
        return
    size = f"{done.bytes / 2**20:.1f} MiB"
    render.message(
        f"{render.plural(done.objects, 'object')} on {done.url}, each checked by its size "
        f"({len(done.uploaded)} uploaded now, {size})."
    )
    if done.commit:
        render.message(
            f"Committed {done.commit[:12]}: {done.subject} "
            f"({render.plural(done.untracked, 'file')} no longer tracked)."
        )
    elif not done.in_git:
        render.message("Not in a git repository: objects/ is git-ignored for when it is.")
    if not done.changed:
        render.message("Nothing left to do: the objects were already migrated.")
