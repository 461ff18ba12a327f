"""Server subprocesses for tests and benchmarks: a free loopback port, started until it answers.

The MLflow server (:mod:`tests.support.mlflow`) and the S3 API server
(:mod:`tests.support.s3server`) both start and stop here: a real subprocess in
its own process group, its output appended to a log file, polled until a URL
answers, stopped by a signal to its whole group. No pytest.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def log_text(path: Path) -> str:
    """What a server wrote to its log so far ("" before it has one)."""
    return path.read_text(errors="replace") if path.exists() else ""


def spawn(argv: list[str], log: Path, cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own process group, stdout and stderr appended to ``log``."""
    with open(log, "ab") as out:  # the child keeps its own copy
        return subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True
        )


def wait_until_answering(
    proc: subprocess.Popen[bytes],
    url: str,
    *,
    what: str,
    log: Path,
    stop: Callable[[], None],
    timeout: float,
    poll: float,
) -> None:
    """Return once ``url`` answers 200; raise RuntimeError (with the log's end) if ``proc``
    exits first, or, after ``stop()``, if nothing answers within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log_text(log)[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(poll)
    stop()
    raise RuntimeError(f"{what} did not answer {url}: {log_text(log)[-2000:]}")


def stop_group(
    proc: subprocess.Popen[bytes], sig: int, wait: float, kill_late: bool = False
) -> None:
    """Send ``sig`` to the process group of ``proc`` (already gone: fine) and wait ``wait``
    seconds for it to end; with ``kill_late``, one still running then gets SIGKILL."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        if not kill_late:
            raise
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=wait)
