"""Shared setup for the spreadsheet tests: registries filled through the real API."""

from __future__ import annotations

import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import minireg

T0 = datetime(2024, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
REQS = b"numpy==1.26.0\npandas==2.1.0\n"
# Text a spreadsheet would run as a formula if it were stored as one.
DANGEROUS = [
    "=1+1",
    "+1",
    "-1",
    "@SUM(1)",
    "\tleading tab",
    '=HYPERLINK("http://127.0.0.1/x","y")',
]


def at(minutes: int) -> datetime:
    """A fixed moment, ``minutes`` after T0."""
    return T0 + timedelta(minutes=minutes)


def add(
    reg: minireg.Registry,
    model: str,
    artifact: Path,
    minute: int,
    *,
    metrics: dict[str, float] | None = None,
    params: dict[str, object] | None = None,
    tags: dict[str, str] | None = None,
    description: str = "",
    requirements: bytes = REQS,
    data: Path | None = None,
) -> int:
    """Register a version with a fixed clock and actor; return its number."""
    rec = reg.register(
        model,
        artifact,
        metrics=metrics or {},
        params=params or {},
        tags=tags or {},
        description=description,
        requirements=requirements,
        data=data,
        training_date="2024-02-28",
        actor="ds@corp",
        now=at(minute),
    )
    return rec.version


def sheet_xml(path: Path) -> dict[str, str]:
    """The XML of every worksheet inside a workbook file."""
    with zipfile.ZipFile(path) as archive:
        return {
            name: archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if name.startswith("xl/worksheets/") and name.endswith(".xml")
        }


def has_formula(xml: str) -> bool:
    """True when sheet XML holds a formula element."""
    return "<f>" in xml or "<f " in xml or "<f/>" in xml
