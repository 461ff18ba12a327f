"""Webhook deliveries against a real HTTP server on 127.0.0.1: signing, retries, time bounds."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from minireg.adapters.webhook import post, sign, verify_signature
from minireg.errors import IntegrityError
from tests.support.webhooks import closed_port_url, receiver, silent_server

SECRET = "s3cr3t-value-for-tests"
BODY = b'{"type": "model_version.created"}'


def test_the_signature_is_standard_webhooks_v1() -> None:
    mac = hmac.new(SECRET.encode(), b"msg_1.1700000000." + BODY, hashlib.sha256).digest()
    assert sign(SECRET, "msg_1", "1700000000", BODY) == "v1," + base64.b64encode(mac).decode()
    # A whsec_ secret (as Standard Webhooks libraries make them) signs with its decoded bytes.
    key = b"\x01\x02raw key bytes"
    whsec = "whsec_" + base64.b64encode(key).decode()
    mac = hmac.new(key, b"msg_1.1700000000." + BODY, hashlib.sha256).digest()
    assert sign(whsec, "msg_1", "1700000000", BODY) == "v1," + base64.b64encode(mac).decode()


def test_a_delivery_verifies_with_the_secret_and_not_with_another() -> None:
    with receiver() as server:
        sent = post(server.url, BODY, msg_id="abc123", secret=SECRET, timeout=5, retries=0)
    assert (sent.ok, sent.attempts, sent.status) == (True, 1, 200)
    (got,) = server.received
    assert got.body == BODY
    assert got.headers["webhook-id"] == "abc123"
    assert got.headers["content-type"] == "application/json"
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    verify_signature(SECRET, got.headers, got.body)
    with pytest.raises(IntegrityError, match="does not match: a wrong secret"):
        verify_signature("another secret", got.headers, got.body)
    with pytest.raises(IntegrityError, match="does not match"):
        verify_signature(SECRET, got.headers, got.body + b" ")
    late = time.time() + 301
    with pytest.raises(IntegrityError, match="beyond the 300 s tolerance"):
        verify_signature(SECRET, got.headers, got.body, now=late)
    verify_signature(SECRET, got.headers, got.body, now=late, tolerance=0)
    with pytest.raises(IntegrityError, match="no webhook-signature header"):
        verify_signature(SECRET, {"webhook-id": "a", "webhook-timestamp": "1"}, got.body)


def test_no_secret_sends_no_signature() -> None:
    with receiver() as server:
        assert post(server.url, BODY, msg_id="a", secret=None, timeout=5, retries=0).ok
    assert "webhook-signature" not in server.received[0].headers


def test_a_server_failing_twice_gets_the_event_once_it_answers() -> None:
    with receiver(answers=[500, 503, 200]) as server:
        sent = post(server.url, BODY, msg_id="e1", secret=SECRET, timeout=10, retries=3)
    assert (sent.ok, sent.attempts) == (True, 3)
    assert [r.status for r in server.received] == [500, 503, 200]
    assert len(server.delivered) == 1
    # The same message id on every attempt (the receiver's idempotency key), signed each time.
    assert {r.headers["webhook-id"] for r in server.received} == {"e1"}
    for request in server.received:
        verify_signature(SECRET, request.headers, request.body)


def test_retries_are_bounded_and_a_client_error_is_final() -> None:
    with receiver(answers=[500] * 10) as server:
        sent = post(server.url, BODY, msg_id="a", secret=None, timeout=10, retries=2, backoff=0.01)
    assert (sent.ok, sent.attempts, sent.detail) == (False, 3, "HTTP 500 Internal Server Error")
    assert len(server.received) == 3
    with receiver(answers=[404, 200]) as server:
        sent = post(server.url, BODY, msg_id="a", secret=None, timeout=10, retries=3)
    assert (sent.ok, sent.attempts, sent.detail) == (False, 1, "HTTP 404 Not Found")
    with receiver(answers=[302]) as server:
        sent = post(server.url, BODY, msg_id="a", secret=None, timeout=10, retries=3)
    assert not sent.ok and "redirects are not followed" in sent.detail


def test_an_unreachable_endpoint_is_reported_within_the_timeout() -> None:
    start = time.monotonic()
    sent = post(closed_port_url(), BODY, msg_id="a", secret=SECRET, timeout=2, retries=5)
    elapsed = time.monotonic() - start
    assert not sent.ok and sent.detail.startswith("unreachable (")
    assert "Connection refused" in sent.detail
    assert elapsed < 2.5
    assert sent.attempts >= 2  # it retried within its budget


def test_a_server_that_never_answers_is_reported_within_the_timeout() -> None:
    with silent_server() as url:
        start = time.monotonic()
        sent = post(url, BODY, msg_id="a", secret=None, timeout=1.5, retries=3)
        elapsed = time.monotonic() - start
    assert not sent.ok
    assert elapsed < 2.5, elapsed
    assert "no answer" in sent.detail or "timed out" in sent.detail
    assert "127.0.0.1" not in sent.detail  # messages never name the address
