"""The hooks commands, bad hook settings at the command line, the README's receiver, and the
cost of hooks for the hot commands (nothing is imported when none is configured)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import minireg
from tests.conftest import ROOT, run_cli, run_proc, tree_digest
from tests.support.webhooks import add_hooks, receiver

SECRET = "cli-secret-7d2a"


def test_a_bad_hook_table_exits_2_with_one_sentence_and_writes_nothing(
    reg: minireg.Registry, repo: Path, artifact: Path
) -> None:
    reg.register("churn", artifact, actor="me")
    settings = reg.root / "minireg.toml"
    settings.write_text(
        settings.read_text() + '\n[[hooks.after]]\non = ["transition"]\ncommand = "./deploy.sh"\n'
    )
    before = tree_digest(reg.root)
    for args in (("promote", "churn", "1", "--to", "Staging"), ("hooks", "run"), ("list",)):
        out = run_proc(*args, "-r", str(reg.root), cwd=repo)
        assert (out.returncode, out.stdout) == (2, ""), args
        assert out.stderr == (
            'error: minireg.toml: [[hooks.after]] #1: command must be a list such as ["python", '
            '"notify.py"] (it runs without a shell).\n'
        )
    assert tree_digest(reg.root) == before


def test_hooks_test_sends_a_marked_sample_to_every_hook(
    reg: minireg.Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINIREG_WEBHOOK_SECRET", SECRET)
    empty = run_cli("hooks", "test", "register", "-r", str(reg.root))
    assert (empty.exit_code, empty.stderr) == (
        0,
        "No [[hooks.after]] in minireg.toml; nothing to test.\n",
    )
    with receiver() as server:
        # Filters do not apply to a test: the sample goes to every hook.
        reg = add_hooks(
            reg,
            f'[[hooks.after]]\non = ["alias"]\nmodels = ["fraud"]\nurl = "{server.url}"\n'
            'secret_env = "MINIREG_WEBHOOK_SECRET"\n',
        )
        out = run_cli("hooks", "test", "transition", "--json", "-r", str(reg.root))
    assert out.exit_code == 0, out.stderr
    (got,) = server.received
    body = got.json
    assert (body["type"], body["test"], body["data"]["to_stage"]) == (
        "model_version.transitioned",
        True,
        "Production",
    )
    assert body["idempotency_key"].startswith("test-")
    minireg.verify_signature(SECRET, got.headers, got.body)
    assert json.loads(out.stdout)["delivered"] == 1
    bad = run_cli("hooks", "test", "model_version.exploded", "-r", str(reg.root))
    assert bad.exit_code == 2
    assert bad.stderr.startswith(
        "error: 'model_version.exploded' is not an event type; use one of model_version.created,"
    )


def test_verify_signature_checks_a_received_webhook(
    reg: minireg.Registry, artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINIREG_WEBHOOK_SECRET", SECRET)
    with receiver() as server:
        reg = add_hooks(
            reg,
            f'[[hooks.after]]\non = ["register"]\nurl = "{server.url}"\n'
            'secret_env = "MINIREG_WEBHOOK_SECRET"\n',
        )
        reg.register("churn", artifact, actor="me")
    (got,) = server.received
    body = tmp_path / "body.json"
    body.write_bytes(got.body)
    args = [
        "hooks", "verify-signature", str(body), "--id", got.headers["webhook-id"],
        "--timestamp", got.headers["webhook-timestamp"],
        "--signature", got.headers["webhook-signature"],
    ]  # fmt: skip
    good = run_proc(*args)
    assert (good.returncode, good.stderr) == (0, "OK: the signature checks out.\n")
    from_stdin = subprocess.run(
        [sys.executable, "-m", "minireg", *args[:2], "-", *args[3:]],
        input=got.body, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert from_stdin.returncode == 0, from_stdin.stderr
    wrong = run_proc(*args, env={"MINIREG_WEBHOOK_SECRET": "not it"})
    assert (wrong.returncode, wrong.stderr) == (
        6,
        "error: The webhook-signature does not match: a wrong secret, or the body, webhook-id "
        "or webhook-timestamp changed on the way.\n",
    )
    body.write_bytes(got.body.replace(b"churn", b"churm"))
    assert run_proc(*args).returncode == 6
    unset = run_proc(*args, "--secret-env", "NO_SUCH_SECRET_VARIABLE")
    assert unset.returncode == 2
    assert "NO_SUCH_SECRET_VARIABLE is not set" in unset.stderr


def _readme_receiver() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("**Receiving a webhook**", 1)[1]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_readme_receiver_accepts_a_signed_delivery_and_refuses_a_forged_one(
    reg: minireg.Registry, artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = _readme_receiver()
    assert len([line for line in code.splitlines() if line.strip()]) <= 12
    port = _free_port()
    script = tmp_path / "receiver.py"
    script.write_text(code.replace("8080", str(port)))
    server = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "MINIREG_WEBHOOK_SECRET": SECRET},
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        reg = add_hooks(
            reg,
            f'[[hooks.after]]\non = ["register"]\nurl = "http://127.0.0.1:{port}/"\n'
            'secret_env = "MINIREG_WEBHOOK_SECRET"\nretries = 0\n',
        )
        monkeypatch.setenv("MINIREG_WEBHOOK_SECRET", SECRET)
        with reg.delivering() as sent:
            reg.register("churn", artifact, actor="me")
        monkeypatch.setenv("MINIREG_WEBHOOK_SECRET", "a forger's guess")
        with reg.delivering() as forged:
            reg.register("churn", artifact, actor="me")
    finally:
        server.terminate()
        stdout, _ = server.communicate(timeout=30)
    assert [(d.ok, d.detail) for d in sent] == [(True, "HTTP 204")]
    assert [(d.ok, d.detail) for d in forged] == [(False, "HTTP 401 Unauthorized")]
    assert stdout.splitlines() == ["minireg: churn v1 registered by me", "refused: bad signature"]


WATCH = (
    "urllib.request",
    "http.client",
    "minireg.domain.hook_settings",
    "minireg.service.hooks",
    "minireg.adapters.webhook",
)
PROBE = """
import json, sys
from minireg.cli import main
code = main(sys.argv[2:])
json.dump(sorted(m for m in sys.modules if m in {watch!r}), open(sys.argv[1], "w"))
sys.exit(code)
"""


def _loaded(tmp_path: Path, cwd: Path, *args: str) -> list[str]:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE.format(watch=set(WATCH)))
    out = subprocess.run(
        [sys.executable, str(probe), str(tmp_path / "loaded.json"), *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return list(json.loads((tmp_path / "loaded.json").read_text()))


def test_hot_commands_import_no_hook_machinery_unless_hooks_are_configured(
    reg: minireg.Registry, repo: Path, artifact: Path, tmp_path: Path
) -> None:
    reg.register("churn", artifact, actor="me")
    r = str(reg.root)
    assert _loaded(tmp_path, repo, "promote", "churn", "1", "--to", "Staging", "-r", r) == []
    assert _loaded(tmp_path, repo, "register", "churn", str(artifact), "-r", r) == []
    reg = add_hooks(reg, '[[hooks.after]]\non = ["tag"]\ncommand = ["true"]\n')
    # A command hook needs no HTTP client.
    assert _loaded(tmp_path, repo, "tag", "churn", "1", "a=b", "-r", r) == [
        "minireg.domain.hook_settings",
        "minireg.service.hooks",
    ]
    add_hooks(reg, '[[hooks.after]]\non = ["tag"]\nurl = "http://127.0.0.1:9/"\ntimeout = 0.2\n')
    loaded = _loaded(tmp_path, repo, "tag", "churn", "1", "a=c", "-r", r)
    assert {"urllib.request", "minireg.adapters.webhook"} <= set(loaded)


def test_hooks_help_lists_the_three_commands() -> None:
    out = run_cli("hooks", "--help")
    assert out.exit_code == 0
    assert re.findall(r"^  (run|test|verify-signature) ", out.stdout, re.MULTILINE) == [
        "run",
        "test",
        "verify-signature",
    ]
