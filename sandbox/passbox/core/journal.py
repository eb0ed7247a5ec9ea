"""The request journal: the last N vendor requests an app served, secrets redacted.

A pure ASGI middleware records method, path, vendor, operation, tenant, status, latency and
the first bytes of both bodies. It holds at most ``size`` entries and at most
``BODY_LIMIT`` bytes of each body, so memory stays flat however long the sandbox runs.
Vendor routes name the tenant (and a fault middleware any fault it injected) in
``scope["state"]``, which is shared with every layer below.

Entries are records in the store, so every worker and replica sees the traffic of all. On a
shared store they are buffered and written in batches off the request path (by the
scheduler's upkeep, or before any read), then trimmed to ``size``.
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passbox.core.clock import Clock, isoformat_z
from passbox.core.operations import OperationIndex
from passbox.core.store import GLOBAL, Kind, Store

BODY_LIMIT = 2048  # bytes of each body an entry keeps
HEADER_VALUE_LIMIT = 256  # characters of each header value
HEADERS_LIMIT = 40  # headers an entry keeps
REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"authorization", "key", "x-vfyps-key", "cookie", "set-cookie", "proxy-authorization"})
SECRET_FIELDS = frozenset({"client_secret", "secret", "access_token", "token", "api_key", "password", "key"})
TENANT = "passbox_tenant"
FAULT = "passbox_fault"
# A secret field's string value in JSON text, complete or cut off by the byte limit.
SECRET_JSON_VALUE = re.compile(r'("(?:' + "|".join(sorted(SECRET_FIELDS)) + r')"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|\\?$)')


def tag(scope_state: Any, *, tenant: str | None = None, fault: str | None = None) -> None:
    """Name the tenant (or an injected fault) of the request being served, for the journal."""
    if tenant is not None:
        setattr(scope_state, TENANT, tenant)
    if fault is not None:
        setattr(scope_state, FAULT, fault)


def redact_body(body: bytes, content_type: str, size: int | None = None) -> str | None:
    """A stored body as it may be shown: secrets replaced whatever its shape or truncation,
    HTML summarised, text decoded leniently. ``size`` is the body's full length."""
    if not body:
        return None
    kind = content_type.split(";", 1)[0].strip().lower()
    full = len(body) if size is None else size
    if kind.startswith("text/html"):
        return f"<{kind}, {full} bytes>"
    text = body.decode("utf-8", "replace")
    if kind == "application/x-www-form-urlencoded":
        text = redact_query(text)
    else:
        # JSON (or anything that may hold JSON): every secret field's value, even a cut-off one.
        text = SECRET_JSON_VALUE.sub(lambda match: f'{match.group(1)}"{REDACTED}"', text)
    return text if full <= len(body) else text + "…"


def redact_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, REDACTED if k.lower() in SECRET_FIELDS else v) for k, v in pairs])


def redact_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """At most HEADERS_LIMIT headers, each value cut to HEADER_VALUE_LIMIT, secrets replaced."""
    result: dict[str, str] = {}
    for raw_name, raw_value in headers[:HEADERS_LIMIT]:
        name = raw_name[:64].decode("latin-1").lower()
        if name in SECRET_HEADERS:
            result[name] = REDACTED
            continue
        value = raw_value[:HEADER_VALUE_LIMIT].decode("latin-1")
        result[name] = value + ("…" if len(raw_value) > HEADER_VALUE_LIMIT else "")
    return result


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    at: datetime
    method: str
    path: str
    query: str
    vendor: str | None
    operation: str | None
    tenant: str | None
    status: int
    latency_ms: float
    request_headers: dict[str, str]
    request_body: bytes  # the first BODY_LIMIT bytes, as sent; redacted when shown
    request_type: str
    request_size: int
    response_body: bytes
    response_type: str
    response_size: int
    fault: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": isoformat_z(self.at, micro=True),
            "method": self.method,
            "path": self.path,
            "query": redact_query(self.query) if self.query else "",
            "vendor": self.vendor,
            "operation": self.operation,
            "tenant": self.tenant,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
            "request_headers": dict(self.request_headers),
            "request_body": redact_body(self.request_body, self.request_type, self.request_size),
            "response_body": redact_body(self.response_body, self.response_type, self.response_size),
            "fault": self.fault,
        }


JOURNAL = Kind("journal", Entry)
BATCH = 64


