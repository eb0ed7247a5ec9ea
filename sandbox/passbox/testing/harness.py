"""Running a sandbox app in a test: on its own event loop thread, reached by a sync client.

``AppThread`` runs an ASGI app with its lifespan (so webhook deliveries and expiries happen by
themselves) on a private event loop in a daemon thread. ``PortalTransport`` lets an ordinary
synchronous ``httpx.Client`` call it in process, with no socket. ``ClockControl`` moves the
sandbox clock through the control plane, and ``ServerErrors`` gathers sandbox bugs so the test
that caused one can fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import traceback
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette

T = TypeVar("T")


class AppThread:
    def __init__(self, app: Starlette, timeout: float = 30.0) -> None:
        self.app = app
        self.timeout = timeout
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="passbox-app", daemon=True)
        self._thread.start()
        self._lifespan: contextlib.AbstractAsyncContextManager[Any] = app.router.lifespan_context(app)
        self.call(self._lifespan.__aenter__())

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the app's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(self.timeout)

    def close(self) -> None:
        if not self.loop.is_running():
            return
        with contextlib.suppress(Exception):
            self.call(self._lifespan.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(self.timeout)
        self.loop.close()


class PortalTransport(httpx.BaseTransport):
    """A synchronous httpx transport into an app running in an AppThread."""

    def __init__(self, runner: AppThread) -> None:
        self._runner = runner
        self._asgi = httpx.ASGITransport(app=runner.app, raise_app_exceptions=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()

        async def send() -> tuple[int, httpx.Headers, bytes]:
            response = await self._asgi.handle_async_request(request)
            return response.status_code, response.headers, await response.aread()

        status, headers, body = self._runner.call(send())
        return httpx.Response(status, headers=headers, content=body, request=request)


class ClockControl:
    """The sandbox clock, through ``/_sandbox/clock``: ``freeze()``, ``advance("48h")``,
    ``release()``, ``now``. Advancing runs what became due (deliveries, expiries) before it returns."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def _change(self, body: dict[str, str]) -> dict[str, Any]:
        response = self._client.post("/_sandbox/clock", json=body)
        response.raise_for_status()
        state: dict[str, Any] = response.json()
        return state

    def freeze(self) -> dict[str, Any]:
        return self._change({"action": "freeze"})

    def advance(self, by: str) -> dict[str, Any]:
        return self._change({"action": "advance", "by": by})

    def release(self) -> dict[str, Any]:
        return self._change({"action": "release"})

    @property
    def now(self) -> str:
        now: str = self._client.get("/_sandbox/clock").json()["now"]
        return now


class ServerErrors:
    """Unexpected exceptions in a sandbox (bugs): told by ``Settings(on_error=...)``."""

    def __init__(self) -> None:
        self._errors: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        with self._lock:
            self._errors.append(text)

    def take(self) -> list[str]:
        with self._lock:
            taken, self._errors = self._errors, []
        return taken
