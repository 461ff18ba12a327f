"""Metrics and params given as JSON files (``--metrics m.json``), read and checked."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from minireg.domain import values
from minireg.errors import InvalidInput


def read_json_mapping(kind: str, path: Path) -> dict[str, Any]:
    """Read a JSON object from ``path`` (a metrics or params file)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InvalidInput(f"The {kind} file {path} does not exist.") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"The {kind} file {path} is not readable JSON ({exc}).") from exc
    if not isinstance(raw, dict):
        raise InvalidInput(f"The {kind} file {path} must hold a JSON object of name: value.")
    return raw


def metrics_from(pairs: Iterable[str] = (), file: Path | None = None) -> dict[str, float]:
    """Metrics from a JSON file and ``k=v`` pairs (the pairs win)."""
    given = read_json_mapping("metrics", file) if file is not None else None
    return values.metrics_from(pairs, given)


def params_from(pairs: Iterable[str] = (), file: Path | None = None) -> dict[str, str]:
    """Params from a JSON file and ``k=v`` pairs (the pairs win)."""
    given = read_json_mapping("params", file) if file is not None else None
    return values.params_from(pairs, given)
