"""The chart adapter without a browser: valid Vega-Lite, the renderer by size, safe JSON."""

from __future__ import annotations

import json
from pathlib import Path

import altair as alt
import pytest

from minireg.adapters.report import charts
from minireg.adapters.report.page import json_block, text
from minireg.domain.report import ReportOptions, Verification, build_page
from tests.support.report import build_many, build_story


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> list[object]:
    story = build_story(tmp_path_factory.mktemp("story")).registry
    many = build_many(tmp_path_factory.mktemp("many") / "registry", 1200)
    found = []
    for reg in (story, many):
        page = build_page(
            reg.history(), reg.versions(), reg.config, Verification(ok=True), ReportOptions()
        )
        found += page.models
    return found


def test_every_spec_is_valid_vega_lite(pages: list[object]) -> None:
    for model in pages:
        specs = charts.specs(model)  # type: ignore[arg-type]
        for kind in ("timeline", "metrics"):
            alt.LayerChart.from_dict(specs[kind], validate=True)  # raises if not valid
        data = specs["data"]
        assert len(data["bars"]["rows"]) == len(model.bars)  # type: ignore[attr-defined]
        assert data["bars"]["columns"][:3] == ["lane", "row", "version"]


def test_small_charts_are_svg_and_big_ones_canvas(pages: list[object]) -> None:
    renderers = {m.name: charts.specs(m)["renderer"] for m in pages}  # type: ignore[attr-defined]
    assert renderers == {
        "churn_predictor": "svg",
        "fraud_detector": "svg",
        "ranker": "svg",
        "many": "canvas",
    }


def test_json_for_a_script_block_cannot_end_it_and_reads_back_the_same() -> None:
    hostile = {"a": "</script><script>alert(1)</script><!-- & \u2028 \u2029 é"}
    block = json_block(hostile)
    assert "<" not in block and ">" not in block and "&" not in block
    assert "\u2028" not in block and "\u2029" not in block
    assert json.loads(block) == hostile
    assert text('"><img src=x>') == "&quot;&gt;&lt;img src=x&gt;"


def test_the_bundle_is_cached_and_rebuilt_when_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    bundle, version = charts.javascript()
    cached = list((tmp_path / "minireg").glob("vega-bundle-*.js"))
    assert [p.name for p in cached] == [f"vega-bundle-{_vlc_version()}-vl{version}.js"]
    assert cached[0].read_text(encoding="utf-8").split("\n", 1)[1] == bundle
    cached[0].write_text(cached[0].read_text(encoding="utf-8")[:-100], encoding="utf-8")
    assert charts.javascript()[0] == bundle  # a torn cache is built again
    assert cached[0].read_text(encoding="utf-8").split("\n", 1)[1] == bundle


def _vlc_version() -> str:
    import vl_convert

    return str(vl_convert.__version__)
