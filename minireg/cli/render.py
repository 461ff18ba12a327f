"""Everything the CLI shows: tables and JSON on stdout; messages, notes and progress on stderr.

Plain ``sys.stdout`` / ``sys.stderr`` writes, looked up at each call (so Typer's
CliRunner, which swaps them, captures them too), and flushed at once, so that
stdout and stderr interleave on a terminal in the order they were written.
Nothing here imports Typer: the fast path and the Typer app render alike.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from minireg.domain.diff import VersionDiff
    from minireg.domain.listing import Listing
    from minireg.domain.records import Event, VersionRecord
    from minireg.exporters.mlflow import ExportResult, VersionExport
    from minireg.loading import Resolved
    from minireg.service.gc import Collection
    from minireg.service.results import Promotion, Report, Snapshot
    from minireg.storage.objects import Progress


def _write(stream: TextIO, text: str) -> None:
    stream.write(text + "\n")
    stream.flush()


def line(text: str = "") -> None:
    """One line of output for scripts and people, on stdout."""
    _write(sys.stdout, text)


def message(text: str) -> None:
    """A message for people, on stderr."""
    _write(sys.stderr, text)


def error(sentence: str, details: Sequence[str] = ()) -> None:
    """``error: <sentence>`` on stderr, then one ``  - detail`` line each."""
    _write(sys.stderr, "\n".join([f"error: {sentence}", *(f"  - {d}" for d in details)]))


class _NoteHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        kind = "warning" if record.levelno >= logging.WARNING else "note"
        message(f"{kind}: {record.getMessage()}")


def show_notes() -> None:
    """Show the library's ``minireg`` log records (INFO and up) as ``note: ...`` lines."""
    logger = logging.getLogger("minireg")
    if not any(isinstance(h, _NoteHandler) for h in logger.handlers):
        logger.addHandler(_NoteHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False


def as_json(data: Any) -> None:
    """JSON for scripts on stdout: stable keys, UTF-8.

    Indented on a terminal; one compact line in a pipe, because the indenting
    encoder is pure Python and costs more than the rest of ``list --json``.
    """
    indent = 2 if sys.stdout.isatty() else None
    line(json.dumps(data, indent=indent, ensure_ascii=False))


def json_array(items: Iterable[Any], chunk: int = 512) -> None:
    """A JSON array on stdout, written as it goes: the bytes :func:`as_json` gives for the
    list, without building the whole text (or the list) first."""
    out = sys.stdout
    indent = 2 if out.isatty() else None
    start, between, end = ("[\n", ",\n", "\n]") if indent else ("[", ", ", "]")
    pieces: list[str] = []
    count = 0
    for item in items:
        text = json.dumps(item, indent=indent, ensure_ascii=False)
        if indent:  # one level deeper, as inside the indented list (strings hold no raw newline)
            text = "  " + text.replace("\n", "\n  ")
        pieces.append((between if count else start) + text)
        count += 1
        if len(pieces) >= chunk:
            out.write("".join(pieces))
            pieces.clear()
    out.write("".join(pieces) + (end if count else "[]") + "\n")
    out.flush()


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain aligned table for people on stdout (written at once)."""
    text_rows = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    lines = [
        "  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip(),
        "  ".join("-" * w for w in widths),
        *("  ".join(v.ljust(widths[i]) for i, v in enumerate(row)).rstrip() for row in text_rows),
    ]
    line("\n".join(lines))


def progress_bar(label: str, delay: float = 0.0) -> tuple[Progress | None, Callable[[], None]]:
    """A byte progress bar on stderr when it is a terminal; nothing in scripts.

    ``delay``: seconds before it appears, so a quick transfer shows none.
    """
    if not sys.stderr.isatty():
        return None, lambda: None
    shown = {"last": -1}
    import time

    start = time.monotonic()

    def update(done: int, total: int) -> None:
        if total <= 0 or (delay and time.monotonic() - start < delay):
            return
        pct = int(done * 100 / total)
        if pct == shown["last"]:
            return
        shown["last"] = pct
        filled = pct * 30 // 100
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {pct:3d}%")
        sys.stderr.flush()

    def finish() -> None:
        if shown["last"] >= 0:
            sys.stderr.write("\n")
            sys.stderr.flush()

    return update, finish


def transfer_bar(label: str) -> tuple[Progress | None, Callable[[], None]]:
    """The bar of an upload or download to the remote: on a terminal, after about a second."""
    return progress_bar(label, delay=1.0)


def plural(count: int, word: str) -> str:
    """``1 version``, ``2 versions``: counts in messages read as English."""
    return f"{count} {word}" + ("" if count == 1 else "s")


def short(sha: str, n: int = 12) -> str:
    """A digest or commit shortened for tables."""
    return sha[:n]


def cell(value: Any) -> str:
    """A ledger value for a table: 6 significant digits, ISO times to the second."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return value[:19].replace("T", " ")
    return str(value)


# -- one layout per result ----------------------------------------------------


def on_terminal() -> bool:
    """True when stdout is a terminal (a person reads it), False in a pipe or a file."""
    return sys.stdout.isatty()


def listing(found: Listing) -> None:
    """``minireg list``: model, version, stage, aliases, created, git commit and metrics;
    a note on stderr when only the newest rows are shown."""
    table(found.headers, found.rows)
    if found.omitted:
        message(
            f"Showing the newest {plural(len(found.rows), 'version')} of {found.total:,}; "
            f"{found.omitted:,} more are left out (--all shows every version)."
        )


def registered(records: Sequence[VersionRecord], json_out: bool) -> None:
    """``minireg register --batch``: ``MODEL VERSION`` per line (or the records), then a count."""
    if json_out:
        json_array(rec.to_dict() for rec in records)
    elif records:
        line("\n".join(f"{rec.model} {rec.version}" for rec in records))
    models = len({rec.model for rec in records})
    message(f"Registered {plural(len(records), 'version')} of {plural(models, 'model')}.")


def query(headers: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    """``minireg list --where/--sort/--columns``: the chosen ledger columns."""
    table(headers, [[cell(row[h]) for h in headers] for row in rows])


def version(found: Resolved) -> None:
    """``minireg show``: every field of one version, one per line."""
    data = found.to_dict()
    width = max(len(k) for k in data)
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                name = (key[:-1] if key.endswith("s") else key) + "." + sub
                lines.append(f"{name:<{width}}  {subvalue}")
        elif isinstance(value, list):
            lines.append(f"{key:<{width}}  {', '.join(str(v) for v in value)}")
        else:
            lines.append(f"{key:<{width}}  {'' if value is None else value}")
    line("\n".join(lines))


def snapshot(snap: Snapshot) -> None:
    """``minireg show MODEL --at``: which versions held each stage and alias."""
    line(f"{snap.model} at {snap.at}")
    rows: list[list[object]] = [
        [stage, ", ".join(str(v) for v in held) or "-"] for stage, held in snap.stages.items()
    ]
    rows += [[f"@{alias}", str(v)] for alias, v in snap.aliases.items()]
    table(["stage/alias", "versions"], rows)


def _shadowed(result: Promotion, archive_stage: str, initial_stage: str) -> str:
    """A note when ``models:/MODEL/<stage>`` resolves to a higher version than this one.

    MLflow resolves a stage to its highest version; the note names it for a stage models
    are served from (not where versions start or retire).
    """
    stage, serving = result.to_stage, result.serving
    if serving is None or serving == result.version or stage in (initial_stage, archive_stage):
        return ""
    return (
        f"models:/{result.model}/{stage} resolves to version {serving}, the highest version in "
        f"{stage}; to serve version {result.version}, move version {serving} out "
        f"(minireg promote {result.model} {serving} --to {archive_stage})."
    )


def promotion(result: Promotion, archive_stage: str, initial_stage: str) -> None:
    """``minireg promote``: each check's verdict, then what moved (or would move)."""
    note = _shadowed(result, archive_stage, initial_stage)
    if not result.changed:
        message(
            f"{result.model} version {result.version} is already in {result.to_stage}; "
            "nothing to do."
        )
        if note:
            message(note)
        return
    if result.checks:
        table(
            ["check", "verdict", "detail"],
            [[c.name, "pass" if c.passed else "FAIL", c.detail] for c in result.checks],
        )
    # A refused dry run says so in its error; it must not also claim it would move anything.
    if result.allowed:
        prefix = "Would move" if result.dry_run else "Moved"
        message(
            f"{prefix} {result.model} version {result.version} "
            f"from {result.from_stage} to {result.to_stage}."
        )
        for archived in result.archived:
            message(f"{prefix} version {archived} from {result.to_stage} to {archive_stage}.")
        if note:
            message(note)
        if result.dry_run:
            message("Dry run: nothing was written.")


def _change(e: Event) -> str:
    if e.action in ("transition", "renumber"):
        return f"{e.data.get('from')} → {e.data.get('to')}"
    if e.action in ("alias_set", "alias_delete"):
        return f"@{e.data.get('alias')}"
    if e.action == "tag":
        return f"{e.data.get('key')}={e.data.get('value')}"
    if e.action == "describe":
        return str(e.data.get("description", ""))
    if e.action == "merge":
        return f"{str(e.data.get('ours', ''))[:8]} + {str(e.data.get('theirs', ''))[:8]}"
    return ""


def events(found: Sequence[Event]) -> None:
    """``minireg history``: time, actor, action, model, version, change, approver, reason."""
    rows = [
        [
            e.time[:19].replace("T", " "),
            e.actor,
            e.action,
            e.model,
            "" if e.version is None else e.version,
            _change(e),
            e.approver,
            e.reason,
        ]
        for e in found
    ]
    headers = ["time (UTC)", "actor", "action", "model", "version", "change", "approver", "reason"]
    table(headers, rows)


def report_json(report: Report) -> None:
    """``minireg verify --json``."""
    as_json(report.to_dict())


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value:+.6g}"


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return cell(value)


def diff(result: VersionDiff) -> None:
    """``minireg diff``: fields, metrics with deltas, params, then the requirements."""
    a, b = f"v{result.old.version}", f"v{result.new.version}"
    line(f"{result.old.model}: version {result.old.version} -> version {result.new.version}")
    line()
    fields = [[n, _text(x), _text(y), "*" if c else ""] for n, x, y, c in result.fields()]
    table(["field", a, b, "changed"], fields)
    if result.metrics():
        line()
        table(
            ["metric", a, b, "delta"],
            [[n, cell(x), cell(y), _signed(d)] for n, x, y, d in result.metrics()],
        )
    if result.params():
        line()
        table(
            ["param", a, b, "changed"],
            [[n, cell(x), cell(y), "*" if c else ""] for n, x, y, c in result.params()],
        )
    line()
    reqs = result.requirements
    if reqs is None:
        line(f"requirements: unknown ({result.requirements_note})")
    elif reqs.same:
        line("requirements: the same packages")
    else:
        line(
            f"requirements: {len(reqs.added)} added, {len(reqs.removed)} removed, "
            f"{len(reqs.changed)} changed"
        )
        for name, spec in sorted(reqs.added.items()):
            line(f"  + {name}{spec}")
        for name, spec in sorted(reqs.removed.items()):
            line(f"  - {name}{spec}")
        for name, (x, y) in sorted(reqs.changed.items()):
            line(f"  ~ {name} {x or '(any)'} -> {y or '(any)'}")


def garbage(result: Collection, grace: float, json_out: bool) -> None:
    """``minireg gc``: the unreferenced digests (or JSON) on stdout, the counts on stderr."""
    if json_out:
        as_json(result.to_dict())
    else:
        for digest in result.unreferenced:
            line(digest)
    verb = "Would remove" if result.dry_run else "Removed"
    message(f"{verb} {len(result.unreferenced)} unreferenced objects ({result.bytes} bytes).")
    if result.young:
        message(
            f"Kept {len(result.young)} unreferenced objects younger than {grace:g} s "
            "(--grace); a registration may still need them."
        )


def export_plan(result: ExportResult, dry_run: bool) -> None:
    """``minireg export mlflow``: each version's mapping and action, then the counts."""
    rows = []
    for v in result.versions:
        target = "?" if v.mlflow_version is None else str(v.mlflow_version)
        rows.append(
            [
                v.model,
                f"{v.version} → {target}",
                v.stage,
                " ".join(f"@{a}" for a in v.aliases),
                v.action,
                _export_details(v),
            ]
        )
    table(["model", "minireg → mlflow", "stage", "aliases", "action", "details"], rows)
    verb = "would be" if dry_run else "were"
    message(
        f"{'Plan for' if dry_run else 'Exported to'} {result.tracking_uri} "
        f"(experiment {result.experiment}): {result.count('create')} {verb} created, "
        f"{result.count('update')} updated, {result.count('unchanged')} unchanged."
    )
    if result.shortened():
        message(
            f"{plural(result.shortened(), 'version')} hold values longer than MLflow keeps: "
            "MLflow has them shortened (see details, and the minireg.truncated tag); "
            "each run's minireg/audit.json has them whole."
        )


def _export_details(v: VersionExport) -> str:
    """An exported version's details: its changes (or note), then what MLflow holds shortened."""
    parts = [*(v.changes if v.action == "update" else []), v.note]
    if v.shortened:
        parts.append("shortened: " + ", ".join(v.shortened))
    return "; ".join(p for p in parts if p)
