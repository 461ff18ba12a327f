"""Checks for names and free text, applied once when a record is built."""

from __future__ import annotations

import re

from minireg.errors import InvalidInput

_MODEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-/ ]{0,249}$")
_ALIAS_RE = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_RESERVED_ALIAS_RE = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)


def check_model_name(name: str) -> str:
    """Return ``name`` if it is a valid model name, else raise InvalidInput.

    A model name starts with a letter or digit and holds letters, digits,
    ``_``, ``.`` and ``-`` (no ``/``, no ``..``, no spaces or control characters),
    so it is safe in a URI, a path and a spreadsheet cell.
    """
    if not _MODEL_RE.match(name) or ".." in name:
        raise InvalidInput(
            f"Model name {name!r} is not valid; use letters, digits, '_', '.' and '-', "
            "starting with a letter or digit (no '/', '..', spaces or control characters)."
        )
    return name


def check_key(kind: str, key: str) -> str:
    """Return a metric, param or tag key if valid, else raise InvalidInput."""
    if not _KEY_RE.match(key) or key != key.strip():
        raise InvalidInput(
            f"{kind.capitalize()} name {key!r} is not valid; use letters, digits, '_', '.', '-', "
            "'/' and spaces, starting with a letter, digit or '_'."
        )
    return key


def check_alias(alias: str) -> str:
    """Return ``alias`` if it follows MLflow's alias rules, else raise InvalidInput."""
    if not _ALIAS_RE.match(alias):
        raise InvalidInput(
            f"Alias {alias!r} is not valid; use letters, digits, '_' and '-' (as in MLflow)."
        )
    if _RESERVED_ALIAS_RE.match(alias):
        raise InvalidInput(
            f"Alias {alias!r} is reserved ('latest' and 'v<N>' mean versions); choose another name."
        )
    return alias


def check_text(field: str, text: str) -> str:
    """Return free text (description, reason, tag value) if it fits on one ledger line.

    Text with a newline or NUL is refused so every version stays one CSV line.
    """
    if "\n" in text or "\x00" in text:
        raise InvalidInput(
            f"The {field} contains a newline or NUL character; write it on one line."
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(f"The {field} is not valid Unicode text; check its encoding.") from exc
    return text
