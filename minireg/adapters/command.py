"""Run a hook's command: an argv without a shell, JSON on stdin, a hard time limit.

The command runs in a session of its own, so that when its time is up the
whole group (a script and the programs it started) is killed, not just the
first process: a grandchild holding the output pipes open would otherwise keep
minireg waiting past the limit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Ran:
    """How a command ended: its exit code (None if it never ran or ran out of time)."""

    code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    error: str = ""
    """Why the command could not be started (not found, not executable), else ""."""

    @property
    def ok(self) -> bool:
        return self.code == 0

    def summary(self, timeout: float, *, veto: bool = False) -> str:
        """One line: the error, the timeout, or the last line the command wrote.

        A ``veto`` (a refusing check) is its last line on stderr alone: that is the reason.
        """
        if self.error:
            return self.error
        if self.timed_out:
            return f"timed out after {timeout:g} s and was stopped"
        said = _last_line(self.stderr) or _last_line(self.stdout)
        if self.code == 0:
            return said or "exit 0"
        if veto and _last_line(self.stderr):
            return _last_line(self.stderr)
        return f"exit {self.code}" + (f": {said}" if said else " (nothing on stderr)")


def _last_line(text: str, most: int = 300) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    # A refusal reads best as what the command said last, on one line.
    line = lines[-1]
    return line if len(line) <= most else line[: most - 1] + "…"


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    if hasattr(os, "killpg"):
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        process.kill()


def run_command(
    argv: list[str], stdin: bytes, *, env: dict[str, str], cwd: Path, timeout: float
) -> Ran:
    """Run ``argv`` in ``cwd`` with ``stdin`` and ``env``; stop it after ``timeout`` seconds."""
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        return Ran(None, "", "", error=f"could not be started ({exc.strerror or exc})")
    try:
        out, err = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        out, err = process.communicate()
        return Ran(None, _text(out), _text(err), timed_out=True)
    return Ran(process.returncode, _text(out), _text(err))


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")
