"""Checks for names and free text, applied once when a record is built."""

from __future__ import annotations

import re

from minireg.errors import InvalidInput

# Matched with fullmatch: a pattern's `$` also matches before a final newline.
_MODEL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_KEY_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/ ]{0,249}")
_ALIAS_RE = re.compile(r"[A-Za-z0-9_-]{1,255}")
_RESERVED_ALIAS_RE = re.compile(r"latest|v\d+", re.IGNORECASE)
# C0 and C1 control characters (tab, newline, carriage return, NUL, ESC, NEL…) and the
# Unicode line and paragraph separators: each would split or hide part of a ledger line.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_model_name(name: str) -> str:
    """Return ``name`` if it is a valid model name, else raise InvalidInput.

    A model name starts with a letter or digit and holds letters, digits,
    ``_``, ``.`` and ``-`` (no ``/``, no ``..``, no spaces or control characters),
    so it is safe in a URI, a path and a spreadsheet cell.
    """
    if not _MODEL_RE.fullmatch(name) or ".." in name:
        raise InvalidInput(
            f"Model name {name!r} is not valid; use letters, digits, '_', '.' and '-', "
            "starting with a letter or digit (no '/', '..', spaces or control characters)."
        )
    return name


def check_key(kind: str, key: str) -> str:
    """Return a metric, param or tag key if valid, else raise InvalidInput."""
    if not _KEY_RE.fullmatch(key) or key != key.strip():
        raise InvalidInput(
            f"{kind.capitalize()} name {key!r} is not valid; use letters, digits, '_', '.', '-', "
            "'/' and spaces, starting with a letter, digit or '_'."
        )
    return key


def check_alias(alias: str) -> str:
    """Return ``alias`` if it follows MLflow's alias rules, else raise InvalidInput."""
    if not _ALIAS_RE.fullmatch(alias):
        raise InvalidInput(
            f"Alias {alias!r} is not valid; use letters, digits, '_' and '-' (as in MLflow)."
        )
    if _RESERVED_ALIAS_RE.fullmatch(alias):
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


def check_person(field: str, text: str) -> str:
    """Return an actor or approver (an e-mail address, a user name) if it is one clean line.

    Control characters (a newline, a tab, an escape) are refused, so the name
    stays on its ledger line and prints as what it is.
    """
    if _CONTROL_RE.search(text):
        raise InvalidInput(
            f"The {field} {text!r} contains a control character; give it on one plain line."
        )
    return check_text(field, text)


def check_stage_name(name: str, where: str = "") -> str:
    """Return a stage name if it is not blank and has no control character.

    ``where`` prefixes the message (``"minireg.toml: "`` for a configured stage).
    """
    if not name.strip() or _CONTROL_RE.search(name):
        raise InvalidInput(
            f"{where}Stage {name!r} is not valid; a stage name is not blank and has no "
            "control characters."
        )
    return name
