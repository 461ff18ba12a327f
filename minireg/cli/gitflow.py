"""Commands of the gitflow feature (filled in by its issue)."""

from __future__ import annotations
