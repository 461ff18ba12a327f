"""The audit: history, verify, rebuild, and diff between two versions."""

from __future__ import annotations

from pathlib import Path

from minireg.cli import render
from minireg.cli.errors import Exit
from minireg.cli.git import committing
from minireg.domain.values import parse_version
from minireg.errors import IntegrityError
from minireg.service.registry import open_registry


def history(
    model: str | None = None,
    version: str | None = None,
    since: str | None = None,
    registry: Path | None = None,
    json_out: bool = False,
) -> None:
    """minireg history: the audit trail, optionally of one model or version, since a moment."""
    number = parse_version(version) if version is not None else None
    events = open_registry(registry).history(model, number, since)
    if json_out:
        render.as_json([e.to_dict() for e in events])
    else:
        render.events(events)


def verify(
    registry: Path | None = None,
    json_out: bool = False,
    against_git: bool = False,
    remote: bool = False,
    deep: bool = False,
) -> None:
    """minireg verify: exit 0 when everything checks out, 6 with every problem listed."""
    reg = open_registry(registry, bars=render.transfer_bar)
    report = reg.verify(against_git=against_git, remote=remote, deep=deep)
    if json_out:
        render.report_json(report)
        if not report.ok:
            raise Exit(IntegrityError.exit_code)
        return
    for note in report.notes:
        render.message(f"note: {note}")
    if not report.ok:
        raise IntegrityError(
            f"The registry does not check out: {len(report.problems)} problem(s).", report.problems
        )
    render.message(
        f"OK: {report.events} events, {report.versions} versions, "
        f"{report.objects} objects check out."
    )
    if report.remote_objects is not None:
        how = "read back and re-hashed" if report.remote_deep else "with their recorded sizes"
        render.message(
            f"OK: {render.plural(report.remote_objects, 'object')} on {report.remote}, {how}."
        )


def rebuild(registry: Path | None = None, commit: bool | None = None) -> None:
    """minireg rebuild: regenerate the ledger from the events."""
    reg = open_registry(registry)
    with committing(reg, commit):
        count = reg.rebuild()
    render.message(f"Rebuilt the ledger from the events: {render.plural(count, 'version')}.")


def diff(
    model: str, old: str, new: str, registry: Path | None = None, json_out: bool = False
) -> None:
    """minireg diff: params, metrics with deltas, data, git commit, requirements, artifact."""

    result = open_registry(registry).diff(model, old, new)
    if json_out:
        render.as_json(result.to_dict())
    else:
        render.diff(result)
