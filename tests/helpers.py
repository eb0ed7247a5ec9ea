"""Helpers for tests that need real sockets: a uvicorn server in a thread, a receiver."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from starlette.applications import Starlette

from passbox.testing.server import free_port, serve_in_thread

__all__ = ["Received", "free_port", "live_server", "receiver_server"]


@contextmanager
def live_server(app: Starlette, log_level: str = "warning") -> Iterator[str]:
    """Serve ``app`` with uvicorn (lifespan on) on a free loopback port; yield its base URL."""
    stop, url = serve_in_thread(app, log_level)
    try:
        yield url
    finally:
        stop()


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@contextmanager
def receiver_server(status: int = 200) -> Iterator[tuple[str, queue.Queue[Received]]]:
    """A real HTTP server on a free port recording every request into a queue."""
    inbox: queue.Queue[Received] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            inbox.put(Received(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"received")

        do_GET = do_POST = _record

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="receiver", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", inbox
    finally:
        server.shutdown()
        server.server_close()
