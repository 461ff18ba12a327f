"""Progress bars: on a terminal only, and for transfers only once they last about a second."""

from __future__ import annotations

import io
import time

import pytest

from minireg.cli import render


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stderr", io.StringIO())
    update, finish = render.transfer_bar("uploading model.joblib")
    assert update is None
    finish()


def test_a_transfer_bar_appears_after_about_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    update, finish = render.transfer_bar("downloading the artifact of churn version 3")
    assert update is not None
    now[0] += 0.5
    update(10, 100)
    assert screen.getvalue() == ""  # a quick transfer shows nothing
    now[0] += 0.7
    update(50, 100)
    assert screen.getvalue().endswith(
        "downloading the artifact of churn version 3 [" + "#" * 15 + "." * 15 + "]  50%"
    )
    finish()
    assert screen.getvalue().endswith("\n")


def test_a_quick_transfer_leaves_the_screen_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    update, finish = render.transfer_bar("uploading m.pkl")
    assert update is not None
    update(100, 100)
    finish()
    assert screen.getvalue() == ""
