"""promote (transition), alias, describe, tag, history, verify, rebuild."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from minireg.cli import app
from minireg.cli.common import (
    CommitOpt,
    JsonOpt,
    RegistryOpt,
    committing,
    err,
    handle_errors,
    plural,
    print_json,
    print_table,
)
from minireg.errors import IntegrityError, Refused
from minireg.inputs import parse_version, split_pair
from minireg.registry import open_registry


def _promote(
    model: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version number.")],
    to: Annotated[
        str, typer.Option("--to", help="Target stage (case-insensitive), e.g. Production.")
    ],
    approver: Annotated[str, typer.Option("--approver", help="Who approved this transition.")] = "",
    reason: Annotated[str, typer.Option("--reason", help="Why, in one line.")] = "",
    archive_existing: Annotated[
        bool,
        typer.Option(
            "--archive-existing", help="Archive the versions that hold the target stage now."
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what would change and every check; write nothing."),
    ] = False,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
    commit: CommitOpt = None,
) -> None:
    """Move a version to a stage, if the stage's policies allow it.

    A dry run that would be refused exits 4, so CI can check before it asks.

    Example: minireg promote churn 7 --to Production --approver alice@corp
    --reason "AUC 0.91 vs 0.88" --archive-existing
    """
    reg = open_registry(registry)
    with committing(reg, False if dry_run else commit):
        result = reg.promote(
            model,
            version,
            to,
            approver=approver,
            reason=reason,
            archive_existing=archive_existing,
            dry_run=dry_run,
        )
    # MLflow resolves a stage to its highest version: say so when that is not this one (and
    # the stage is one a model is served from, not where versions start or retire).
    stage, serving = result.to_stage, result.serving
    shadowed = serving != result.version and stage not in (
        reg.config.initial_stage,
        reg.config.archive_stage,
    )
    note = (
        f"models:/{model}/{stage} resolves to version {serving}, the highest version in {stage}; "
        f"to serve version {result.version}, move version {serving} out "
        f"(minireg promote {model} {serving} --to {reg.config.archive_stage})."
    )
    if json_out:
        print_json(result.to_dict())
    elif not result.changed:
        err(f"{model} version {result.version} is already in {result.to_stage}; nothing to do.")
        if shadowed:
            err(note)
    else:
        if result.checks:
            print_table(
                ["check", "verdict", "detail"],
                [[c.name, "pass" if c.passed else "FAIL", c.detail] for c in result.checks],
            )
        # A refused dry run says so below; it must not also claim it would move anything.
        if result.allowed:
            prefix = "Would move" if dry_run else "Moved"
            err(
                f"{prefix} {model} version {result.version} "
                f"from {result.from_stage} to {result.to_stage}."
            )
            for archived in result.archived:
                err(
                    f"{prefix} version {archived} from "
                    f"{result.to_stage} to {reg.config.archive_stage}."
                )
            if shadowed:
                err(note)
        if dry_run and result.allowed:
            err("Dry run: nothing was written.")
    if dry_run and not result.allowed:
        failed = [f"{c.name}: {c.detail}" for c in result.checks if not c.passed]
        raise Refused(
            f"Promotion of {model} version {result.version} to {result.to_stage} would be "
            "refused: " + "; ".join(failed) + ".",
            failed,
        )


# The docstring is the help, so `minireg promote --help` shows the example too.
promote = app.command("promote")(handle_errors(_promote))
transition = app.command("transition", help="Same as promote (MLflow's word).")(
    handle_errors(_promote)
)

alias_app = typer.Typer(
    help="Set or delete aliases (@champion), as in MLflow.", no_args_is_help=True
)
app.add_typer(alias_app, name="alias")


@alias_app.command("set")
@handle_errors
def alias_set(
    model: Annotated[str, typer.Argument(help="Model name.")],
    alias: Annotated[str, typer.Argument(help="Alias name (letters, digits, _ and -).")],
    version: Annotated[str, typer.Argument(help="Version the alias points to.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Point an alias at a version, moving it if another version had it.

    Example: minireg alias set churn champion 7
    """
    reg = open_registry(registry)
    with committing(reg, commit):
        change = reg.set_alias(model, alias.lstrip("@"), version)
    err(change.message)


