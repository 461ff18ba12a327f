"""An S3 API server for tests and benchmarks: moto's server mode on 127.0.0.1, no pytest.

``python -m moto.server`` runs as a real subprocess on a free loopback port, in
its own process group; the real s3fs/botocore client reaches it through
``AWS_ENDPOINT_URL`` with the fake :data:`CREDENTIALS`. The test fixtures
(:mod:`tests.support.remotes`) and ``bench/bench_remote.py`` both start it here.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing-key-id",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-do-not-print",
    "AWS_DEFAULT_REGION": "us-east-1",
    # An unreachable server is reported after two tries, not after botocore's five.
    "AWS_MAX_ATTEMPTS": "2",
    "AWS_RETRY_MODE": "standard",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MotoServer:
    """``python -m moto.server`` on 127.0.0.1:``port``, in its own process group."""

    folder: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        with open(self.folder / f"moto-{self.port}.log", "ab") as log:  # the child keeps it
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited: {self.log()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"moto server did not answer: {self.log()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGKILL: as a crash would); its in-memory buckets are gone."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self.proc = None

    def log(self) -> str:
        path = self.folder / f"moto-{self.port}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self) -> Any:
        """A boto3 S3 client for this server (for the test's own checks)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        )

    def bucket(self) -> str:
        """A new, empty bucket."""
        name = f"minireg-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name
