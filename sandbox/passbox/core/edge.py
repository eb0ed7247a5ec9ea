"""The edge: what every HTTP request passes through before and after its route, in one layer.

One pure ASGI middleware, the app's only one (``App``), because each layer costs a few
microseconds on every request and the sandbox has to keep up with a client's test suite. In
order, it:

1. refuses headers over ``limit`` bytes with a 431 in the owning vendor's shape;
2. re-reads the clock from a shared store, so time travel on one worker or replica applies to
   every other at once;
3. works out which vendor and operation the request is (``OperationIndex.classify``);
4. applies fault rules to vendor traffic (latency, errors, 429s, a block page);
5. records vendor traffic in the journal as bounded raw bytes (redacted when read);
6. adds ``X-Content-Type-Options: nosniff`` to every response and a Content-Security-Policy
   (no inline script, no framing) to every HTML page that has none;
7. holds the response until the store has made the request's writes durable, when the store
   commits units of work in groups (``Store.durable``): nothing is acknowledged before it is
   committed;
8. answers an error raised anywhere below with the app's handler for it, as Starlette's
   ExceptionMiddleware and ServerErrorMiddleware would (an unexpected one is answered with
   a 500 and raised again, for the server to log and for tests to see), so error responses
   are secured and journaled like any other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Lifespan, Message, Receive, Scope, Send

from passbox.core.clock import CLOCK, Clock
from passbox.core.clock import SETTING as CLOCK_SETTING
from passbox.core.faults import VERSION, VERSION_SETTING, FaultRenderer, Faults
from passbox.core.journal import BODY_LIMIT, Journal
from passbox.core.operations import OperationIndex
from passbox.core.routing import Router
from passbox.core.store import Store

CONTENT_SECURITY_POLICY = (
    b"default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' http: https: data:; "
    b"connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)
NOSNIFF = (b"x-content-type-options", b"nosniff")
SHARED_SETTINGS = ((CLOCK, CLOCK_SETTING), (VERSION, VERSION_SETTING))
Handler = Callable[[Request, Exception], Awaitable[Response]]


def secure_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with nosniff, and a CSP when they describe an HTML page that has none."""
    has_nosniff = has_csp = is_html = False
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"x-content-type-options":
            has_nosniff = True
        elif lowered == b"content-security-policy":
            has_csp = True
        elif lowered == b"content-type" and value.startswith(b"text/html"):
            is_html = True
    if has_nosniff and (has_csp or not is_html):
        return headers
    headers = list(headers)
    if not has_nosniff:
        headers.append(NOSNIFF)
    if is_html and not has_csp:
        headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY))
    return headers


class Exchange:
    """One request on its way through the edge: whether its response has begun and, when it
    is recorded for the journal, what the journal shows of both bodies. Its ``send`` secures
    the response's headers and waits for durability before the response starts."""

    __slots__ = (
        "_durable",
        "_receive",
        "_send",
        "recording",
        "request_body",
        "request_size",
        "response_body",
        "response_headers",
        "response_size",
        "started",
        "status",
    )

    def __init__(self, receive: Receive, send: Send, durable: Callable[[], Awaitable[None]] | None) -> None:
        self._receive = receive
        self._send = send
        self._durable = durable
        self.recording = False
        self.started = False
        self.status = 500
        self.response_headers: list[tuple[bytes, bytes]] = []
        self.request_body = self.response_body = b""
        self.request_size = self.response_size = 0

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            # Once: when the commit fails, nothing is sent, and the error's answer (sent next)
            # has nothing left to wait for.
            durable, self._durable = self._durable, None
            if durable is not None:
                await durable()
            self.started = True
            headers = message.get("headers", [])
            if self.recording:
                self.status = message["status"]
                self.response_headers = headers
            message = {**message, "headers": secure_headers(headers)}
        elif self.recording and message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            self.response_size += len(chunk)
            if len(self.response_body) < BODY_LIMIT:
                self.response_body += chunk[: BODY_LIMIT - len(self.response_body)]
        await self._send(message)

    async def receive_recorded(self) -> Message:
        """The request's messages, keeping what the journal shows of its body."""
        message = await self._receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            self.request_size += len(chunk)
            if len(self.request_body) < BODY_LIMIT:
                self.request_body += chunk[: BODY_LIMIT - len(self.request_body)]
        return message


