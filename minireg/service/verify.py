"""``verify``: the hash chain, the ledger against the events, every object, version numbers."""

from __future__ import annotations

from pathlib import Path

from minireg.domain import ledger as ledger_view
from minireg.domain.chain import Trail, parse_events
from minireg.domain.config import Config
from minireg.domain.records import Event, VersionRecord
from minireg.domain.state import fold
from minireg.service.results import Report
from minireg.storage import Storage
from minireg.storage.files import EVENTS_NAME


def _tail_notes(trail: Trail) -> list[str]:
    if trail.tail_is_event:
        return [
            f"{EVENTS_NAME}: the last event lacks its final newline (trimmed by an editor or "
            "a tool?); it is a complete event and counts, and the next write adds the newline"
        ]
    if trail.torn:
        return [
            f"{EVENTS_NAME}: it ends in an unfinished line (a write cut short by a crash); "
            "that write was never acknowledged, and the next write removes it"
        ]
    return []


def _ledger_problems(
    storage: Storage, config: Config, records: list[VersionRecord], events: list[Event]
) -> list[str]:
    name = storage.ledger_path.name
    data = storage.read_ledger()
    if data is None:
        return [f"{name} is missing; run `minireg rebuild`"]
    if config.format == "xlsx":
        from minireg.adapters.xlsx import compare_workbook

        problems = compare_workbook(records, events, data)
    else:
        problems = ledger_view.compare(records, data, name)
        if storage.read_ledger("xlsx") is not None:
            xlsx = storage.ledger_path_for("xlsx").name
            problems.append(f"{xlsx} exists but the format is {config.format}; remove it")
    if problems:
        problems.append(f"run `minireg rebuild` to regenerate {name} from the events")
    return problems


def _object_problems(storage: Storage, records: list[VersionRecord], report: Report) -> None:
    # With a remote, objects/ is a cache: what it holds is checked, what it lacks is not
    # a problem here (the remote holds it).
    cache = storage.remote is not None
    uncached = 0
    for rec in records:
        where = f"{rec.model} v{rec.version}"
        for digest, is_dir in ((rec.artifact_sha256, rec.is_dir), (rec.requirements_sha256, False)):
            if not digest:
                continue
            report.objects += 1
            uncached += cache and not storage.objects.has(digest)
            found = storage.objects.check(digest, is_dir, missing_ok=cache)
            report.problems.extend(f"{where}: {p}" for p in found)
    if uncached:
        report.notes.append(
            f"{uncached} object(s) are not in the local cache objects/ and were not checked "
            f"here; they live in the remote {storage.remote.url if storage.remote else ''}"
        )


def verify(storage: Storage, config: Config, root: Path, *, against_git: bool = False) -> Report:
    """Check the registry at ``root``; see :meth:`minireg.Registry.verify`."""
    report = Report()
    with storage.consistent_read() as locked:
        if not locked:
            report.notes.append(
                "read without the registry lock (the folder cannot be written): a write "
                "in progress elsewhere would show as a lagging ledger"
            )
        trail = storage.read_trail()
        report.notes.extend(_tail_notes(trail))
        events, problems = parse_events(trail.lines)
        report.events = len(trail.lines)
        report.problems.extend(f"{EVENTS_NAME} {p}" for p in problems)
        state = fold(events, config.initial_stage)
        report.versions = len(state.versions)
        report.problems.extend(f"{EVENTS_NAME} {p}" for p in state.anomalies)
        report.problems.extend(_ledger_problems(storage, config, state.records(), events))
        _object_problems(storage, state.records(), report)
    from minireg.adapters.git.commit import git_problems

    report.problems.extend(git_problems(root, events, against_git=against_git))
    return report
