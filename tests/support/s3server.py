"""An S3 API server for tests and benchmarks: moto's server mode on 127.0.0.1, no pytest.

``python -m moto.server`` runs as a real subprocess on a free loopback port, in
its own process group; the real s3fs/botocore client reaches it through
``AWS_ENDPOINT_URL`` with the fake :data:`CREDENTIALS`. The test fixtures
(:mod:`tests.support.remotes`) and ``bench/bench_remote.py`` both start it here.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# free_port: the fixtures and bench/bench_remote.py import it from here.
from tests.support.servers import free_port as free_port
from tests.support.servers import log_text, spawn, stop_group, wait_until_answering

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing-key-id",
    "AWS_SECRET_ACCESS_KEY": "testing-secret-do-not-print",
    "AWS_DEFAULT_REGION": "us-east-1",
    # An unreachable server is reported after two tries, not after botocore's five.
    "AWS_MAX_ATTEMPTS": "2",
    "AWS_RETRY_MODE": "standard",
}


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
        log = self.folder / f"moto-{self.port}.log"
        argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.proc = spawn(argv, log)
        url = f"{self.endpoint}/moto-api/"
        wait_until_answering(
            self.proc, url, what="moto server", log=log, stop=self.stop, timeout=timeout, poll=0.1
        )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the server (SIGKILL: as a crash would); its in-memory buckets are gone."""
        if self.proc is None:
            return
        stop_group(self.proc, sig, wait=30)
        self.proc = None

    def log(self) -> str:
        return log_text(self.folder / f"moto-{self.port}.log")

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
