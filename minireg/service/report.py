"""``Registry.report``: the registry's story as one self-contained HTML page.

Reads through the Registry's public reads only (``history``, ``versions``,
``verify``), builds the pure page model (:mod:`minireg.domain.report`) and has
the chart adapter (:mod:`minireg.adapters.report`, the ``minireg[report]``
extra) draw it. Nothing in the registry is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from minireg.domain import decisions
from minireg.domain.report import ReportOptions, Verification, build_page
from minireg.domain.values import parse_moment, utc_text
from minireg.service.results import ReportFile
from minireg.service.spreadsheet import check_out_path
from minireg.storage.atomic import atomic_write

if TYPE_CHECKING:
    from minireg.service.registry import Registry


def write_report(
    reg: Registry, out: Path, *, model: str | None, since: str | None, now: bool, verify: bool
) -> ReportFile:
    """Write the report of ``reg`` to ``out`` (see :meth:`Registry.report`)."""
    check_out_path(reg.root, out)
    after = parse_moment(since, "--since date") if since else None
    events = reg.history()
    if model is not None and not any(e.model == model for e in events):
        raise decisions.no_model(model)
    records = reg.versions(model) if events else []
    if verify:
        report = reg.verify()
        check = Verification(report.ok, tuple(report.problems))
    else:
        check = Verification(ok=False, ran=False)
    options = ReportOptions(model=model, since=after, now=utc_text(reg.clock()) if now else "")
    page = build_page(events, records, reg.config, check, options)
    from minireg.adapters.report import render_html

    data = render_html(page)
    atomic_write(out, data)
    view = page.overview
    return ReportFile(
        path=out,
        bytes=len(data),
        models=view.models,
        versions=view.versions,
        events=view.events,
        verified=check.ok if check.ran else None,
        head=view.head,
        generated_at=view.generated_at,
    )
