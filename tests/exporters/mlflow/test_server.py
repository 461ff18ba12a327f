"""`minireg export mlflow` through a real `mlflow server`: killed midway, restarted, resumed."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from minireg.errors import RemoteError
from minireg.exporters import export_mlflow
from tests.conftest import run_cli
from tests.support.mlflow import (
    NOLOAD,
    build_registry,
    check_matches,
    client,
    counts,
    empty_database,
    predict_in_fresh_process,
    running_server,
)

pytestmark = [pytest.mark.filterwarnings(NOLOAD), pytest.mark.slow]

SECRET = "pa55-w0rd-never-shown"
MODEL = "churn_predictor"


def files_holding(root: Path, needle: bytes) -> list[str]:
    return [str(p) for p in sorted(root.rglob("*")) if p.is_file() and needle in p.read_bytes()]


def test_server_killed_midway_then_restarted_resumes_to_exactly_once(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    # Fail fast once the server is gone: no retries, short timeouts.
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(key, raising=False)
    reg = build_registry(tmp_path / "repo")
    template = empty_database(tmp_path_factory)
    with running_server(tmp_path / "server", template) as server:
        uri = f"http://alice:{SECRET}@127.0.0.1:{server.port}"

        def kill_after_two(done: int, total: int) -> None:
            if done == 2:
                server.stop(signal.SIGKILL)

        with pytest.raises(RemoteError) as failed:
            export_mlflow(reg, uri, models=[MODEL], progress=kill_after_two)
        message = failed.value.message
        assert failed.value.exit_code == 7
        assert message.startswith(
            f"MLflow at http://***@127.0.0.1:{server.port} failed after 2 of 4 versions "
            "were exported ("
        )
        assert message.endswith("); re-run the same command to resume.")
        assert SECRET not in message and "alice" not in message
        assert "MLFLOW_TRACKING_PASSWORD" not in os.environ

        # While it is down, the command says so and exits 7.
        down = run_cli(
            "export", "mlflow", "--tracking-uri", uri, "--registry", str(reg.root), "-m", MODEL
        )
        assert down.exit_code == 7
        assert down.stderr.startswith(
            f"error: MLflow at http://***@127.0.0.1:{server.port} is unreachable "
            "(ConnectionRefusedError: [Errno 111] Connection refused); "
        )
        assert down.stderr.endswith("nothing was exported: check the tracking URI and re-run.\n")

        server.start()
        c = client(server.uri)
        assert counts(c)[1] == 2
        res = run_cli(
            "export",
            "mlflow",
            "--tracking-uri",
            uri,
            "--registry",
            str(reg.root),
            "--json",
            "-m",
            MODEL,
        )
        assert res.exit_code == 0, res.stderr
        out = json.loads(res.stdout)
        assert out["created"] == 2
        assert out["tracking_uri"] == f"http://***@127.0.0.1:{server.port}"
        assert [v["mlflow_version"] for v in out["versions"]] == [1, 2, 3, 4]
        check_matches(reg, server.uri, tmp_path / "audit", [MODEL])
        assert counts(c) == (4, 4)

        # Once more: nothing new, through the server too.
        again = run_cli(
            "export", "mlflow", "--tracking-uri", uri, "--registry", str(reg.root), "-m", MODEL
        )
        assert again.exit_code == 0, again.stderr
        assert counts(c) == (4, 4)
        assert "0 were created, 0 updated, 4 unchanged" in again.stderr

        fresh = predict_in_fresh_process(server.uri, reg, [MODEL])
        assert fresh["models:/churn_predictor/Production"] is True
        assert fresh["models:/churn_predictor@production"] is True

        # The password never reached any output, log or file.
        for text in (message, down.stdout, down.stderr, res.stdout, res.stderr, again.stdout):
            assert SECRET not in text
        assert SECRET not in again.stderr
        assert files_holding(tmp_path, SECRET.encode()) == []
