"""The report as one self-contained HTML page: every script and style inline, nothing fetched.

Safe by construction, in three layers:

- every text from the registry that lands in the HTML itself goes through
  :func:`text` (``html.escape``, quotes included), and never into an attribute
  other than a quoted ``value``;
- everything the scripts read is JSON in ``<script type="application/json">``
  blocks, with ``<``, ``>`` and ``&`` written as ``\\u003c`` etc., so no text can
  close the block (``</script>``) or open a comment; the page's script builds
  the audit table with ``textContent``, and Vega draws chart text as text;
- a Content-Security-Policy allows exactly the two inline scripts of the page
  (by their sha256), no ``eval`` (Vega runs its expressions through its
  interpreter), and no connection, frame or form anywhere.

The same page model gives the same bytes: nothing here reads a clock or a
random source, and JSON keys keep the page model's order.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from importlib import resources
from typing import Any

from minireg._version import __version__
from minireg.domain.report import AUDIT_COLUMNS, ModelPage, Overview, Page

# What JSON may hold but a <script> element or a JavaScript string may not (str.replace is
# many times faster than str.translate on a page of megabytes).
_JSON_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def text(value: object) -> str:
    """Registry text for HTML: every markup character escaped, quotes included."""
    return html.escape("" if value is None else str(value), quote=True)


def json_block(data: Any) -> str:
    """JSON that can sit inside a ``<script type="application/json">`` and never end it."""
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in _JSON_ESCAPES:
        raw = raw.replace(char, escaped)
    return raw


def _asset(name: str) -> str:
    return resources.files("minireg.adapters.report").joinpath(name).read_text(encoding="utf-8")


def _csp(scripts: list[str]) -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'"
        for s in scripts
    )
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )


def render(page: Page, charts: list[dict[str, Any]], bundle: str, vega_lite: str) -> str:
    """The HTML of ``page`` with each model's chart specs and the inlined Vega ``bundle``."""
    script = _asset("page.js")
    view = page.overview
    title = "minireg report" + (f": {view.model}" if view.model else "")
    body = [
        _header(view, vega_lite),
        _overview(view),
        _contents(page.models),
        *(_model(index, model) for index, model in enumerate(page.models)),
        _audit(page),
    ]
    audit = {"columns": list(AUDIT_COLUMNS), "rows": [row.to_list() for row in page.audit]}
    data = {"charts": charts, "audit": audit}
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f'<meta http-equiv="Content-Security-Policy" content="{_csp([bundle, script])}">',
            f'<meta name="generator" content="minireg {text(__version__)}">',
            f"<title>{text(title)}</title>",
            f"<style>\n{_asset('page.css')}</style>",
            "</head>",
            "<body>",
            *body,
            f'<script type="application/json" id="minireg-data">{json_block(data)}</script>',
            f"<script>{bundle}</script>",
            f"<script>{script}</script>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _header(view: Overview, vega_lite: str) -> str:
    scope = "every model" if view.model is None else f"model {text(view.model)}"
    since = f", events since {text(view.since)}" if view.since else ""
    when = text(view.generated_at) or "an empty registry"
    return (
        "<header>\n<h1>Model registry report</h1>\n"
        f'<p class="meta">Generated at <time id="generated-at">{when}</time> · {scope}{since}'
        f" · minireg {text(__version__)} · charts by Vega-Lite {text(vega_lite)}</p>\n</header>"
    )


