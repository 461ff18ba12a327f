"""The report page in a real headless Chromium: drawn, interactive, offline, and never run.

The registry is the story of tests/support/report.py (3 models, 30 versions,
promotions, archivals, aliases, and hostile text in descriptions, tags, reasons,
approvers and actors). The page is opened from a file:// URL with the network
cut off; a screenshot is left in tests/output/ (git-ignored) for CI to keep.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.browser import OUTPUT, chromium, visit
from tests.support.report import (
    APPROVER,
    CI,
    HOSTILE,
    HOSTILE_APPROVER,
    HOSTILE_REASON,
    MODELS,
    Story,
    build_many,
    build_story,
)

if TYPE_CHECKING:  # playwright is imported by the browser helper, when a test runs
    from playwright.sync_api import Browser, Page


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    return build_story(tmp_path_factory.mktemp("story"))


@pytest.fixture(scope="module")
def report(story: Story, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("page") / "report.html"
    story.registry.report(out)
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as found:
        yield found


@pytest.fixture(scope="module")
def big_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """The page of 1,200 versions of one model, and its number of events."""
    reg = build_many(tmp_path_factory.mktemp("many") / "registry", 1200)
    out = tmp_path_factory.mktemp("page") / "big.html"
    reg.report(out, verify=False)
    return out, len(reg.history())


def count(page: Page, selector: str) -> int:
    return int(page.evaluate("s => document.querySelectorAll(s).length", selector))


def section(name: str) -> int:
    """The index of a model's section: models are listed by name."""
    return sorted(MODELS).index(name)


def test_the_charts_draw_a_bar_and_a_mark_for_every_holding_and_a_point_per_version(
    story: Story, report: Path, browser: Browser
) -> None:
    with visit(browser, report) as seen:
        page = seen.page
        for name, versions in MODELS.items():
            i = section(name)
            # Layer 0 of a timeline: the bars; layer 1: the promotion and alias marks.
            assert count(page, f"#timeline-{i} g.layer_0_marks path") == story.opened[name]
            assert count(page, f"#timeline-{i} g.layer_1_marks path") == story.opened[name]
            # Layer 1 of the metrics chart: one point per version (auc_roc, chosen first).
            assert count(page, f"#metrics-{i} g.layer_1_marks path") == versions
            # The current Production holder is ringed: one ring.
            assert count(page, f"#metrics-{i} g.layer_2_marks path") == 1
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "report.png"), full_page=True)
        assert seen.errors == []
        assert seen.requests == []
    assert (OUTPUT / "report.png").stat().st_size > 10_000


def hover_mark(page: Page, model: str, row: str, version: int) -> str:
    """Hover the timeline mark of ``version`` on ``row``; the tooltip's text."""
    selector = f"#timeline-{section(model)} g.layer_1_marks path"
    wanted = f"row: {row}; version: {version};"
    index = page.evaluate(
        "([s, w]) => Array.from(document.querySelectorAll(s))"
        ".findIndex(p => (p.getAttribute('aria-label') || '').includes(w))",
        [selector, wanted],
    )
    assert index >= 0, f"no mark for {wanted}"
    page.locator(selector).nth(index).hover()
    tooltip = page.locator("#vg-tooltip-element")
    tooltip.wait_for(state="visible")
    return tooltip.inner_text()


def test_hovering_a_promotion_names_its_actor_approver_and_reason(
    report: Path, browser: Browser
) -> None:
    with visit(browser, report) as seen:
        text = hover_mark(seen.page, "fraud_detector", "Production", 8)
        assert "Staging → Production" in text
        assert CI in text and APPROVER in text and "AUC up at version 8" in text
        assert seen.errors == []


