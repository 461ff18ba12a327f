"""Commands of the loading feature (filled in by its issue)."""

from __future__ import annotations
