"""The report's charts as Vega-Lite specs built with Altair, and the Vega JavaScript to inline.

The only module that imports ``altair`` and ``vl_convert`` (the ``minireg[report]``
extra). Specs hold no registry text in any expression: filters name only the
``metric`` parameter and fixed fields; every name, reason and version arrives
as a data value (``datasets``), which Vega draws as text and never evaluates.
The JavaScript is vl-convert's bundle of Vega, Vega-Lite and vega-embed (what
Altair inlines for ``save(..., inline=True)``), so the page fetches nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minireg.domain.report import ModelPage
from minireg.errors import InvalidInput, MiniregError
from minireg.storage.atomic import atomic_write

if TYPE_CHECKING:
    from types import ModuleType

INSTALL = "pip install 'minireg[report]'"
_LANE_COLOURS = ["#2563eb", "#16a34a", "#9333ea", "#0891b2", "#ca8a04", "#db2777", "#4b5563"]
_HIGHLIGHT, _OTHER = "#ea580c", "#94a3b8"
_ROW_PX = 26
SVG_MARKS = 3000
"""A model with more bars, marks and points than this is drawn on a canvas."""


def _altair() -> ModuleType:
    try:
        import altair
    except ImportError as exc:
        raise InvalidInput(f"The report needs Altair; install it with `{INSTALL}`.") from exc
    return altair


def javascript() -> tuple[str, str]:
    """vl-convert's bundle of Vega, Vega-Lite and vega-embed, and the Vega-Lite version.

    Raises:
        InvalidInput: vl-convert (the ``report`` extra) is not installed.
        MiniregError: the bundle holds text that would end an inline script early.
    """
    alt = _altair()
    try:
        import vl_convert
    except ImportError as exc:
        raise InvalidInput(f"The report needs vl-convert; install it with `{INSTALL}`.") from exc
    # The Vega-Lite version Altair writes specs for, as vl-convert names it ("6.4").
    wanted = ".".join(str(alt.SCHEMA_VERSION).lstrip("v").split(".")[:2])
    if wanted not in vl_convert.get_vegalite_versions():
        wanted = vl_convert.get_vegalite_versions()[-1]
    bundle = _bundle(vl_convert, wanted)
    # An inline <script> ends at the first "</script"; "<!--" and "<script" change how the
    # HTML parser reads the rest. Refuse rather than emit a page that could break.
    if re.search(r"<(/?script|!--)", bundle, re.IGNORECASE):
        raise MiniregError("vl-convert's JavaScript bundle cannot be inlined in a <script>.")
    return bundle, wanted


def _cache_folder() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "minireg"


def _bundle(vl_convert: ModuleType, wanted: str) -> str:
    """vl-convert's bundle, kept in the user's cache folder: building it takes 1.5-3 s.

    The file is named by vl-convert's version and the Vega-Lite version, so an upgrade
    builds a new one; its first line holds the sha256 of the rest, so a damaged file is
    built again. A cache that cannot be written only costs time.
    """
    path = _cache_folder() / f"vega-bundle-{vl_convert.__version__}-vl{wanted}.js"
    try:
        first, _, body = path.read_text(encoding="utf-8").partition("\n")
        if first == _stamp(body):
            return body
    except (OSError, UnicodeDecodeError):
        pass
    body = str(vl_convert.javascript_bundle(vl_version=wanted))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, f"{_stamp(body)}\n{body}".encode())
    except OSError:
        pass
    return body


def _stamp(body: str) -> str:
    return "// sha256:" + hashlib.sha256(body.encode("utf-8")).hexdigest()


def specs(model: ModelPage) -> dict[str, Any]:
    """The Vega-Lite specs of one model's section (its timeline and, if any, its metrics)
    and their data, each dataset as columns and rows (the page's script makes the objects
    Vega takes: a third of the bytes of a list of objects)."""
    found: dict[str, Any] = {"timeline": timeline_spec(model)}
    if model.metrics:
        found["metrics"] = metrics_spec(model)
    # SVG keeps every mark an element (what the browser tests count); past a few thousand
    # marks a canvas draws the same chart several times faster.
    marks = len(model.bars) + len(model.marks) + len(model.points)
    found["renderer"] = "svg" if marks <= SVG_MARKS else "canvas"
    found["data"] = {
        "bars": _table([bar.to_dict() for bar in model.bars]),
        "marks": _table([mark.to_dict() for mark in model.marks]),
        "points": _table([point.to_dict() for point in model.points]),
    }
    return found


def _table(rows: list[dict[str, Any]]) -> dict[str, Any]:
    columns = list(rows[0]) if rows else []
    return {"columns": columns, "rows": [list(row.values()) for row in rows]}


def timeline_spec(model: ModelPage) -> dict[str, Any]:
    """Bars (a version holding a stage or alias) and diamonds (the promotions and alias moves)."""
    alt = _altair()
    lanes = list(dict.fromkeys(bar.lane for bar in model.bars))
    y = alt.Y("row:N", title=None, sort=model.rows, scale=alt.Scale(domain=model.rows))
    x_axis = alt.Axis(title="time (UTC)", format="%b %d %H:%M", labelOverlap=True, grid=True)
    bars = (
        alt.Chart(alt.Data(name="bars"))
        # Consecutive holders of one stage alternate in shade, so their bars read apart.
        .transform_calculate(shade="datum.version % 2")
        .mark_bar(height={"band": 0.72}, cornerRadius=2)
        .encode(
            opacity=alt.Opacity(
                "shade:O", legend=None, scale=alt.Scale(domain=[0, 1], range=[0.65, 1])
            ),
            x=alt.X("start_ms:T", scale=alt.Scale(type="utc"), axis=x_axis),
            x2="end_ms:T",
            y=y,
            color=alt.Color(
                "lane:N", legend=None, scale=alt.Scale(domain=lanes or ["-"], range=_LANE_COLOURS)
            ),
            tooltip=[
                alt.Tooltip("version:N", title="version"),
                alt.Tooltip("lane:N", title="held"),
                alt.Tooltip("start:N", title="from"),
                alt.Tooltip("end:N", title="until"),
            ],
        )
    )
    marks = (
        alt.Chart(alt.Data(name="marks"))
        .mark_point(shape="diamond", filled=True, size=120, color="#111827", opacity=1)
        .encode(
            x=alt.X("time_ms:T"),
            y=y,
            tooltip=[
                alt.Tooltip("version:N", title="version"),
                alt.Tooltip("change:N", title="change"),
                alt.Tooltip("actor:N", title="actor"),
                alt.Tooltip("approver:N", title="approver"),
                alt.Tooltip("reason:N", title="reason"),
                alt.Tooltip("time:N", title="time (UTC)"),
            ],
        )
    )
    chart = alt.layer(bars, marks).properties(
        width="container", height=max(_ROW_PX * 2, _ROW_PX * len(model.rows))
    )
    # Validated against the Vega-Lite schema by the tests, not on every report (0.1 s a chart).
    spec: dict[str, Any] = chart.to_dict(validate=False)
    return spec


def metrics_spec(model: ModelPage) -> dict[str, Any]:
    """One metric across versions (the ``metric`` parameter picks which): a line, a point per
    version coloured by whether it reached the serving stage, a ring on the current holder."""
    alt = _altair()
    reached, never = f"reached {model.serving}", f"never in {model.serving}"
    metric = alt.param(name="metric", value=model.metrics[0])
    base = alt.Chart(alt.Data(name="points")).transform_filter("datum.metric === metric")
    versions = sorted({point.version for point in model.points})
    # Whole version numbers on the axis: each one when they fit, else Vega's choice.
    each = {"values": versions} if len(versions) <= 25 else {}
    ticks = alt.Axis(format="d", tickMinStep=1, **each)
    x = alt.X("version:Q", title="version", axis=ticks, scale=alt.Scale(nice=False))
    y = alt.Y("value:Q", title="value", scale=alt.Scale(zero=False))
    tooltip = [
        alt.Tooltip("version:Q", title="version"),
        alt.Tooltip("metric:N", title="metric"),
        alt.Tooltip("value:Q", title="value", format=".6~g"),
        alt.Tooltip("stage:N", title="stage now"),
        alt.Tooltip("highlight:N", title=model.serving),
    ]
    line = base.mark_line(color="#cbd5e1", strokeWidth=1.5).encode(x=x, y=y)
    points = base.mark_point(filled=True, size=64, opacity=1).encode(
        x=x,
        y=y,
        color=alt.Color(
            "highlight:N",
            title=None,
            scale=alt.Scale(domain=[reached, never], range=[_HIGHLIGHT, _OTHER]),
            legend=alt.Legend(orient="top"),
        ),
        tooltip=tooltip,
    )
    layers = [line, points]
    if any(point.current for point in model.points):
        current = base.transform_filter("datum.current")
        ring = current.mark_point(size=400, strokeWidth=2.5, color="#111827", filled=False)
        text = current.mark_text(dy=-18, fontWeight="bold", text=f"now in {model.serving}")
        layers += [ring.encode(x=x, y=y, tooltip=tooltip), text.encode(x=x, y=y)]
    chart = alt.layer(*layers).add_params(metric)
    spec: dict[str, Any] = chart.properties(width="container", height=280).to_dict(validate=False)
    return spec
