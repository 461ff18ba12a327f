"""``Registry.report`` and ``minireg report``: one self-contained, deterministic, safe page."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

import minireg
from minireg.errors import InvalidInput, NotFound
from tests.conftest import run_cli, tree_digest
from tests.support.report import HOSTILE, HOSTILE_PARAM, Story, build_story


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    return build_story(tmp_path_factory.mktemp("story"))


def test_the_same_trail_and_options_give_the_same_bytes(story: Story, tmp_path: Path) -> None:
    reg = story.registry
    first = reg.report(tmp_path / "a.html")
    again = minireg.open_registry(reg.root).report(tmp_path / "b.html")
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()
    assert first.generated_at == reg.history()[-1].time == again.generated_at
    assert first.head == reg.history()[-1].hash
    one = reg.report(tmp_path / "c.html", model="ranker", since="2024-01-05")
    reg.report(tmp_path / "d.html", model="ranker", since="2024-01-05")
    assert (tmp_path / "c.html").read_bytes() == (tmp_path / "d.html").read_bytes()
    assert (tmp_path / "c.html").read_bytes() != (tmp_path / "a.html").read_bytes()
    assert (one.models, one.versions) == (1, 8)
    assert one.events == len(reg.history("ranker", since="2024-01-05"))


def test_a_new_event_changes_the_page_and_its_generated_at(tmp_path: Path) -> None:
    story = build_story(tmp_path / "s", hostile=False)
    reg = story.registry
    before = reg.report(tmp_path / "before.html")
    moment = datetime(2024, 6, 1, 12, tzinfo=timezone.utc)
    reg.set_alias("ranker", "challenger", 7, actor="x@corp", now=moment)
    after = reg.report(tmp_path / "after.html")
    assert after.generated_at == "2024-06-01T12:00:00.000000Z" != before.generated_at
    assert after.head != before.head
    page = (tmp_path / "after.html").read_text(encoding="utf-8")
    assert f'<time id="generated-at">{after.generated_at}</time>' in page
    assert after.head in page


def test_now_stamps_the_current_time_instead(story: Story, tmp_path: Path) -> None:
    reg = minireg.open_registry(story.registry.root)
    reg.clock = lambda: datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    done = reg.report(tmp_path / "now.html", now=True)
    assert done.generated_at == "2030-01-02T03:04:05.000000Z"
    assert "2030-01-02T03:04:05.000000Z" in (tmp_path / "now.html").read_text(encoding="utf-8")


def test_registry_text_never_reaches_the_page_as_markup(story: Story, tmp_path: Path) -> None:
    story.registry.report(tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    # Exactly the page's own scripts: one JSON block, the Vega bundle, the page script.
    assert len(re.findall(r"<script", page, re.IGNORECASE)) == 3
    assert len(re.findall(r"</script", page, re.IGNORECASE)) == 3
    assert "<!--" not in page
    for text in (*HOSTILE, HOSTILE_PARAM):
        assert text not in page or "<" not in text, text
    assert "\u2028" not in page  # JSON's line separator would end a JavaScript string
    # A Content-Security-Policy allows only the page's own inline scripts, by hash.
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert csp is not None
    assert "default-src 'none'" in csp.group(1)
    assert len(re.findall(r"'sha256-[A-Za-z0-9+/=]+'", csp.group(1))) == 2
    assert "unsafe-eval" not in csp.group(1) and "script-src 'unsafe-inline'" not in csp.group(1)


def test_bad_input_exits_with_one_sentence_and_writes_nothing(story: Story, tmp_path: Path) -> None:
    reg = story.registry
    before = tree_digest(reg.root)
    with pytest.raises(InvalidInput, match="inside the registry"):
        reg.report(reg.root / "report.html")
    with pytest.raises(InvalidInput, match="does not exist; create it first"):
        reg.report(tmp_path / "missing" / "report.html")
    with pytest.raises(InvalidInput, match="not an ISO 8601 date"):
        reg.report(tmp_path / "r.html", since="last tuesday")
    with pytest.raises(NotFound, match="'nope' is not in the registry"):
        reg.report(tmp_path / "r.html", model="nope")
    assert not (tmp_path / "r.html").exists()
    assert tree_digest(reg.root) == before


def test_the_command_writes_the_page_and_says_what_it_holds(story: Story, tmp_path: Path) -> None:
    out = tmp_path / "cli.html"
    res = run_cli("report", str(out), "--registry", str(story.registry.root))
    assert res.exit_code == 0, res.stderr
    assert re.fullmatch(
        r"Wrote .*cli\.html \(\d\.\d\d MB\): 3 models, 30 versions, \d+ events; verify passed\.\n",
        res.stderr,
    )
    res = run_cli("report", str(out), "-r", str(story.registry.root), "--model", "ranker", "--json")
    assert res.exit_code == 0, res.stderr
    assert '"models": 1' in res.stdout and '"verified": true' in res.stdout
    res = run_cli("report", str(out), "-r", str(story.registry.root), "--model", "nope")
    assert res.exit_code == 3
    assert (
        res.stderr
        == "error: Model 'nope' is not in the registry; `minireg list` shows the models.\n"
    )
    res = run_cli("report", str(story.registry.root / "x.html"), "-r", str(story.registry.root))
    assert res.exit_code == 2


def test_a_failed_verify_is_on_the_page(tmp_path: Path) -> None:
    story = build_story(tmp_path / "s", hostile=False)
    ledger = story.registry.root / "ledger.csv"
    ledger.write_text(ledger.read_text().replace("ranker retrain 2", "edited by hand"))
    done = story.registry.report(tmp_path / "r.html")
    assert not done.verified
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "failed: 2 problem(s)" in page and "verify FAILED" in page
    assert "edited by hand" in page  # the problem itself, listed


def test_without_the_report_extra_the_command_names_the_install(
    story: Story, tmp_path: Path
) -> None:
    # A real interpreter where Altair cannot be imported (as without `minireg[report]`).
    code = (
        "import sys; sys.modules['altair'] = None\n"
        "from minireg.cli import main\n"
        f"sys.exit(main(['report', {str(tmp_path / 'r.html')!r}, '-r', "
        f"{str(story.registry.root)!r}]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 2, out.stderr
    assert out.stderr == (
        "error: The report needs Altair; install it with `pip install 'minireg[report]'`.\n"
    )
    assert not (tmp_path / "r.html").exists()


def test_no_verify_says_on_the_page_that_verify_was_not_run(story: Story, tmp_path: Path) -> None:
    done = story.registry.report(tmp_path / "r.html", verify=False)
    assert done.verified is None
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert '<span class="bad">not run</span>' in page and "verify not run" in page
    res = run_cli("report", str(tmp_path / "c.html"), "-r", str(story.registry.root), "--no-verify")
    assert res.exit_code == 0 and res.stderr.endswith("; verify not run.\n")
