"""How the report's chart library was chosen: Vega-Lite (Altair + vl-convert's inlined
bundle) against Plotly (plotly.py + its inlined plotly.js), on the same content.

Both pages draw what the report draws for 1,000 versions of one model: a stage
timeline (bars for every stretch in Staging and Production, a mark per promotion
with actor, approver and reason in the tooltip) and one metric across versions
with the Production versions coloured. Each page inlines its library's JavaScript
and its data; printed: the page's size, the Python time to write it, and the median
time from opening it to both charts drawn in headless Chromium (5 loads).

Not part of `make bench` (Plotly is not a dependency of minireg):

    pip install plotly altair vl-convert-python playwright
    python bench/compare_chart_libraries.py [VERSIONS] [OUT_FOLDER]
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from pathlib import Path

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
OUT = Path(sys.argv[2] if len(sys.argv) > 2 else ".")


def data(n):
    rnd = random.Random(7)
    bars, marks, metrics = [], [], []
    t0 = 1_700_000_000_000
    prod = None
    for v in range(1, n + 1):
        reg = t0 + v * 3_600_000
        auc = 0.8 + rnd.random() * 0.15
        metrics += [
            {"version": v, "metric": "auc_roc", "value": auc, "production": v % 10 == 0},
            {"version": v, "metric": "f1", "value": auc - 0.1, "production": v % 10 == 0},
        ]
        if v % 2 == 0:
            st = reg + 600_000
            end = st + 1_800_000
            bars.append({"lane": "Staging", "version": v, "start": st, "end": end})
            marks.append(
                {
                    "lane": "Staging",
                    "version": v,
                    "time": st,
                    "actor": "ci@x",
                    "approver": "",
                    "reason": "eval ok",
                }
            )
        if v % 10 == 0:
            st = reg + 2_400_000
            if prod:
                prod["end"] = st
            prod = {
                "lane": "Production",
                "version": v,
                "start": st,
                "end": t0 + (n + 1) * 3_600_000,
            }
            bars.append(prod)
            marks.append(
                {
                    "lane": "Production",
                    "version": v,
                    "time": st,
                    "actor": "ci@x",
                    "approver": "alice@x",
                    "reason": f"AUC {auc:.3f}",
                }
            )
    return bars, marks, metrics


def safe_json(obj):
    return (
        json.dumps(obj, sort_keys=True, separators=(",", ":"))
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def vega_page(bars, marks, metrics):
    import altair as alt
    import vl_convert as vlc

    tip = [alt.Tooltip("version:O"), "actor:N", "approver:N", "reason:N"]
    tl = alt.layer(
        alt.Chart(alt.Data(name="bars"))
        .mark_bar()
        .encode(
            x=alt.X("start:T", scale=alt.Scale(type="utc")),
            x2="end:T",
            y="lane:N",
            tooltip=["version:O"],
        ),
        alt.Chart(alt.Data(name="marks"))
        .mark_point(filled=True, shape="diamond", size=80, color="black")
        .encode(x="time:T", y="lane:N", tooltip=tip),
    ).properties(width=900, height=120)
    metric = alt.param(name="metric", value="auc_roc")
    base = alt.Chart(alt.Data(name="metrics")).transform_filter("datum.metric == metric")
    mc = (
        alt.layer(
            base.mark_line().encode(x="version:Q", y=alt.Y("value:Q", scale=alt.Scale(zero=False))),
            base.mark_point(filled=True).encode(
                x="version:Q", y="value:Q", color="production:N", tooltip=["version:Q", "value:Q"]
            ),
        )
        .add_params(metric)
        .properties(width=900, height=250)
    )
    specs = {"timeline": tl.to_dict(), "metrics": mc.to_dict()}
    datasets = {"bars": bars, "marks": marks, "metrics": metrics}
    js = vlc.javascript_bundle()
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><script>{js}</script></head><body>
<div id="timeline"></div><div id="metrics"></div>
<script type="application/json" id="specs">{safe_json(specs)}</script>
<script type="application/json" id="data">{safe_json(datasets)}</script>
<script>
const specs = JSON.parse(document.getElementById('specs').textContent);
const data = JSON.parse(document.getElementById('data').textContent);
const options = {{renderer: 'svg', actions: false, ast: true}};
Promise.all(Object.entries(specs).map(([k, s]) => {{
  s.datasets = data;
  return vegaEmbed('#' + k, s, options);
}}))
  .then(() => requestAnimationFrame(() => {{ window.__done = performance.now(); }}));
</script></body></html>"""


def plotly_page(bars, marks, metrics):
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs

    tl = go.Figure()
    for lane in ("Staging", "Production"):
        bs = [b for b in bars if b["lane"] == lane]
        tl.add_bar(
            orientation="h",
            y=[lane] * len(bs),
            base=[b["start"] for b in bs],
            x=[b["end"] - b["start"] for b in bs],
            hovertext=[str(b["version"]) for b in bs],
            name=lane,
        )
    tl.add_scatter(
        mode="markers",
        x=[m["time"] for m in marks],
        y=[m["lane"] for m in marks],
        hovertext=[f"v{m['version']} {m['actor']} {m['approver']} {m['reason']}" for m in marks],
        marker_symbol="diamond",
    )
    tl.update_layout(xaxis_type="date", width=1000, height=250)
    am = [m for m in metrics if m["metric"] == "auc_roc"]
    mc = go.Figure()
    mc.add_scatter(
        mode="lines+markers",
        x=[m["version"] for m in am],
        y=[m["value"] for m in am],
        marker_color=["red" if m["production"] else "blue" for m in am],
    )
    mc.update_layout(width=1000, height=300)
    figures = {"timeline": tl.to_plotly_json(), "metrics": mc.to_plotly_json()}
    js = get_plotlyjs()
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><script>{js}</script></head><body>
<div id="timeline"></div><div id="metrics"></div>
<script type="application/json" id="figs">{safe_json(figures)}</script>
<script type="application/json" id="data">{safe_json(metrics)}</script>
<script>
const figs = JSON.parse(document.getElementById('figs').textContent);
const data = JSON.parse(document.getElementById('data').textContent);
Promise.all(Object.entries(figs).map(([k, f]) => Plotly.newPlot(k, f.data, f.layout)))
  .then(() => requestAnimationFrame(() => {{ window.__done = performance.now(); }}));
</script></body></html>"""


def render_ms(path, runs=5):
    from playwright.sync_api import sync_playwright

    times, errors = [], []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for _ in range(runs):
            pg = b.new_page()
            pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            pg.goto(path.as_uri())
            pg.wait_for_function("window.__done", timeout=60000)
            times.append(pg.evaluate("window.__done"))
            marks = pg.evaluate(
                "document.querySelectorAll('svg path, svg .point, svg rect').length"
            )
            pg.close()
        b.close()
    return statistics.median(times), marks, errors


def main() -> None:
    bars, marks, metrics = data(N)
    for name, make in (("vega", vega_page), ("plotly", plotly_page)):
        start = time.perf_counter()
        html = make(bars, marks, metrics)
        gen = time.perf_counter() - start
        path = OUT / f"{name}-{N}.html"
        path.write_text(html)
        ms, count, errs = render_ms(path)
        print(
            f"{name}: page {len(html.encode()) / 1e6:.2f} MB, written in {gen * 1000:.0f} ms, "
            f"drawn in {ms:.0f} ms (median), {count} SVG elements, console errors {errs[:2]}"
        )


if __name__ == "__main__":
    main()
