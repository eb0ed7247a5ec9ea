"""Real ``passbox serve`` processes for the persistence tests, and a scriptable webhook receiver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.helpers import free_port

START_TIMEOUT = 60.0


@dataclass
class Served:
    """One ``python -m passbox serve`` process on a free port."""

    process: subprocess.Popen[str]
    url: str
    banner: list[str]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, trust_env=False, timeout=30)

    def kill(self) -> None:
        """``kill -9``: no shutdown, no flush, no goodbye."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._close()

    def _close(self) -> None:
        if self.process.stdout is not None:
            self.process.stdout.close()


def serve(store: str, *args: str, env: dict[str, str] | None = None, seed: int = 1) -> Served:
    """Start passbox on ``store``; returns once its banner says it is listening."""
    port = free_port()
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PASSBOX_")}
    environment.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "passbox", "serve", "--store", store, "--port", str(port), "--seed", str(seed),
         "--log-level", "warning", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )  # fmt: skip
    assert process.stdout is not None
    banner: list[str] = []
    timer = threading.Timer(START_TIMEOUT, process.kill)  # a hung start fails instead of hanging the suite
    timer.start()
    try:
        for line in process.stdout:
            banner.append(line)
            if line.startswith("passbox is running at"):
                break
    finally:
        timer.cancel()
    if not banner or not banner[-1].startswith("passbox is running at"):
        process.kill()
        process.wait(timeout=30)
        raise AssertionError("passbox did not start:\n" + "".join(banner))
    # Drain the rest of its output in the background so the pipe never fills.
    threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
    served = Served(process, f"http://127.0.0.1:{port}", banner)
    with served.client() as client:
        wait_until(lambda: client.get("/health").status_code == 200, "the server to answer /health")
    return served


def wait_until(check: Callable[[], object], what: str, timeout: float = 20.0) -> Any:
    """Poll ``check`` until it returns something truthy: for work another process does on its own
    schedule (a replica's delivery, a lease running out). Fails with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except httpx.TransportError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Delivered:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on a real socket answering from a script: an int is a status, "hang"
    holds the request open until ``release`` is set (a delivery in flight); then ``default``."""

    url: str = ""
    script: list[int | str] = field(default_factory=list)
    default: int = 200
    received: list[Delivered] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)
    release: threading.Event = field(default_factory=threading.Event)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Delivered]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"expected {count} deliveries, got {len(self.received)}")
            return list(self.received)


@contextmanager
def receiver(script: list[int | str] | None = None, default: int = 200) -> Iterator[Receiver]:
    box = Receiver(script=list(script or []), default=default)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with box.arrived:
                box.received.append(Delivered(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                step = box.script.pop(0) if box.script else box.default
                box.arrived.notify_all()
            if step == "hang":
                box.release.wait(timeout=60)
                step = 200
            self.send_response(int(step))
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="receiver", daemon=True)
    thread.start()
    box.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield box
    finally:
        box.release.set()
        server.shutdown()
        server.server_close()
