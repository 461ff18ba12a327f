"""Declarations of the remote commands: remote set, show and migrate, push, pull, status."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from minireg.cli import remote
from minireg.cli.declare import CommitOpt, JsonOpt, RegistryOpt, declares


@declares(remote.remote_set, "remote set")
def remote_set(
    url: Annotated[
        str,
        typer.Argument(
            metavar="URL",
            help="Where the objects go: s3://bucket/prefix, gs://bucket/prefix, "
            "az://container/prefix or file:///shared/folder. No credentials in it: they come "
            "from the backend's own sources (AWS_PROFILE, AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL).",
        ),
    ],
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
    commit: CommitOpt = None,
) -> None:
    """Keep the artifacts in an object store; objects/ becomes a git-ignored local cache.

    Writes [objects] remote in minireg.toml and adds objects/ to .gitignore, once the
    URL is valid, its backend installed (minireg[s3], minireg[gcs], minireg[azure])
    and the remote answers. From then on register uploads before it records.

    Example: minireg remote set s3://acme-models/churn
    """


@declares(remote.remote_show, "remote show")
def remote_show(registry: RegistryOpt = None, json_out: JsonOpt = False) -> None:
    """Show the remote for objects, its backend (installed or not) and the local cache.

    Example: minireg remote show --json
    """


@declares(remote.remote_migrate, "remote migrate")
def remote_migrate(registry: RegistryOpt = None, json_out: JsonOpt = False) -> None:
    """Move the objects git holds to the remote, then stop tracking objects/ in git.

    Uploads every object the remote lacks (each re-hashed first), checks every
    size on the remote, adds /objects/ to .gitignore, removes objects/ from git's
    index and commits that. No event or version changes; running it again is safe.
    Needs a remote (`minireg remote set`); exits 2 without one.

    Example: minireg remote migrate && git push
    """


@declares(remote.push, "push")
def push(registry: RegistryOpt = None, json_out: JsonOpt = False) -> None:
    """Upload every object a version needs that the remote lacks (after --no-upload).

    Objects already there with the same size are not sent again; re-running after a
    failure resumes. Exits 3 when some version's objects are neither here nor there.

    Example: minireg push
    """


@declares(remote.pull, "pull")
def pull(
    uris: Annotated[
        Optional[list[str]],
        typer.Argument(
            metavar="[URI]...",
            help="models:/ URIs to fetch (default: every version holding a stage other than "
            "the initial and archive stages, and every version with an alias).",
            show_default=False,
        ),
    ] = None,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fetch versions' objects from the remote into the local cache, each one checked.

    Example: minireg pull models:/churn_predictor/Production
    """


@declares(remote.status, "status")
def status(registry: RegistryOpt = None, json_out: JsonOpt = False) -> None:
    """List the versions whose objects are only here (not pushed) or nowhere.

    Read from the remote each time (one listing), so every clone sees the same.

    Example: minireg status --json
    """


COMMANDS = (
    remote_set,
    remote_show,
    remote_migrate,
    push,
    pull,
    status,
)
"""This module's commands, in help order."""
