"""Commands of the export_mlflow feature (filled in by its issue)."""

from __future__ import annotations
