"""A note of which events a ledger file shows, so queries can trust it without a fold.

Each ledger write (under the registry lock) records the sha256 of
``events.jsonl`` and of the ledger bytes in ``.cache/ledger.stamp``. A reader
that finds both digests unchanged knows the ledger is exactly the view of
those events and may read it instead of folding every event. A stamp is only
ever a true statement about one pair of files, so a stale one costs a fold,
never a wrong answer. ``.cache/`` is not versioned: a fresh clone folds until
its first write or ``minireg rebuild``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from minireg.storage.atomic import atomic_write

STAMP_NAME = "ledger.stamp"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        return ""
    return digest.hexdigest()


def write_stamp(
    cache: Path,
    events_path: Path,
    ledger_name: str,
    ledger: bytes,
    events_sha256: str | None = None,
) -> None:
    """Record that ``ledger`` (``ledger_name``) is the view of ``events_path`` as it is now.

    ``events_sha256``: the digest of the events the ledger was checked against,
    when they were read earlier (then the file itself is not hashed again).
    """
    cache.mkdir(exist_ok=True)
    body = {
        "events_sha256": events_sha256 or _sha256_file(events_path),
        "ledger": ledger_name,
        "ledger_sha256": hashlib.sha256(ledger).hexdigest(),
    }
    atomic_write(cache / STAMP_NAME, json.dumps(body, sort_keys=True).encode() + b"\n")


def trusted_ledger(cache: Path, events_path: Path, ledger_path: Path) -> bytes | None:
    """The ledger's bytes if the stamp vouches for them against the current events, else None."""
    try:
        stamp = json.loads((cache / STAMP_NAME).read_text(encoding="utf-8"))
        data = ledger_path.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(stamp, dict) or stamp.get("ledger") != ledger_path.name:
        return None
    if stamp.get("ledger_sha256") != hashlib.sha256(data).hexdigest():
        return None
    if stamp.get("events_sha256") != _sha256_file(events_path):
        return None
    return data
