"""The request journal: the last N vendor requests an app served, secrets redacted.

The edge (``passbox.core.edge``) records method, path, vendor, operation, tenant, status,
latency, the headers and the first bytes of both bodies, as sent: redaction happens when an
entry is read, not on the request path (except that a shared store never receives the values
of secret headers: see ``without_secrets``), and so does the rest of making an entry of it (a
``Recorded`` is what the request gave, taken as it was). It holds at most ``size`` entries
(0 turns it off), at most ``BODY_LIMIT`` bytes of each body and a bounded path and head, so
memory stays flat however long the sandbox runs. Vendor routes name the tenant (and the edge
any fault it injected) in ``scope["state"]``, which is shared with every layer below.

Entries are records in the store, so every worker and replica sees the traffic of all. On a
shared store they are buffered and written in batches off the request path (by the
scheduler's upkeep every ``poll_seconds``, once 64 are waiting, or before any read), then
trimmed to ``size``. A batch holds its requests as recorded, in MessagePack (one pass in C,
bytes as bytes): a flush makes no entries, and writes about a quarter fewer bytes than JSON
entries with base64 bodies, to the log and again at the checkpoint.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec

from passbox.core.clock import isoformat_z
from passbox.core.store import GLOBAL, Kind, Store

BODY_LIMIT = 2048  # bytes of each body an entry keeps
PATH_LIMIT = 2048  # characters of the path and of the query an entry keeps
HEAD_LIMIT = 4096  # header bytes a request may have before they are cut when recorded
HEADER_VALUE_LIMIT = 256  # characters of each header value
HEADERS_LIMIT = 40  # headers an entry keeps
REDACTED = "[redacted]"
SECRET_HEADERS = frozenset({"authorization", "key", "x-vfyps-key", "cookie", "set-cookie", "proxy-authorization"})
_SECRET_HEADER_NAMES = frozenset(name.encode() for name in SECRET_HEADERS)
_REDACTED_VALUE = REDACTED.encode()
SECRET_FIELDS = frozenset({"client_secret", "secret", "access_token", "token", "api_key", "password", "key"})
TENANT = "passbox_tenant"
FAULT = "passbox_fault"
# A secret field's string value in JSON text, complete or cut off by the byte limit.
SECRET_JSON_VALUE = re.compile(r'("(?:' + "|".join(sorted(SECRET_FIELDS)) + r')"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|\\?$)')


def tag(scope: Mapping[str, Any], *, tenant: str | None = None, fault: str | None = None) -> None:
    """Name the tenant (or an injected fault) of the request being served, for the journal, in
    the request's ``scope["state"]``."""
    state: dict[str, Any] = scope["state"]
    if tenant is not None:
        state[TENANT] = tenant
    if fault is not None:
        state[FAULT] = fault


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


def _key(first: int) -> str:
    return f"{first:020d}"


def bounded_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """At most HEADERS_LIMIT headers, each name cut to 64 bytes and each value to
    HEADER_VALUE_LIMIT (plus one byte, so a reader can tell it was cut), as sent."""
    kept = headers[:HEADERS_LIMIT]
    if any(len(name) > 64 or len(value) > HEADER_VALUE_LIMIT for name, value in kept):
        kept = [(name[:64], value[: HEADER_VALUE_LIMIT + 1]) for name, value in kept]
    return kept


