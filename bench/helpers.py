"""Shared by the benchmarks that time fresh ``minireg`` processes on registries built from events.

``minireg_cmd`` is the command a user runs; ``small_artifact_registry`` and
``register_data`` are what ``bench_cli.py`` and ``bench_report.py`` build their
registries from: chained ``register`` events of one small stored artifact,
written straight to ``events.jsonl`` then rebuilt. Standard library only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from minireg.service.registry import Registry, init_registry


def minireg_cmd() -> list[str]:
    """The command a user runs: the console script if installed next to this Python."""
    script = Path(sys.executable).with_name("minireg")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "minireg"]


def small_artifact_registry(root: Path) -> tuple[Registry, str]:
    """A new registry at ``root`` and the sha256 of the one small artifact its versions share."""
    reg = init_registry(root)
    artifact = reg.storage.put_object(b"a small model, stored once and shared by every version\n")
    return reg, artifact


def register_data(n: int, artifact: str, **more: Any) -> dict[str, Any]:
    """The data of a ``register`` event for version ``n`` of ``artifact`` (55 bytes, joblib),
    with ``more`` (``created_at``, ``metrics``, ``params``, ...) added or replacing."""
    return {
        "registered_by": "bench@example.com",
        "git_commit": f"{n:040x}",
        "git_branch": "main",
        "git_dirty": False,
        "training_date": "2024-01-01T00:00:00.000000Z",
        "data_sha256": f"{n:064x}",
        "artifact": "model.joblib",
        "artifact_sha256": artifact,
        "artifact_bytes": 55,
        "flavor": "joblib",
        "description": f"nightly retrain {n}",
        "tags": {"team": "growth"},
        **more,
    }
