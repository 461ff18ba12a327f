"""Commands added by later features register here or in their own module imported below."""

from __future__ import annotations
