"""The one canonical JSON form that feeds every hash (events and manifests)."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Return ``value`` as canonical JSON bytes: sorted keys, compact, UTF-8, no NaN.

    Raises:
        ValueError: ``value`` holds NaN or infinity, which JSON cannot carry.
    """
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Return the hex sha256 digest of ``data``."""
    return hashlib.sha256(data).hexdigest()
