"""The audit trail as a git commit had it: where ``minireg hooks run --since COMMIT`` starts.

A CI job that runs on every push knows the commit it was at before (GitHub's
``github.event.before``); the events after that commit's last event are the
ones the push brought. Runs the git CLI (no GitPython), like
:mod:`minireg.adapters.git.info`.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from minireg.domain.records import GENESIS
from minireg.errors import InvalidInput


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise InvalidInput(f"git is not usable here ({exc}).") from exc


def head_at(root: Path, revision: str, events_name: str) -> str | None:
    """The hash of the last event in ``events_name`` at commit ``revision``.

    GENESIS when the commit has no such file (or an empty one): every event is
    newer. None when ``revision`` names no commit here.

    Raises:
        InvalidInput: git is missing, or the file at that commit holds no event last.
    """
    if revision.startswith("-"):
        return None
    found = _git(root, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if found.returncode != 0:
        return None
    commit = found.stdout.strip()
    shown = _git(root, "show", f"{commit}:./{events_name}")
    if shown.returncode != 0:
        return GENESIS  # the registry had no events at that commit
    lines = [line for line in shown.stdout.splitlines() if line.strip()]
    if not lines:
        return GENESIS
    try:
        return str(json.loads(lines[-1])["hash"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            f"The last line of {events_name} at commit {commit[:12]} is not an event; "
            "give an event hash to --since instead."
        ) from exc
