"""Webhook hooks from a write, against a real HTTP server on 127.0.0.1; the secret stays secret."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

import minireg
from minireg.adapters.webhook import verify_signature
from minireg.domain.hook_payloads import payload
from tests.conftest import run_proc
from tests.support.registry import checked_events
from tests.support.webhooks import (
    add_hooks,
    closed_port_url,
    python_hook,
    receiver,
    toml_list,
)

SECRET = "pl4in-s3cret-9f1c2e-do-not-leak"


def webhook(reg: minireg.Registry, url: str, extra: str = "") -> minireg.Registry:
    return add_hooks(
        reg,
        f'[[hooks.after]]\non = ["register", "transition"]\nurl = "{url}"\n'
        f'secret_env = "MINIREG_WEBHOOK_SECRET"\n{extra}',
    )


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MINIREG_WEBHOOK_SECRET", SECRET)
    return SECRET


def test_a_registration_is_posted_signed_with_the_event_hash_as_its_id(
    reg: minireg.Registry, repo: Path, artifact: Path, secret: str
) -> None:
    with receiver() as server:
        reg = webhook(reg, server.url)
        out = run_proc("register", "churn", str(artifact), "--json", "-r", str(reg.root), cwd=repo)
        assert out.returncode == 0, out.stderr
    (event,) = checked_events(reg.root)
    (got,) = server.received
    assert got.json == payload(event, event.hash)
    assert got.headers["webhook-id"] == event.hash
    verify_signature(secret, got.headers, got.body)
    with pytest.raises(minireg.IntegrityError):
        verify_signature("not the secret", got.headers, got.body)
    (delivery,) = json.loads(out.stdout)["hooks"]
    assert (delivery["ok"], delivery["detail"], delivery["idempotency_key"]) == (
        True,
        "HTTP 200",
        event.hash,
    )


def test_a_server_failing_twice_gets_the_promotion_once(
    reg: minireg.Registry, repo: Path, artifact: Path, secret: str
) -> None:
    reg.register("churn", artifact, actor="me")
    with receiver(answers=[500, 502, 200]) as server:
        reg = webhook(reg, server.url)
        with reg.delivering() as sent:
            reg.promote("churn", 1, "Staging", actor="me")
    assert [r.status for r in server.received] == [500, 502, 200]
    (landed,) = server.delivered
    assert landed.json["type"] == "model_version.transitioned"
    assert [(d.ok, d.attempts, d.detail) for d in sent] == [(True, 3, "HTTP 200 after 3 attempts")]


def test_an_unreachable_webhook_is_reported_within_its_timeout_and_the_change_stands(
    reg: minireg.Registry, repo: Path, artifact: Path, secret: str
) -> None:
    reg = webhook(reg, closed_port_url(), "timeout = 2\n")
    start = time.monotonic()
    out = run_proc("register", "churn", str(artifact), "-r", str(reg.root), cwd=repo)
    elapsed = time.monotonic() - start
    assert out.returncode == 0, out.stderr
    assert out.stdout == "1\n"
    label = "POST " + closed_port_url().rsplit(":", 1)[0]
    assert out.stderr.startswith(f"warning: hook {label}:")
    assert "failed for model_version.created of churn version 1 (unreachable (" in out.stderr
    assert elapsed < 2 + 6, elapsed  # the hook's budget plus starting Python twice
    assert [e.action for e in checked_events(reg.root)] == ["register"]


def test_without_its_secret_a_signed_webhook_sends_nothing(
    reg: minireg.Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINIREG_WEBHOOK_SECRET", raising=False)
    with receiver() as server:
        reg = webhook(reg, server.url)
        with reg.delivering() as sent:
            reg.register("churn", artifact, actor="me")
    assert server.received == []
    assert [d.detail for d in sent] == [
        "the environment variable MINIREG_WEBHOOK_SECRET (secret_env) is not set; "
        "nothing was sent unsigned"
    ]


def test_url_env_keeps_the_address_out_of_settings_and_messages(
    reg: minireg.Registry, artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with receiver() as server:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", server.url + "/T000/B000/XXXXSECRETPATH")
        reg = add_hooks(reg, '[[hooks.after]]\non = ["register"]\nurl_env = "SLACK_WEBHOOK_URL"\n')
        with reg.delivering() as sent:
            reg.register("churn", artifact, actor="me")
    assert [(d.hook, d.ok) for d in sent] == [("POST $SLACK_WEBHOOK_URL", True)]
    assert server.received[0].json["text"] == "minireg: churn v1 registered by me"
    assert "webhook-signature" not in server.received[0].headers


DUMP = """
import os, sys
with open(sys.argv[1], "ab") as fh:
    fh.write(sys.stdin.buffer.read() + b"\\n" + repr(dict(os.environ)).encode() + b"\\n")
"""


def test_the_secret_never_appears_in_output_logs_files_or_payloads(
    reg: minireg.Registry, repo: Path, artifact: Path, tmp_path: Path, secret: str
) -> None:
    dump = tmp_path / "dump.py"
    dump.write_text(DUMP)
    seen = tmp_path / "command-saw.txt"
    outputs: list[str] = []
    with receiver(answers=[500, 200]) as server:
        reg = webhook(reg, server.url)
        reg = add_hooks(
            reg,
            f'[[hooks.after]]\non = ["register", "transition"]\n'
            f"command = {toml_list([*python_hook(dump), str(seen)])}\n",
        )
        r = str(reg.root)
        for args in (
            ("register", "churn", str(artifact), "--json"),
            ("promote", "churn", "1", "--to", "Staging", "--json"),
            ("hooks", "test", "model_version.transitioned", "--json"),
            ("hooks", "run", "--since", "start", "--json"),
            ("history", "--json"),
        ):
            out = run_proc(*args, "-r", r, cwd=repo)
            assert out.returncode == 0, out.stderr
            outputs += [out.stdout, out.stderr]
    out = run_proc("hooks", "test", "register", "-r", str(reg.root), cwd=repo,
                   env={"MINIREG_WEBHOOK_SECRET": "another one"})  # fmt: skip
    outputs += [out.stdout, out.stderr]
    assert (out.returncode, out.stderr) == (7, "error: 1 of 2 deliveries failed.\n")  # no receiver
    # The receiver got signed requests; none carries the secret itself.
    assert len(server.received) >= 5
    for request in server.received:
        assert SECRET.encode() not in request.body
        assert all(SECRET not in v for v in request.headers.values())
    # Nothing the command hooks saw, and nothing minireg printed or wrote, holds it.
    assert seen.read_bytes().count(b"model_version.") >= 5
    assert SECRET.encode() not in seen.read_bytes()
    assert b"MINIREG_WEBHOOK_SECRET" not in seen.read_bytes()
    assert all(SECRET not in text for text in outputs)
    for path in reg.root.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
