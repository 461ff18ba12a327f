"""``models:/`` URIs, the same forms as MLflow."""

from __future__ import annotations

import re
from dataclasses import dataclass

from minireg.errors import InvalidInput

ACCEPTED_FORMS = "models:/NAME/VERSION, models:/NAME/STAGE, models:/NAME@ALIAS, models:/NAME/latest"

_URI_RE = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<ref>[^/@]+)|@(?P<alias>[^/@]+))$")


@dataclass(frozen=True)
class ModelURI:
    """A parsed URI: exactly one of ``version``, ``stage``, ``alias`` or ``latest`` is set."""

    model: str
    version: int | None = None
    stage: str | None = None
    alias: str | None = None
    latest: bool = False

    def __str__(self) -> str:
        if self.alias is not None:
            return f"models:/{self.model}@{self.alias}"
        if self.version is not None:
            return f"models:/{self.model}/{self.version}"
        if self.latest:
            return f"models:/{self.model}/latest"
        return f"models:/{self.model}/{self.stage}"


def is_uri(text: str) -> bool:
    """True when ``text`` looks like a URI (to be parsed, or refused with the accepted forms).

    Model names hold neither ``:`` nor ``/``, so ``model:/churn/1`` is a mistyped URI.
    """
    return text.startswith("models:") or ":/" in text


def parse_uri(text: str) -> ModelURI:
    """Parse a ``models:/`` URI.

    Raises:
        InvalidInput: the text is not one of the accepted forms (listed in the message).
    """
    match = _URI_RE.match(text)
    if not match:
        raise InvalidInput(f"{text!r} is not a model URI; use one of: {ACCEPTED_FORMS}.")
    name = match["name"]
    if match["alias"] is not None:
        return ModelURI(name, alias=match["alias"])
    ref = match["ref"]
    if ref.isdigit():
        if int(ref) < 1:
            raise InvalidInput(f"{text!r} names version {ref}; versions start at 1.")
        return ModelURI(name, version=int(ref))
    if ref.casefold() == "latest":
        return ModelURI(name, latest=True)
    return ModelURI(name, stage=ref)
