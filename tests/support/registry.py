"""Checks on a registry folder shared by the core storage and CLI tests."""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from minireg.domain.chain import parse_events
from minireg.domain.records import Event
from minireg.storage.files import FileStorage


def assert_objects_sound(root: Path) -> list[Path]:
    """Every object under a final name re-hashes to that name; return leftover temp files."""
    temps: list[Path] = []
    for path in sorted((root / "objects").rglob("*")):
        if not path.is_file():
            continue
        if path.name.startswith(".tmp-"):
            temps.append(path)
            continue
        rel = path.relative_to(root / "objects" / "sha256")
        digest = rel.parts[0] + rel.parts[1]
        assert len(rel.parts) == 2 and len(digest) == 64, f"unexpected object path {path}"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, f"{path} is partial"
    return temps


def ledger_rows(root: Path) -> list[dict[str, str]]:
    """The ledger parsed as CSV; fails unless it is whole (a header, every row full width)."""
    text = (root / "ledger.csv").read_bytes().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows, "ledger.csv is empty"
    header = rows[0]
    assert header[:2] == ["model", "version"], header
    assert text.endswith("\n"), "ledger.csv ends mid-row"
    for row in rows[1:]:
        assert len(row) == len(header), f"torn ledger row: {row}"
    return [dict(zip(header, row)) for row in rows[1:]]


def checked_events(root: Path) -> list[Event]:
    """The events of the registry; fails if the hash chain does not check."""
    lines = FileStorage(root).read_trail().lines
    events, problems = parse_events(lines)
    assert problems == [], problems
    return events


_LOCK_HOLDER = """
import sys
from pathlib import Path
from minireg.storage.lock import registry_lock

with registry_lock(Path(sys.argv[1]), 5):
    print("locked", flush=True)
    sys.stdin.read()
"""


@contextmanager
def lock_held_elsewhere(root: Path) -> Iterator[None]:
    """Another process holds the registry lock of ``root`` for the duration of the block."""
    holder = subprocess.Popen(
        [sys.executable, "-c", _LOCK_HOLDER, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "locked\n"
        yield
    finally:
        holder.communicate("", timeout=30)
