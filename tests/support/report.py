"""A registry with a story to report: three models, promotions, archivals, aliases, hostile text.

Built through the public API with fixed times and actors, so its report is the same
bytes every run. ``HOSTILE`` lists the texts a page must show as text and never run:
each would set ``window.__pwned`` (or open a dialog) if it ever reached the page as markup.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import minireg

START = datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)
SCIENTIST = "data.scientist@example.com"
CI = "ci@example.com"
APPROVER = "alice@example.com"

HOSTILE_DESCRIPTION = "<script>window.__pwned = 'description'</script>\u2028<!-- not a comment"
HOSTILE_TAG = '"><img src=x onerror="window.__pwned=\'tag\'">'
HOSTILE_REASON = (
    '</script><script>window.__pwned=\'reason\'</script> =HYPERLINK("http://evil.example","x")'
)
HOSTILE_APPROVER = "<svg onload=\"alert('approver')\">bob@example.com"
HOSTILE_ACTOR = "'\"><iframe srcdoc=\"<script>parent.__pwned='actor'</script>\"></iframe>"
HOSTILE_PARAM = "javascript:window.__pwned='param'"
HOSTILE = (
    HOSTILE_DESCRIPTION,
    HOSTILE_TAG,
    HOSTILE_REASON,
    HOSTILE_APPROVER,
    HOSTILE_ACTOR,
)
"""Texts that reach the audit table (and tooltips): each must show exactly, as text."""

MODELS = {"churn_predictor": 12, "fraud_detector": 10, "ranker": 8}
"""Each model of the story and its number of versions."""


@dataclass
class Story:
    """What the builder did, counted on its own (not through the report's code)."""

    registry: minireg.Registry
    opened: dict[str, int] = field(default_factory=dict)
    """Per model: promotions into Staging or Production plus alias moves; each opens one bar
    on the timeline and is one mark."""
    versions: dict[str, int] = field(default_factory=dict)
    hostile_promotion: tuple[str, int] = ("", 0)
    """The model and version whose promotion to Production carries the hostile approver."""


class _Clock:
    def __init__(self) -> None:
        self.moment = START

    def tick(self) -> datetime:
        self.moment += timedelta(hours=3)
        return self.moment


def _code_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "training code"]):
        if args[0] == "add":
            (path / "train.py").write_text("print('training')\n")
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)
    return path


def _metrics(model: str, version: int) -> dict[str, float]:
    base = {"churn_predictor": 0.80, "fraud_detector": 0.90, "ranker": 0.70}[model]
    auc = round(base + 0.01 * version - 0.004 * (version % 3), 4)
    found = {"auc_roc": auc, "f1": round(auc - 0.2, 4), "auc_roc.test": round(auc - 0.01, 4)}
    if model == "ranker":
        found["ndcg"] = round(0.5 + 0.02 * version, 4)
    return found


def build_story(root: Path, *, hostile: bool = True) -> Story:
    """Build the story's registry under ``root`` (a fresh folder); count what it did."""
    code = _code_repo(root / "code")
    reg = minireg.init_registry(root / "registry")
    story = Story(registry=reg)
    clock = _Clock()
    for model, count in MODELS.items():
        opened = 0
        for version in range(1, count + 1):
            artifact = root / f"{model}-{version}.joblib"
            artifact.write_bytes(f"{model} model {version}\n".encode())
            reg.register(
                model,
                artifact,
                metrics=_metrics(model, version),
                params={"C": str(version / 10), "note": HOSTILE_PARAM if hostile else "plain"},
                description=f"{model} retrain {version}",
                training_date=(clock.moment - timedelta(days=1)).isoformat(),
                requirements=b"scikit-learn==1.5.0\n",
                code_dir=code,
                actor=SCIENTIST,
                now=clock.tick(),
            )
            if version % 2 == 0:
                reg.promote(model, version, "Staging", reason="passed offline evaluation",
                            actor=CI, now=clock.tick())  # fmt: skip
                opened += 1
            if version % 4 == 0:
                odd = hostile and model == "churn_predictor" and version == 4
                reg.promote(
                    model, version, "Production", archive_existing=True,
                    approver=HOSTILE_APPROVER if odd else APPROVER,
                    reason=HOSTILE_REASON if odd else f"AUC up at version {version}",
                    actor=CI, now=clock.tick(),
                )  # fmt: skip
                reg.set_alias(model, "champion", version, actor=APPROVER, now=clock.tick())
                opened += 2
                if odd:
                    story.hostile_promotion = (model, version)
            if version % 3 == 0:
                reg.set_alias(model, "challenger", version, actor=SCIENTIST, now=clock.tick())
                opened += 1
        story.opened[model] = opened
        story.versions[model] = count
    reg.promote("churn_predictor", 1, "Archived", reason="retired", actor=CI, now=clock.tick())
    reg.delete_alias("ranker", "challenger", actor=SCIENTIST, now=clock.tick())
    if hostile:
        reg.set_description("churn_predictor", 3, HOSTILE_DESCRIPTION, actor=SCIENTIST,
                            now=clock.tick())  # fmt: skip
        reg.set_tag("churn_predictor", 3, "note", HOSTILE_TAG, actor=HOSTILE_ACTOR,
                    now=clock.tick())  # fmt: skip
    return story


def build_many(root: Path, size: int) -> minireg.Registry:
    """A registry of ``size`` versions of one model, written fast as chained events.

    Every version goes to Staging and stays (so the Staging lane needs more rows than it
    gets), every 5th to Production with the previous holder archived, @champion following.
    """
    from minireg._version import TOOL
    from minireg.domain.records import Draft, Event, chain

    reg = minireg.init_registry(root)
    artifact = reg.storage.put_object(b"one small model shared by every version\n")
    lines: list[str] = []
    head: Event | None = None
    moment = START
    for n in range(1, size + 1):
        body = {"artifact": "m.joblib", "artifact_sha256": artifact, "flavor": "joblib",
                "metrics": {"auc_roc": 0.7 + n / (10 * size)}, "stage": "None"}  # fmt: skip
        drafts = [Draft("register", "many", n, body)]
        drafts.append(Draft("transition", "many", n, {"from": "None", "to": "Staging"}))
        if n % 5 == 0:
            if n > 5:
                old = {"from": "Production", "to": "Archived"}
                drafts.append(Draft("transition", "many", n - 5, old))
            new = {"from": "Staging", "to": "Production"}
            drafts.append(Draft("transition", "many", n, new, approver=APPROVER, reason="up"))
            drafts.append(Draft("alias_set", "many", n, {"alias": "champion", "previous": None}))
        for draft in drafts:
            moment += timedelta(minutes=5)
            when = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            if draft.action == "register":
                draft.data["created_at"] = when
            (head,) = chain([draft], head=head, time=when, actor=CI, tool=TOOL)
            lines.append(head.to_line())
    (root / "events.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    reg.rebuild()
    return reg
