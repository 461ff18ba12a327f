"""Benchmark of `minireg report`: page size and generation time at 1,000 and 10,000 versions.

Every figure is a fresh `minireg report OUT.html` process on a registry of three
models whose versions go to Staging (every 2nd), to Production with the previous
holder archived (every 4th, with @champion following) and get @challenger (every
3rd). The registry is built in a temporary folder through minireg's own domain
code (chained events, then ``rebuild``), so it is a real registry that verify passes.
The first run builds vl-convert's JavaScript bundle into an empty cache folder
(once per vl-convert version); the medians are of runs with the bundle cached, with
`verify` (which re-hashes every artifact) and with `--no-verify`, in wall and CPU
seconds (CPU time is what a loaded machine distorts least). With
Playwright and Debian's chromium installed, the time the page takes to draw in
headless Chromium is printed too.

    python bench/bench_report.py [--sizes 1000,10000] [--runs 3]

Target: at most 3 s to generate the report of 10,000 versions. Figures, not a verdict.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from helpers import minireg_cmd, register_data, small_artifact_registry

from minireg._version import TOOL
from minireg.domain.records import Draft, Event, chain

MODELS = ("churn_predictor", "fraud_detector", "ranker")
TARGET_S = 3.0
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _drafts(model: str, n: int, artifact: str) -> list[Draft]:
    body = register_data(
        n,
        artifact,
        created_at="",
        metrics={"auc_roc": 0.8 + (n % 97) / 1000, "f1": 0.6 + (n % 89) / 1000},
        params={"C": "1.0", "seed": str(n)},
        stage="None",
    )
    drafts = [Draft("register", model, n, body)]
    if n % 2 == 0:
        drafts.append(Draft("transition", model, n, {"from": "None", "to": "Staging"}))
    if n % 4 == 0:
        if n > 4:
            moved = {"from": "Production", "to": "Archived", "archived_by": n}
            drafts.append(Draft("transition", model, n - 4, moved, approver="alice@example.com"))
        drafts.append(
            Draft(
                "transition", model, n, {"from": "Staging", "to": "Production"},
                approver="alice@example.com", reason=f"AUC up at version {n}",
            )
        )  # fmt: skip
        drafts.append(Draft("alias_set", model, n, {"alias": "champion", "previous": None}))
    if n % 3 == 0:
        drafts.append(Draft("alias_set", model, n, {"alias": "challenger", "previous": None}))
    return drafts


def build_registry(root: Path, size: int) -> int:
    """A registry of ``size`` versions over three models; the number of events."""
    reg, artifact = small_artifact_registry(root)
    lines: list[str] = []
    head: Event | None = None
    moment = START
    for n in range(size):
        model, number = MODELS[n % len(MODELS)], n // len(MODELS) + 1
        for draft in _drafts(model, number, artifact):
            moment += timedelta(minutes=7)
            when = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            if draft.action == "register":
                draft.data["created_at"] = when
            (head,) = chain([draft], head=head, time=when, actor="ci@example.com", tool=TOOL)
            lines.append(head.to_line())
    (root / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    reg.rebuild()
    return len(lines)


def run_report(root: Path, out: Path, env: dict[str, str], *extra: str) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one `minireg report` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [*minireg_cmd(), "report", str(out), "--registry", str(root), *extra],
        check=True,
        capture_output=True,
        env=env,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_run(runs: int, *args: object) -> tuple[float, float]:
    found = [run_report(*args) for _ in range(runs)]  # type: ignore[arg-type]
    return statistics.median(w for w, _ in found), statistics.median(c for _, c in found)


def draw_seconds(page: Path) -> float | None:
    """Seconds from opening the page in headless Chromium until every chart is drawn."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    times = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for _ in range(3):
            tab = browser.new_page(viewport={"width": 1300, "height": 1000})
            tab.goto(page.as_uri())
            tab.wait_for_selector("body[data-ready='yes']", timeout=120_000)
            times.append(float(tab.evaluate("performance.now()")) / 1000)
            tab.close()
        browser.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minireg-bench-report-") as tmp:
        cache = Path(tmp) / "cache"
        env = {**os.environ, "XDG_CACHE_HOME": str(cache), "MINIREG_ACTOR": "bench"}
        for size in (int(s) for s in args.sizes.split(",")):
            root = Path(tmp) / f"r{size}" / "registry"
            root.parent.mkdir()
            events = build_registry(root, size)
            out = Path(tmp) / f"report-{size}.html"
            first, _ = run_report(root, out, env)
            wall, cpu = median_run(args.runs, root, out, env)
            quick_wall, quick_cpu = median_run(args.runs, root, out, env, "--no-verify")
            mb = out.stat().st_size / 1e6
            target = f" (target <= {TARGET_S:.0f} s)" if size == 10_000 else ""
            print(
                f"{size:>6} versions, {events:>6} events: page {mb:.2f} MB{target}\n"
                f"{'':>8}report {wall:.2f} s ({cpu:.2f} s CPU), "
                f"--no-verify {quick_wall:.2f} s ({quick_cpu:.2f} s CPU); "
                f"first run {first:.2f} s (builds the cached JavaScript bundle)",
                flush=True,
            )
            drawn = draw_seconds(out)
            if drawn is not None:
                print(f"{'':>8}drawn in headless Chromium in {drawn:.2f} s (median)", flush=True)


if __name__ == "__main__":
    main()
