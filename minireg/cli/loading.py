"""checkout: copy a version's artifact out of the registry as ordinary files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from minireg.cli import app
from minireg.cli.common import JsonOpt, RegistryOpt, err, handle_errors, print_json


@app.command()
@handle_errors
def checkout(
    uri: Annotated[
        str, typer.Argument(help="A models:/ URI: models:/NAME/STAGE, /VERSION, @ALIAS or /latest.")
    ],
    dest: Annotated[
        Path,
        typer.Argument(
            help="Where to copy it: a file path, or a folder (a file goes inside it under "
            "its registered name; a folder artifact becomes this folder)."
        ),
    ],
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Overwrite files that are already there.")
    ] = False,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Copy a version's artifact out as ordinary writable files, after checking its sha256.

    Example: minireg checkout models:/churn_predictor/Production build/
    """
    from minireg.loading import checkout as checkout_artifact

    done = checkout_artifact(uri, dest, registry, force=force)
    if json_out:
        print_json({**done.record.to_dict(), "uri": done.record.uri, "checkout": str(done.path)})
        return
    typer.echo(str(done.path))
    err(f"Checked out {done.model} version {done.version} to {done.path}.")