def _overview(view: Overview) -> str:
    check = view.verification
    status = (
        '<span class="bad">not run</span>'
        if not check.ran
        else '<span class="ok">passed</span>'
        if check.ok
        else f'<span class="bad">failed: {len(check.problems)} problem(s)</span>'
    )
    cards = [
        ("models", text(view.models)),
        ("versions", text(view.versions)),
        ("events" + (" since" if view.since else ""), text(view.events)),
        ("last change", text(_moment(view.last_change)) or "—"),
        ("verify", status),
    ]
    items = "\n".join(
        f'<div class="card"><dt>{label}</dt><dd>{value}</dd></div>' for label, value in cards
    )
    problems = "".join(f"<li>{text(p)}</li>" for p in check.problems)
    listed = f'\n<ul class="problems">{problems}</ul>' if problems else ""
    return (
        f'<section id="overview">\n<h2>Overview</h2>\n<dl class="cards">\n{items}\n</dl>\n'
        f'<p class="meta">Trail head <code id="trail-head">{text(view.head) or "—"}</code></p>'
        f"{listed}\n</section>"
    )


def _moment(utc: str) -> str:
    """``2024-03-01T22:00:00.000000Z`` as ``2024-03-01 22:00 UTC`` for a glance."""
    if len(utc) >= 16 and utc[10] == "T" and utc.endswith("Z"):
        return f"{utc[:10]} {utc[11:16]} UTC"
    return utc


def _contents(models: list[ModelPage]) -> str:
    links = "".join(
        f'<li><a href="#model-{i}">{text(m.name)}</a></li>' for i, m in enumerate(models)
    )
    return f'<nav><ul>{links}<li><a href="#audit">audit trail</a></li></ul></nav>'


def _model(index: int, model: ModelPage) -> str:
    return "\n".join(
        [
            f'<section class="model" id="model-{index}">',
            f"<h2>{text(model.name)} <small>{text(model.versions)} version(s)</small></h2>",
            "<h3>Stage timeline</h3>",
            '<p class="hint">Bars: which version held each stage and alias (hover for details); '
            "diamonds: the promotions and alias moves.</p>",
            f'<div class="chart" id="timeline-{index}"></div>',
            "<h3>Metrics across versions</h3>",
            _metric_chooser(index, model),
            "<h3>Current state</h3>",
            _state(model),
            "</section>",
        ]
    )


def _metric_chooser(index: int, model: ModelPage) -> str:
    if not model.metrics:
        return '<p class="hint">No metrics recorded.</p>'
    options = "".join(f'<option value="{text(m)}">{text(m)}</option>' for m in model.metrics)
    return (
        f'<p class="hint"><label>Metric <select class="metric" id="metric-{index}" '
        f'data-chart="{index}">{options}</select></label> · highlighted: versions that reached '
        f"{text(model.serving)}; ringed: the one holding it now.</p>\n"
        f'<div class="chart" id="metrics-{index}"></div>'
    )


def _state(model: ModelPage) -> str:
    columns = ("stage / alias", "version", "sha256", "git commit", "training date", "data sha256")
    head = "".join(f"<th>{c}</th>" for c in columns)
    rows = []
    for h in model.state:
        number = "—" if h.version is None else h.version
        cells = (h.held, number, h.sha256, h.git_commit, h.training_date, h.data_sha256)
        rows.append("<tr>" + "".join(f"<td>{text(c)}</td>" for c in cells) + "</tr>")
    return (
        f'<table class="state"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _audit(page: Page) -> str:
    view = page.overview
    check = view.verification
    verdict = "not run" if not check.ran else "passed" if check.ok else "FAILED"
    heads = "".join(
        f'<th><button type="button" data-column="{i}">{text(c)}</button></th>'
        for i, c in enumerate(AUDIT_COLUMNS)
    )
    return (
        '<section id="audit">\n<h2>Audit trail</h2>\n'
        f'<p class="meta">Head <code>{text(view.head) or "—"}</code> · verify {verdict} '
        "when this report was made.</p>\n"
        '<p><input type="search" id="audit-filter" placeholder="Filter: actor, action, '
        'reason…" aria-label="Filter the audit trail"> <span id="audit-count"></span></p>\n'
        f'<table id="audit-table"><thead><tr>{heads}</tr></thead><tbody></tbody></table>\n'
        '<p><button type="button" id="audit-more" hidden>Show more</button></p>\n'
        "</section>"
    )
