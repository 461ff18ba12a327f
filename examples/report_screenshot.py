"""Regenerate docs/report.png, the README's picture of `minireg report` (make report-screenshot).

Builds the story registry the report's tests use (three models, promotions,
archivals, aliases; fixed times and actors), writes its report, and photographs
the top of the page in headless Chromium (Debian's `chromium`, driven by Playwright).

    python examples/report_screenshot.py [docs/report.png]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.report import build_story  # noqa: E402  (the repository's own helper)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "report.png")
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="minireg-report-") as tmp:
        story = build_story(Path(tmp), hostile=False)
        page_path = Path(tmp) / "report.html"
        story.registry.report(page_path)
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1200, "height": 1400})
            page.goto(page_path.as_uri())
            page.wait_for_selector("body[data-ready='yes']")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), clip={"x": 0, "y": 0, "width": 1200, "height": 1400})
            browser.close()
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