def test_sorting_and_filtering_the_audit_table_changes_its_rows(
    story: Story, report: Path, browser: Browser
) -> None:
    events = len(story.registry.history())
    with visit(browser, report) as seen:
        page = seen.page

        def column(n: int) -> list[str]:
            return list(
                page.evaluate(
                    "n => Array.from(document.querySelectorAll('#audit-table tbody tr'))"
                    ".filter(r => !r.hidden).map(r => r.cells[n].textContent)",
                    n,
                )
            )

        assert column(0) == [str(n) for n in range(1, events + 1)]
        page.click("#audit-table th button[data-column='2']")  # actor
        actors = column(2)
        assert actors == sorted(actors, key=str.casefold) and actors != column(0)
        page.click("#audit-table th button[data-column='2']")
        assert column(2) == list(reversed(actors))
        page.click("#audit-table th button[data-column='0']")
        assert column(0) == [str(n) for n in range(1, events + 1)]

        page.fill("#audit-filter", "alias_delete")
        assert column(3) == ["alias_delete"]
        assert page.inner_text("#audit-count") == f"1 of {events} events"
        page.fill("#audit-filter", "fraud_detector")
        assert set(column(4)) == {"fraud_detector"}
        page.fill("#audit-filter", "")
        assert len(column(0)) == events
        assert seen.errors == []


def test_choosing_another_metric_redraws_the_metrics_chart(report: Path, browser: Browser) -> None:
    i = section("ranker")
    points = f"#metrics-{i} g.layer_1_marks path"
    with visit(browser, report) as seen:
        page = seen.page

        def drawn() -> list[str]:
            return list(
                page.evaluate(
                    "s => Array.from(document.querySelectorAll(s))"
                    ".map(p => p.getAttribute('aria-label'))",
                    points,
                )
            )

        before = drawn()
        assert all("metric: auc_roc;" in label for label in before)
        page.select_option(f"#metric-{i}", "ndcg")
        page.wait_for_selector(f"#metric-{i}[data-shown='ndcg']")
        after = drawn()
        assert len(after) == MODELS["ranker"]
        assert all("metric: ndcg;" in label for label in after)
        assert "value: 0.66;" in " ".join(after)  # ndcg of version 8
        assert seen.errors == []


def test_hostile_registry_text_is_shown_as_text_and_never_runs(
    story: Story, report: Path, browser: Browser
) -> None:
    with visit(browser, report) as seen:
        page = seen.page
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert seen.dialogs == []
        cells = page.evaluate(
            "Array.from(document.querySelectorAll('#audit-table td')).map(td => td.textContent)"
        )
        for text in HOSTILE:
            assert any(text in cell for cell in cells), text
        # Nothing the registry holds became an element: the page's own three scripts only.
        assert count(page, "script") == 3
        assert count(page, "iframe, img, body > svg, object, embed") == 0
        # The tooltip of the hostile promotion shows the text, and holds no element of it.
        model, version = story.hostile_promotion
        text = hover_mark(page, model, "Production", version)
        assert HOSTILE_APPROVER in text and HOSTILE_REASON in text
        assert count(page, "#vg-tooltip-element svg, #vg-tooltip-element script") == 0
        page.wait_for_timeout(200)  # an onload or onerror would have fired by now
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert seen.dialogs == [] and seen.errors == [] and seen.requests == []


SCENE_MARKS = """view => {
  const found = {};
  (function walk(node) {
    if (node.marktype && node.name) found[node.name] = node.items.length;
    (node.items || []).forEach(item => (item.items || []).forEach(walk));
  })(window.minireg.views[view].scenegraph().root);
  return found;
}"""
"""The number of items of each named mark in a Vega view's scene (what a canvas draws)."""


def test_a_big_trail_is_drawn_on_canvas_and_its_table_comes_in_pages(
    big_report: tuple[Path, int], browser: Browser
) -> None:
    path, events = big_report
    with visit(browser, path) as seen:
        page = seen.page
        assert count(page, "#timeline-0 canvas") == 1 and count(page, "#timeline-0 svg") == 0
        # 1,200 versions in Staging, 240 of them in Production, @champion on each of those.
        scene = page.evaluate(SCENE_MARKS, "timeline-0")
        assert scene["layer_0_marks"] == scene["layer_1_marks"] == 1200 + 240 + 240
        assert page.evaluate(SCENE_MARKS, "metrics-0")["layer_1_marks"] == 1200
        rows = "#audit-table tbody tr"
        assert count(page, rows) == 500
        assert (
            page.inner_text("#audit-count") == f"{events} of {events} events (the first 500 shown)"
        )
        page.click("#audit-more")
        assert count(page, rows) == 1000
        page.fill("#audit-filter", "alias_set")
        assert count(page, rows) == 240 and page.is_hidden("#audit-more")
        assert page.inner_text("#overview").count("not run") == 1
        assert seen.errors == [] and seen.requests == []
