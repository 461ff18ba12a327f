"""A real HTTP receiver on 127.0.0.1 for webhook tests, and registries with hooks configured."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import minireg


@dataclass
class Received:
    """One request the receiver got: its headers (lower-case names) and raw body."""

    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A running receiver: its URL, what it answers (in turn), and what it received."""

    url: str
    answers: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            return self.answers.pop(0) if self.answers else 200

    @property
    def delivered(self) -> list[Received]:
        """The requests answered with a 2xx: the deliveries that landed."""
        return [r for r in self.received if 200 <= r.status < 300]


@contextmanager
def receiver(answers: list[int] | None = None) -> Iterator[Receiver]:
    """An HTTP server in a thread that records every POST and answers ``answers`` in turn."""
    state = Receiver(url="", answers=list(answers or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            status = state.answer()
            headers = {k.lower(): v for k, v in self.headers.items()}
            with state.lock:
                state.received.append(Received(headers, body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/minireg"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def silent_server() -> Iterator[str]:
    """A URL whose server accepts connections and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/silent"
    finally:
        sock.close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/nobody"


def toml_list(items: list[str]) -> str:
    """A TOML array of strings (JSON's string escapes are TOML's basic strings)."""
    return "[" + ", ".join(json.dumps(item) for item in items) + "]"


def add_hooks(reg: minireg.Registry, text: str) -> minireg.Registry:
    """Append hook tables to the registry's minireg.toml and open it again."""
    path = reg.root / "minireg.toml"
    path.write_text(path.read_text() + "\n" + text)
    return minireg.open_registry(reg.root)


def python_hook(script: Path) -> list[str]:
    """The argv of a command hook that runs ``script`` with this interpreter."""
    return [sys.executable, str(script)]
