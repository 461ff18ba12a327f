"""Webhooks over HTTP with the standard library: Standard Webhooks signing, bounded retries.

A delivery is one POST of a JSON body with the Standard Webhooks headers
(https://www.standardwebhooks.com): ``webhook-id`` (the idempotency key, the
same on every attempt), ``webhook-timestamp`` (Unix seconds, per attempt) and,
when there is a secret, ``webhook-signature: v1,<base64 HMAC-SHA256 of
"id.timestamp.body">``. A secret written as ``whsec_<base64>`` (as Standard
Webhooks libraries generate them) signs with the decoded bytes; any other
secret signs with its UTF-8 bytes (as MLflow's webhooks do).

Bounded: ``timeout`` is the budget of the whole delivery, retries and pauses
included; a connection error, a timeout, 408, 429 or a 5xx answer is retried
(``retries`` times at most, after 0.5 s, 1 s, 2 s, ...), any other answer is
final. Redirects are not followed (a POST must not turn into a GET). Messages
name the status or the error, never the address or the secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from minireg._version import __version__
from minireg.errors import IntegrityError

SIGNATURE_VERSION = "v1"
TOLERANCE = 300.0
"""Seconds a receiver accepts between a message's timestamp and its own clock."""


def signing_key(secret: str) -> bytes:
    """The HMAC key of ``secret``: the decoded bytes of ``whsec_<base64>``, else its UTF-8."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_") :], validate=True)
        except (binascii.Error, ValueError):
            pass  # not base64 after all: the text is the key
    return secret.encode("utf-8")


def sign(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,`` and the base64 HMAC-SHA256 of ``id.ts.body``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    mac = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(mac).decode('ascii')}"


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise IntegrityError(f"The message has no {name} header; it was not sent by a minireg hook.")


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a received webhook: its signature with ``secret``, and that it is recent.

    ``headers`` holds ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``
    (any case); ``body`` is the raw body, byte for byte. ``tolerance`` 0 skips the
    timestamp check.

    Raises:
        IntegrityError: a header is missing, the timestamp is too far from now, or no
            signature matches (a wrong secret, or a changed body, id or timestamp).

    Example:
        >>> verify_signature(os.environ["MINIREG_WEBHOOK_SECRET"], request.headers, body)
    """
    msg_id = _header(headers, "webhook-id")
    stamp = _header(headers, "webhook-timestamp")
    given = _header(headers, "webhook-signature")
    try:
        seconds = int(stamp)
    except ValueError as exc:
        raise IntegrityError(
            f"The webhook-timestamp {stamp!r} is not a Unix time in seconds."
        ) from exc
    drift = abs((time.time() if now is None else now) - seconds)
    if tolerance and drift > tolerance:
        raise IntegrityError(
            f"The webhook-timestamp is {drift:.0f} s away from now, beyond the {tolerance:g} s "
            "tolerance; a delayed or replayed message is refused."
        )
    expected = sign(secret, msg_id, stamp, body)
    if not any(hmac.compare_digest(candidate, expected) for candidate in given.split()):
        raise IntegrityError(
            "The webhook-signature does not match: a wrong secret, or the body, webhook-id "
            "or webhook-timestamp changed on the way."
        )


@dataclass(frozen=True)
class Posted:
    """The outcome of one delivery: whether it landed, after how many attempts, and why not."""

    ok: bool
    attempts: int
    status: int | None
    detail: str


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # urllib then raises HTTPError for the 3xx answer


_opener: urllib.request.OpenerDirector | None = None


def _open(request: urllib.request.Request, timeout: float) -> int:
    global _opener
    if _opener is None:
        _opener = urllib.request.build_opener(_NoRedirects)
    with _opener.open(request, timeout=timeout) as response:
        response.read()
        return int(response.status)


def _attempt(
    url: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int | None, str, bool]:
    """One POST: (status or None, what happened, whether it is worth retrying)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        status = _open(request, timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        retry = exc.code in (408, 429) or exc.code >= 500
        redirect = 300 <= exc.code < 400
        note = "; redirects are not followed, set the final address" if redirect else ""
        return exc.code, f"HTTP {exc.code} {exc.reason}{note}", retry
    except urllib.error.URLError as exc:
        return None, f"unreachable ({exc.reason})", True
    except TimeoutError:
        return None, f"no answer within {timeout:.1f} s", True
    except (OSError, http.client.HTTPException) as exc:
        return None, f"the connection failed ({type(exc).__name__}: {exc})", True
    return status, f"HTTP {status}", False


def post(
    url: str,
    body: bytes,
    *,
    msg_id: str,
    secret: str | None,
    timeout: float,
    retries: int,
    backoff: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Posted:
    """POST ``body`` to ``url``, signed with ``secret`` if given, within ``timeout`` seconds."""
    deadline = clock() + timeout
    attempts = 0
    while True:
        remaining = deadline - clock()
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"minireg/{__version__}",
            "webhook-id": msg_id,
            "webhook-timestamp": stamp,
        }
        if secret is not None:
            headers["webhook-signature"] = sign(secret, msg_id, stamp, body)
        attempts += 1
        status, detail, retry = _attempt(url, body, headers, max(remaining, 0.001))
        if status is not None and 200 <= status < 300:
            return Posted(True, attempts, status, detail)
        pause = backoff * 2 ** (attempts - 1)
        if not retry or attempts > retries:
            return Posted(False, attempts, status, detail)
        if clock() + pause >= deadline:
            return Posted(False, attempts, status, f"{detail}; out of time ({timeout:g} s)")
        sleep(pause)