class Edge:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        render_431: Callable[[str], Response],
        clock: Clock,
        store: Store,
        index: OperationIndex,
        vendor_for: Callable[[str], str | None],
        journal: Journal,
        faults: Faults,
        render_fault: FaultRenderer,
        handlers: Mapping[type[Exception], Handler],
    ) -> None:
        self.app = app
        self.limit = limit
        self.render_431 = render_431
        self.clock = clock
        self.store = store
        self.shared = store.shared
        self.index = index
        self.vendor_for = vendor_for
        self.journal = journal
        self.faults = faults
        self.render_fault = render_fault
        # Handlers by exception class; the one for Exception answers what nothing else does.
        self.handlers = {cls: handler for cls, handler in handlers.items() if cls is not Exception}
        self.server_error = handlers[Exception]
        # A private store's units of work are done when they return: nothing to wait for.
        self.durable: Callable[[], Awaitable[None]] | None = store.durable if store.shared else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = Exchange(receive, send, self.durable)
        size = 0
        for name, value in scope["headers"]:
            size += len(name) + len(value)
        if size > self.limit:
            await self.render_431(scope["path"])(scope, receive, exchange.send)
            return
        if self.shared:
            # What another worker or replica may have changed, in one read: time travel and
            # whether fault rules exist.
            clock, faults = self.store.get_settings(SHARED_SETTINGS)
            self.clock.take(clock)
            self.faults.seen(faults)
        vendor, operation = self.index.classify(scope, self.vendor_for)
        # The control plane and pages are never faulted or journaled. (The steps are written
        # out here rather than called: every coroutine layer costs each request its share.)
        recording = vendor is not None and self.journal.enabled
        receive_as: Receive = receive
        if recording:
            exchange.recording = True
            receive_as = exchange.receive_recorded
            started = self.clock.monotonic()
            at = self.clock.now()
        try:
            try:
                faulted = None
                if vendor is not None and self.faults.any():
                    names = self.index.spellings(operation.operation_id) if operation else frozenset()
                    faulted = await self.faults.intercept(vendor, names, scope, self.render_fault)
                if faulted is None:
                    await self.app(scope, receive_as, exchange.send)
                else:
                    await faulted(scope, receive_as, exchange.send)
            except Exception as exc:
                await self._answer(exc, scope, receive, exchange)
        finally:
            if recording:
                self.journal.record(
                    scope,
                    size,
                    at=at,
                    vendor=vendor,
                    operation=operation.operation_id if operation else None,
                    status=exchange.status,
                    latency_ms=(self.clock.monotonic() - started) * 1000,
                    request_body=exchange.request_body,
                    request_size=exchange.request_size,
                    response_headers=exchange.response_headers,
                    response_body=exchange.response_body,
                    response_size=exchange.response_size,
                )

    async def _answer(self, exc: Exception, scope: Scope, receive: Receive, exchange: Exchange) -> None:
        """Answer an error raised serving the request with its handler; one with none, with the
        server-error handler (a 500), then raise it again."""
        handler = next((self.handlers[cls] for cls in type(exc).__mro__ if cls in self.handlers), None)
        if handler is None:
            response = await self.server_error(Request(scope, receive), exc)
            if not exchange.started:
                await response(scope, receive, exchange.send)
            raise exc
        if exchange.started:
            raise RuntimeError("Caught handled exception, but response already started.") from exc
        response = await handler(Request(scope, receive), exc)
        await response(scope, receive, exchange.send)
        exc.__traceback__ = None  # an exception instance raised again keeps no old traceback


class App(Starlette):
    """Starlette with its ``middleware`` alone around an indexed router (``core.routing``).

    Starlette adds its ServerErrorMiddleware and ExceptionMiddleware around every app; the
    edge answers errors itself (give it the handlers), so they are left out, and with them two
    more wrappings of every request's ``send``. Pass no ``exception_handlers``: they would
    not be used."""

    def __init__(
        self,
        *,
        routes: list[Any],
        middleware: list[Any],
        lifespan: Lifespan[Any] | None = None,
    ) -> None:
        super().__init__(routes=routes, middleware=middleware, lifespan=lifespan)
        self.router = Router(routes, lifespan=lifespan)

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = self.router.middleware_stack  # what Router.__call__ calls, one call sooner
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return app