@alias_app.command("delete")
@handle_errors
def alias_delete(
    model: Annotated[str, typer.Argument(help="Model name.")],
    alias: Annotated[str, typer.Argument(help="Alias name.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Delete an alias.

    Example: minireg alias delete churn challenger
    """
    reg = open_registry(registry)
    with committing(reg, commit):
        change = reg.delete_alias(model, alias.lstrip("@"))
    err(change.message)


@app.command()
@handle_errors
def describe(
    model: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version number.")],
    text: Annotated[str, typer.Argument(help="The description, one line.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Set a version's description.

    Example: minireg describe churn 7 "Retrained on March data"
    """
    reg = open_registry(registry)
    with committing(reg, commit):
        change = reg.describe(model, version, text)
    err(change.message)


@app.command()
@handle_errors
def tag(
    model: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version number.")],
    pair: Annotated[str, typer.Argument(help="key=value to set.")],
    registry: RegistryOpt = None,
    commit: CommitOpt = None,
) -> None:
    """Set a tag on a version.

    Example: minireg tag churn 7 team=growth
    """
    key, value = split_pair("tag", pair)
    reg = open_registry(registry)
    with committing(reg, commit):
        change = reg.tag(model, version, key, value)
    err(change.message)


@app.command()
@handle_errors
def history(
    model: Annotated[Optional[str], typer.Argument(help="Only this model's events.")] = None,
    version: Annotated[
        Optional[str], typer.Option("--version", help="Only this version's events.")
    ] = None,
    since: Annotated[
        Optional[str], typer.Option("--since", help="Only events at or after this ISO date/time.")
    ] = None,
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show the audit trail: time, actor, action, version, from → to, approver, reason.

    Example: minireg history churn --since 2024-03-01
    """
    number = parse_version(version) if version is not None else None
    events = open_registry(registry).history(model, number, since)
    if json_out:
        print_json([e.to_dict() for e in events])
        return
    rows = []
    for e in events:
        change = ""
        if e.action == "transition":
            change = f"{e.data.get('from')} → {e.data.get('to')}"
        elif e.action in ("alias_set", "alias_delete"):
            change = f"@{e.data.get('alias')}"
        elif e.action == "tag":
            change = f"{e.data.get('key')}={e.data.get('value')}"
        elif e.action == "describe":
            change = str(e.data.get("description", ""))
        elif e.action == "renumber":
            change = f"{e.data.get('from')} → {e.data.get('to')}"
        elif e.action == "merge":
            change = f"{str(e.data.get('ours', ''))[:8]} + {str(e.data.get('theirs', ''))[:8]}"
        rows.append(
            [
                e.time[:19].replace("T", " "),
                e.actor,
                e.action,
                e.model,
                "" if e.version is None else e.version,
                change,
                e.approver,
                e.reason,
            ]
        )
    print_table(
        ["time (UTC)", "actor", "action", "model", "version", "change", "approver", "reason"], rows
    )


@app.command()
@handle_errors
def verify(
    registry: RegistryOpt = None,
    json_out: JsonOpt = False,
    against_git: Annotated[
        bool,
        typer.Option(
            "--against-git",
            help="Also check that the audit head in the last minireg commit's trailer is in "
            "the events (catches events cut off the end).",
        ),
    ] = False,
) -> None:
    """Check the hash chain, the ledger against the events, every object and version numbers.

    Exits 0 when everything holds, 6 with every problem listed otherwise.

    Example: minireg verify
    """
    report = open_registry(registry).verify(against_git=against_git)
    if json_out:
        print_json(
            {
                "ok": report.ok,
                "events": report.events,
                "versions": report.versions,
                "objects": report.objects,
                "problems": report.problems,
            }
        )
        if not report.ok:
            raise typer.Exit(IntegrityError.exit_code)
        return
    if not report.ok:
        raise IntegrityError(
            f"The registry does not check out: {len(report.problems)} problem(s).", report.problems
        )
    err(
        f"OK: {report.events} events, {report.versions} versions, "
        f"{report.objects} objects check out."
    )


@app.command()
@handle_errors
def rebuild(registry: RegistryOpt = None, commit: CommitOpt = None) -> None:
    """Regenerate the ledger from the events (after a hand edit or a merge).

    Example: minireg rebuild
    """
    reg = open_registry(registry)
    with committing(reg, commit):
        count = reg.rebuild()
    err(f"Rebuilt the ledger from the events: {plural(count, 'version')}.")
