"""A uvicorn server on a free loopback port, in a background thread, for tests."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

import uvicorn
from starlette.applications import Starlette

from passbox.server import PROTOCOL


class _Server(uvicorn.Server):
    """uvicorn with a started event, so callers wait on it instead of sleeping."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_in_thread(app: Starlette, log_level: str = "warning") -> tuple[Callable[[], None], str]:
    """Start ``app``; return a function that stops it, and its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level=log_level, lifespan="on", http=PROTOCOL, access_log=False
    )
    server = _Server(config)
    thread = threading.Thread(target=server.run, name="passbox-server", daemon=True)
    thread.start()
    if not server.ready.wait(timeout=30):
        raise RuntimeError("the passbox server did not start")

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=30)

    return stop, f"http://127.0.0.1:{port}"