def without_secrets(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Headers as a shared store keeps them: a secret header's value (a bearer token, an API
    key) never reaches a database file or another replica; nor does it cost the log and the
    checkpoint its bytes (a SEEK Pass bearer token is most of a request's entry)."""
    return [
        (name, _REDACTED_VALUE) if name.lower() in _SECRET_HEADER_NAMES else (name, value) for name, value in headers
    ]


def redact_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Headers as they may be shown: each value cut to HEADER_VALUE_LIMIT, secrets replaced."""
    result: dict[str, str] = {}
    for raw_name, raw_value in headers[:HEADERS_LIMIT]:
        name = raw_name[:64].decode("latin-1").lower()
        if name in SECRET_HEADERS:
            result[name] = REDACTED
            continue
        value = raw_value[:HEADER_VALUE_LIMIT].decode("latin-1")
        result[name] = value + ("…" if len(raw_value) > HEADER_VALUE_LIMIT else "")
    return result


class Entry(msgspec.Struct, frozen=True, array_like=True):
    """One served request. Stored as a JSON array: the field names were a fifth of a stored
    entry, and every entry is written to a shared store's log and again at its checkpoint.
    A field added later goes last, with a default, so stored arrays still read."""

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
    request_headers: list[tuple[bytes, bytes]]  # bounded, as sent; redacted when shown
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
            "request_headers": redact_headers(self.request_headers),
            "request_body": redact_body(self.request_body, self.request_type, self.request_size),
            "response_body": redact_body(self.response_body, self.response_type, self.response_size),
            "fault": self.fault,
        }


class Recorded(msgspec.Struct, gc=False, array_like=True):
    """One served request as the edge hands it over: the request's own values, each bounded,
    made into an ``Entry`` only when it is read. A shared store keeps it as it is, a
    MessagePack array in a batch, so a field added later goes last, with a default. (Never in
    a reference cycle, so the cycle collector need not track the thousand kept.)"""

    number: int
    at: datetime
    method: str
    path: str
    query: bytes
    vendor: str | None
    operation: str | None
    tenant: str | None
    fault: str | None
    status: int
    latency_ms: float
    headers: list[tuple[bytes, bytes]]
    request_body: bytes
    request_size: int
    response_headers: list[tuple[bytes, bytes]]
    response_body: bytes
    response_size: int

    def entry(self, number: int | None = None) -> Entry:
        return Entry(
            id=self.number if number is None else number,
            at=self.at,
            method=self.method,
            path=self.path[:PATH_LIMIT],
            query=self.query[:PATH_LIMIT].decode("latin-1"),
            vendor=self.vendor,
            operation=self.operation,
            tenant=self.tenant,
            status=self.status,
            latency_ms=round(self.latency_ms, 3),  # as shown; the full float was 18 characters of each entry
            request_headers=bounded_headers(self.headers),
            request_body=self.request_body,
            request_type=content_type(self.headers),
            request_size=self.request_size,
            response_body=self.response_body,
            response_type=content_type(self.response_headers),
            response_size=self.response_size,
            fault=self.fault,
        )


def content_type(headers: list[tuple[bytes, bytes]]) -> str:
    found = next((value for name, value in headers if name.lower() == b"content-type"), b"")
    return found[:200].decode("latin-1")


class _EntryObject(Entry, frozen=True, array_like=False):
    """An entry as batches stored it before entries were arrays: a JSON object."""


_OLD_ENTRY = msgspec.json.Decoder(_EntryObject)


def _entry(item: Entry | dict[str, Any]) -> Entry:
    """A stored entry; one stored as an object (by an earlier passbox) read as the others."""
    return item if isinstance(item, Entry) else _OLD_ENTRY.decode(msgspec.json.encode(item))


class Batch(msgspec.Struct, frozen=True, omit_defaults=True):
    """The requests of one tenant written by one flush (a shared store holds batches, not
    entries: one row and its index entries for up to BATCH requests), as recorded, numbered by
    ``ids``; they are made entries when read. Batches an earlier passbox wrote hold
    ``entries`` instead: JSON arrays with their numbers in ``ids``, or before that JSON
    objects, each with its own number when there were no ``ids``."""

    entries: list[Entry | dict[str, Any]] = msgspec.field(default_factory=list)
    ids: list[int] = msgspec.field(default_factory=list)
    records: list[Recorded] = msgspec.field(default_factory=list)

    def numbered(self) -> list[Entry]:
        if self.records:
            return [recorded.entry(number) for recorded, number in zip(self.records, self.ids, strict=True)]
        entries = [_entry(item) for item in self.entries]
        if not self.ids:
            return entries
        return [msgspec.structs.replace(entry, id=number) for entry, number in zip(entries, self.ids, strict=True)]


class _Numbered(msgspec.Struct, frozen=True, array_like=True):
    """A stored entry read for its id alone (the rest of its array is skipped)."""

    id: int


class BatchHead(msgspec.Struct, frozen=True):
    """What trimming needs of a batch, its size and first number: decoding a whole batch of
    64 entries to count them took 0.4 ms of every flush; this skips the records (and reads an
    earlier passbox's entries for their numbers alone)."""

    entries: list[_Numbered | dict[str, Any]] = msgspec.field(default_factory=list)
    ids: list[int] = msgspec.field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.ids) or len(self.entries)

    @property
    def first_id(self) -> int:
        if self.ids:
            return self.ids[0]
        first = self.entries[0]
        return first.id if isinstance(first, _Numbered) else int(first["id"])


BATCHES = Kind("journal.batches", Batch, packed=True)
BATCH_HEADS = Kind(BATCHES.name, BatchHead, packed=True)  # the same rows, read for trimming
KEPT = "journal.kept"  # counter: entries held in the store's batches
BATCH = 64


class Journal:
    """The last ``size`` entries. On a shared store they are records (every replica sees all
    traffic), written in batches; on a private (memory) store, a bounded deque in the app."""

    def __init__(self, store: Store, size: int) -> None:
        self.size = size
        self._store = store
        self._buffer: list[Recorded] = []
        self._local: deque[Recorded] | None = None if store.shared else deque(maxlen=max(size, 1))
        self._numbered = 0  # entries numbered so far on a private store

    @property
    def enabled(self) -> bool:
        """A journal of size 0 records nothing."""
        return self.size > 0

    def record(
        self,
        scope: Mapping[str, Any],
        head_size: int,
        *,
        at: datetime,
        vendor: str | None,
        operation: str | None,
        status: int,
        latency_ms: float,
        request_body: bytes,
        request_size: int,
        response_headers: list[tuple[bytes, bytes]],
        response_body: bytes,
        response_size: int,
    ) -> None:
        """Keep one served request, as bounded raw values (made an entry, and redacted, only
        when read). ``head_size`` is the bytes of its headers' names and values."""
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if head_size > HEAD_LIMIT or len(headers) > HEADERS_LIMIT:
            headers = bounded_headers(headers)
        if self._local is None:
            headers = without_secrets(headers)
        path: str = scope["path"][:PATH_LIMIT]
        if not path.isascii():
            # A lone surrogate (an ASGI server may decode a path with surrogateescape) cannot be
            # encoded, and a batch that cannot be encoded would lose every entry flushed with it.
            path = path.encode("utf-8", "replace").decode("utf-8")
        state: Mapping[str, Any] = scope["state"]
        number = 0
        if self._local is not None:
            self._numbered += 1
            number = self._numbered
        recorded = Recorded(
            number,
            at,
            scope["method"],
            path,
            scope.get("query_string", b"")[:PATH_LIMIT],
            vendor,
            operation,
            state.get(TENANT),
            state.get(FAULT),
            status,
            latency_ms,
            headers,
            request_body,
            request_size,
            response_headers,
            response_body,
            response_size,
        )
        if self._local is not None:
            self._local.append(recorded)
            return
        self._buffer.append(recorded)
        if len(self._buffer) >= BATCH:
            self.flush()  # small batches: a big one would hold the loop (and p99) for tens of ms

    def flush(self) -> None:
        """Write the buffered entries (numbered in the order written, one batch per tenant) and
        drop the oldest batches while the rest still hold ``size`` entries."""
        if not self._buffer:
            return
        buffered, self._buffer = self._buffer, []
        store = self._store
        with store.transaction():
            first = store.incr("journal", len(buffered)) - len(buffered) + 1
            by_tenant: dict[str, Batch] = {}
            for number, recorded in enumerate(buffered, first):
                batch = by_tenant.get(recorded.tenant or GLOBAL)
                if batch is None:
                    batch = by_tenant[recorded.tenant or GLOBAL] = Batch()
                batch.records.append(recorded)
                batch.ids.append(number)
            for tenant, batch in by_tenant.items():
                store.put(BATCHES, tenant, _key(batch.ids[0]), batch)
            kept = store.incr(KEPT, len(buffered))
            while kept > self.size:
                oldest = store.scan(BATCH_HEADS, limit=1)
                if not oldest or kept - oldest[0][1].size < self.size:
                    break
                tenant, dropped = oldest[0]
                store.delete(BATCHES, tenant, _key(dropped.first_id))
                kept = store.incr(KEPT, -dropped.size)

    def recount(self) -> None:
        """After a tenant's batches were deleted with its other records (a tenant reset)."""
        if self._local is not None:
            return
        with self._store.transaction():
            held = sum(head.size for _, head in self._store.scan(BATCH_HEADS))
            self._store.incr(KEPT, held - self._store.counter(KEPT))

    def _newest_first(self) -> list[Entry]:
        if self._local is not None:
            return [recorded.entry() for recorded in reversed(self._local)]
        self.flush()
        found = [entry for _, batch in self._store.scan(BATCHES, newest_first=True) for entry in batch.numbered()]
        found.sort(key=lambda entry: entry.id, reverse=True)
        return found[: self.size]

    def __len__(self) -> int:
        if self._local is not None:
            return len(self._local)
        return len(self._newest_first())

    def get(self, entry_id: int) -> Entry | None:
        return next((entry for entry in self._newest_first() if entry.id == entry_id), None)

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
        if tenant is None:
            self._numbered = 0  # a reset starts the numbering over, as the store's counters do
        if self._local is not None:
            kept = [] if tenant is None else [entry for entry in self._local if entry.tenant != tenant]
            self._local.clear()
            self._local.extend(kept)
