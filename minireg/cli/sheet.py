"""Commands of the sheet feature (filled in by its issue)."""

from __future__ import annotations
