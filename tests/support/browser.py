"""Headless Chromium for the report's tests: Debian's ``chromium``, driven by Playwright.

No browser is downloaded: Playwright launches the system's Chromium
(``executable_path``), which ``.ci/run`` installs with apt-get when it is missing.
A test that needs it is skipped only when it cannot be found, with the reason,
and never in CI (``CI`` set): there a missing browser fails the test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

OUTPUT = Path(__file__).resolve().parent.parent / "output"
"""Where browser tests leave screenshots (git-ignored; CI keeps it as an artifact)."""


def chromium_path() -> str:
    """The system Chromium, or skip (fail in CI) saying why it cannot be used."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    reason = ""
    if found is None:
        reason = "no chromium on PATH (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (pip install -e '.[dev]')"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"The browser tests must run in CI, but {reason}.")
        pytest.skip(f"browser test skipped: {reason}")
    assert found is not None
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the duration of the block."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """A page opened from a file with the network cut off, and what it tried and said."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@contextmanager
def visit(browser: Browser, path: Path, *, width: int = 1300) -> Iterator[Visit]:
    """Open ``path`` (file://) offline; every request but the file itself is refused and kept.

    Waits until the page's charts are drawn (``body[data-ready]``).
    """
    context = browser.new_context(offline=True, viewport={"width": width, "height": 1000})
    page = context.new_page()
    seen = Visit(page)
    url = path.resolve().as_uri()

    def route(handle: Any) -> None:
        if handle.request.url == url:
            handle.continue_()
        else:
            seen.requests.append(handle.request.url)
            handle.abort()

    def dialog(box: Any) -> None:
        seen.dialogs.append(box.message)
        box.dismiss()

    context.route("**/*", route)
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
    page.on("dialog", dialog)
    try:
        page.goto(url)
        page.wait_for_selector("body[data-ready]", timeout=30_000)
        yield seen
    finally:
        context.close()