class Journal:
    """The last ``size`` entries. On a shared store they are records (every replica sees all
    traffic), written in batches; on a private (memory) store, a bounded deque in the app."""

    def __init__(self, store: Store, size: int) -> None:
        self.size = size
        self._store = store
        self._buffer: list[Entry] = []
        self._local: deque[Entry] | None = None if store.shared else deque(maxlen=size)

    def add(self, entry: Entry) -> None:
        if self._local is not None:
            self._local.append(dataclasses.replace(entry, id=self._store.incr("journal")))
            return
        self._buffer.append(entry)
        if len(self._buffer) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the buffered entries (numbered in the order written) and trim to ``size``."""
        if not self._buffer:
            return
        entries, self._buffer = self._buffer, []
        with self._store.transaction():
            for entry in entries:
                number = self._store.incr("journal")
                self._store.put(JOURNAL, entry.tenant or GLOBAL, str(number), dataclasses.replace(entry, id=number))
            self._store.trim(JOURNAL, self.size)

    def _newest_first(self) -> Iterator[Entry]:
        if self._local is not None:
            return reversed(self._local)
        self.flush()
        return (entry for _, entry in self._store.scan(JOURNAL, newest_first=True))

    def __len__(self) -> int:
        if self._local is not None:
            return len(self._local)
        self.flush()
        return self._store.count(JOURNAL)

    def get(self, entry_id: int) -> Entry | None:
        if self._local is not None:
            return next((entry for entry in self._local if entry.id == entry_id), None)
        self.flush()
        found = self._store.find(JOURNAL, str(entry_id))
        return found[1] if found else None

    def list(
        self,
        *,
        vendor: str | None = None,
        tenant: str | None = None,
        method: str | None = None,
        status: int | None = None,
        operation: str | None = None,
        path: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Entry]:
        """Newest first (``offset`` matching entries skipped)."""
        found: list[Entry] = []
        skip = offset
        for entry in self._newest_first():
            if (
                (vendor is None or entry.vendor == vendor)
                and (tenant is None or entry.tenant == tenant)
                and (method is None or entry.method == method.upper())
                and (status is None or entry.status == status)
                and (operation is None or entry.operation == operation)
                and (path is None or path in entry.path)
            ):
                if skip:
                    skip -= 1
                    continue
                found.append(entry)
                if len(found) >= limit:
                    break
        return found

    def clear(self, tenant: str | None = None) -> None:
        """Drop buffered (or, on a private store, kept) entries; the store's own reset removes
        the written ones."""
        keep = [] if tenant is None else [entry for entry in self._buffer if entry.tenant != tenant]
        self._buffer = keep
        if self._local is not None:
            kept = [] if tenant is None else [entry for entry in self._local if entry.tenant != tenant]
            self._local.clear()
            self._local.extend(kept)


class JournalMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        journal: Journal,
        index: OperationIndex,
        clock: Clock,
        vendor_for: Callable[[str], str | None],
    ) -> None:
        self.app = app
        self.journal = journal
        self.index = index
        self.clock = clock
        self.vendor_for = vendor_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        vendor, operation = self.index.classify(scope, self.vendor_for)
        if vendor is None:
            await self.app(scope, receive, send)  # only vendor traffic is journaled
            return

        state = scope["state"]
        request_body = bytearray()
        response_body = bytearray()
        sizes = [0, 0]  # full request and response body sizes
        response: dict[str, Any] = {"status": 500, "content_type": ""}
        started = self.clock.monotonic()
        at = self.clock.now()

        async def receive_wrapper() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                sizes[0] += len(chunk)
                if len(request_body) < BODY_LIMIT:
                    request_body.extend(chunk[: BODY_LIMIT - len(request_body)])
            return message

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        response["content_type"] = value[:200].decode("latin-1")
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                sizes[1] += len(chunk)
                if len(response_body) < BODY_LIMIT:
                    response_body.extend(chunk[: BODY_LIMIT - len(response_body)])
            await send(message)

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        finally:
            # Recorded cheaply (bounded raw bytes); redacted when an entry is read.
            raw_headers = scope.get("headers", [])
            content_type = next((value for name, value in raw_headers if name == b"content-type"), b"")
            self.journal.add(
                Entry(
                    id=0,
                    at=at,
                    method=scope["method"],
                    path=path[:2048],
                    query=scope.get("query_string", b"")[:2048].decode("latin-1"),
                    vendor=vendor,
                    operation=operation.operation_id if operation else None,
                    tenant=state.get(TENANT) if isinstance(state, dict) else None,
                    status=response["status"],
                    latency_ms=(self.clock.monotonic() - started) * 1000,
                    request_headers=redact_headers(raw_headers),
                    request_body=bytes(request_body),
                    request_type=content_type[:200].decode("latin-1"),
                    request_size=sizes[0],
                    response_body=bytes(response_body),
                    response_type=response["content_type"],
                    response_size=sizes[1],
                    fault=state.get(FAULT) if isinstance(state, dict) else None,
                )
            )
