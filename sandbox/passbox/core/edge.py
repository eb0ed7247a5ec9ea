"""The edge: what every HTTP request passes through before and after its route, in one layer.

One pure ASGI middleware, because each layer costs a few microseconds on every request and
the sandbox has to keep up with a client's test suite. In order, it:

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
   committed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passbox.core.clock import CLOCK, Clock
from passbox.core.clock import SETTING as CLOCK_SETTING
from passbox.core.faults import VERSION, VERSION_SETTING, FaultRenderer, Faults
from passbox.core.journal import BODY_LIMIT, FAULT, TENANT, Journal
from passbox.core.operations import Operation, OperationIndex
from passbox.core.store import Store

CONTENT_SECURITY_POLICY = (
    b"default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' http: https: data:; "
    b"connect-src 'self'; base-uri 'none'; frame-ancestors 'none'"
)
NOSNIFF = (b"x-content-type-options", b"nosniff")
SHARED_SETTINGS = ((CLOCK, CLOCK_SETTING), (VERSION, VERSION_SETTING))


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
        # A private store's units of work are done when they return: nothing to wait for.
        self.durable: Callable[[], Awaitable[None]] | None = store.durable if store.shared else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        durable = self.durable

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                if durable is not None:
                    await durable()
                message = {**message, "headers": secure_headers(message.get("headers", []))}
            await send(message)

        if sum(len(name) + len(value) for name, value in headers) > self.limit:
            await self.render_431(scope["path"])(scope, receive, send_secured)
            return
        if self.shared:
            # What another worker or replica may have changed, in one read: time travel and
            # whether fault rules exist.
            clock, faults = self.store.get_settings(SHARED_SETTINGS)
            self.clock.take(clock)
            self.faults.seen(faults)
        vendor, operation = self.index.classify(scope, self.vendor_for)
        if vendor is None:
            await self.app(scope, receive, send_secured)  # the control plane and pages: never faulted or journaled
            return
        if not self.journal.enabled:
            await self._route(scope, receive, send_secured, vendor, operation)
            return
        await self._journaled(scope, receive, send_secured, vendor, operation)

    async def _route(
        self, scope: Scope, receive: Receive, send: Send, vendor: str, operation: Operation | None
    ) -> None:
        """Vendor traffic: the fault rules first (they may answer it), then its route."""
        if self.faults.any():
            names = self.index.spellings(operation.operation_id) if operation else frozenset()
            faulted = await self.faults.intercept(vendor, names, scope, self.render_fault)
            if faulted is not None:
                await faulted(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _journaled(
        self, scope: Scope, receive: Receive, send: Send, vendor: str, operation: Operation | None
    ) -> None:
        request_body = bytearray()
        response_body = bytearray()
        sizes = [0, 0]  # full request and response body sizes
        response: list[Any] = [500, b""]  # status, content type
        started = self.clock.monotonic()
        at = self.clock.now()

        async def receive_recorded() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                sizes[0] += len(chunk)
                if len(request_body) < BODY_LIMIT:
                    request_body.extend(chunk[: BODY_LIMIT - len(request_body)])
            return message

        async def send_recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                response[0] = message["status"]
                for name, value in message.get("headers", ()):
                    if name == b"content-type":
                        response[1] = value
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                sizes[1] += len(chunk)
                if len(response_body) < BODY_LIMIT:
                    response_body.extend(chunk[: BODY_LIMIT - len(response_body)])
            await send(message)

        try:
            await self._route(scope, receive_recorded, send_recorded, vendor, operation)
        finally:
            state: Mapping[str, Any] = scope["state"]
            self.journal.record(
                at=at,
                scope=scope,
                vendor=vendor,
                operation=operation.operation_id if operation else None,
                tenant=state.get(TENANT),
                fault=state.get(FAULT),
                status=response[0],
                latency_ms=(self.clock.monotonic() - started) * 1000,
                request_body=bytes(request_body),
                request_size=sizes[0],
                response_body=bytes(response_body),
                response_type=response[1],
                response_size=sizes[1],
            )
