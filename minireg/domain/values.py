"""Turning user input (k=v pairs, JSON files, dates) into checked values. Shared by CLI and API."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from minireg.domain.names import check_key, check_text
from minireg.errors import InvalidInput


def split_pair(kind: str, text: str) -> tuple[str, str]:
    """Split ``key=value``; raises InvalidInput naming the bad pair."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise InvalidInput(f"{kind.capitalize()} {text!r} is not of the form key=value.")
    return key.strip(), value


def as_metric(key: str, value: Any) -> float:
    """A metric value as a finite float; raises InvalidInput otherwise."""
    if isinstance(value, bool):
        raise InvalidInput(f"Metric {key!r} is {value!r}; metrics must be numbers.")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"Metric {key!r} is {value!r}; metrics must be numbers.") from exc
    if not math.isfinite(number):
        raise InvalidInput(f"Metric {key!r} is {value!r}; metrics must be finite numbers.")
    return number


def as_param(key: str, value: Any) -> str:
    """A param value as text, as MLflow stores params (JSON for lists and tables)."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool) or value is None:
        text = json.dumps(value)
    elif isinstance(value, (int, float)):
        text = repr(value) if isinstance(value, float) else str(value)
    else:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return check_text(f"param {key!r}", text)


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


def metrics_from(
    pairs: Iterable[str] = (), file: Path | None = None, given: Mapping[str, Any] | None = None
) -> dict[str, float]:
    """Metrics from a JSON file, a mapping and ``k=v`` pairs (later ones win)."""
    raw: dict[str, Any] = {}
    if file is not None:
        raw.update(read_json_mapping("metrics", file))
    raw.update(given or {})
    for pair in pairs:
        key, value = split_pair("metric", pair)
        raw[key] = value
    return {check_key("metric", str(k)): as_metric(str(k), v) for k, v in raw.items()}


def params_from(
    pairs: Iterable[str] = (), file: Path | None = None, given: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Params from a JSON file, a mapping and ``k=v`` pairs (later ones win)."""
    raw: dict[str, Any] = {}
    if file is not None:
        raw.update(read_json_mapping("params", file))
    raw.update(given or {})
    for pair in pairs:
        key, value = split_pair("param", pair)
        raw[key] = value
    return {check_key("param", str(k)): as_param(str(k), v) for k, v in raw.items()}


def tags_from(pairs: Iterable[str] = (), given: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Tags from a mapping and ``k=v`` pairs; values are one-line text."""
    raw: dict[str, Any] = dict(given or {})
    for pair in pairs:
        key, value = split_pair("tag", pair)
        raw[key] = value
    return {check_key("tag", str(k)): check_text(f"tag {k!r}", str(v)) for k, v in raw.items()}


def utc_text(moment: datetime) -> str:
    """A moment as UTC ISO 8601 with microseconds and a ``Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_moment(text: str, what: str = "date") -> datetime:
    """Parse an ISO 8601 date or date-time; naive values are taken as UTC."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(
            f"The {what} {text!r} is not an ISO 8601 date or time (for example 2024-03-01 or "
            "2024-03-01T12:00:00Z)."
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def parse_version(text: str | int) -> int:
    """A version number (a positive integer); raises InvalidInput otherwise."""
    if isinstance(text, int) and not isinstance(text, bool):
        number = text
    else:
        raw = str(text).strip()
        if raw.lower().startswith("v"):
            raw = raw[1:]
        if not raw.isdigit():
            raise InvalidInput(f"Version {text!r} is not a positive whole number.")
        number = int(raw)
    if number < 1:
        raise InvalidInput(f"Version {text!r} is not a positive whole number.")
    return number
