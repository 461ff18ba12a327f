"""MLflow's size limits, and how the export fits a longer value into them.

Pure, like :mod:`.plan`. MLflow keeps a param value in 6,000 characters and a
run tag in 8,000 (its client cuts longer ones silently), and a model version's
tags and description in 5,000 (a ``VARCHAR(5000)`` in its SQL stores: SQLite
does not enforce it, PostgreSQL and MySQL do). The export never lets MLflow cut:
a longer value is shortened here, the same way every time, and ends in a marker
that says so, how long the whole value is and its sha256. So:

- a reader in MLflow sees that the value goes on, and where: the whole value
  is in the run's ``minireg/audit.json`` (the version's record, untouched);
- a change anywhere in a long value, even past the cut, changes the marker,
  so a re-export sees it; an unchanged long value gives the same shortened
  text, so a re-export finds nothing to do (no endless updates).
"""

from __future__ import annotations

from collections.abc import Mapping

from minireg.domain.canonical import sha256_hex

AUDIT_FILE = "minireg/audit.json"
PARAM_MAX = 6000
"""Characters of a run's param value (MLflow's ``MAX_PARAM_VAL_LENGTH``)."""
RUN_TAG_MAX = 8000
"""Characters of a run tag value (MLflow's ``MAX_TAG_VAL_LENGTH``)."""
VERSION_TAG_MAX = 5000
"""Characters of a model version's tag value (the SQL stores' column)."""
DESCRIPTION_MAX = 5000
"""Characters of a model version's description (the SQL stores' column)."""
TRUNCATED = "minireg.truncated"
"""The tag that lists the fields of a run or a model version that were shortened."""


def marker(text: str) -> str:
    """What ends a shortened ``text``: its whole length, its sha256 and where it is whole."""
    digest = sha256_hex(text.encode("utf-8"))
    return f"…[{len(text)} characters, sha256 {digest[:16]}; whole in {AUDIT_FILE}]"


def fit(text: str, limit: int) -> str:
    """``text`` as it is if it has at most ``limit`` characters, else shortened and marked."""
    if len(text) <= limit:
        return text
    end = marker(text)
    return text[: max(limit - len(end), 0)] + end


def fit_values(
    kind: str, values: Mapping[str, str], limit: int, shortened: list[str]
) -> dict[str, str]:
    """``values`` each fitted to ``limit``; ``kind.key`` of each one shortened is appended."""
    out: dict[str, str] = {}
    for key, value in values.items():
        out[key] = fit(value, limit)
        if len(value) > limit:
            shortened.append(f"{kind}.{key}")
    return out


def mark(fields: list[str], limit: int) -> dict[str, str]:
    """The ``minireg.truncated`` tag for ``fields`` (none when nothing was shortened)."""
    return {TRUNCATED: fit(",".join(sorted(fields)), limit)} if fields else {}
