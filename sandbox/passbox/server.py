"""How passbox is served: uvicorn with a bounded request head, each response written at
once, and no access log by default.

uvicorn's httptools protocol accepts request heads of any size (a 256 MiB header was read
whole, and parsing one of 160 MiB stalled every other request for seconds). The protocol
here refuses a request line plus headers over MAX_HEAD_BYTES with a 431 before parsing it;
heads under that but over the app's own limit get a 431 in the vendor's shape from the app.

uvicorn writes a response's head and its body to the socket separately: two system calls,
two TCP segments and, on loopback, often two wake-ups of the client for one small JSON
answer. The protocol here hands uvicorn a transport that gathers what is written during one
turn of the event loop and writes it as one (``CoalescingTransport``).
"""

from __future__ import annotations

import asyncio
import copy
import gc
import json
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from passbox.core.journal import redact_query

MAX_HEAD_BYTES = 64 * 1024  # the request line and all headers, as sent
PROTOCOL = "passbox.server:BoundedHttpToolsProtocol"
# Neither vendor has a WebSocket endpoint. uvicorn's default ("auto") imports the websockets
# package's protocol, about 25 ms of every start; with none, an upgrade request is answered
# as the plain HTTP request it also is.
WEBSOCKETS = "none"


def _response_431() -> bytes:
    body = json.dumps(
        {"error": "request_header_fields_too_large", "message": f"The request head is over {MAX_HEAD_BYTES} bytes"}
    ).encode()
    return (
        b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
    )


class CoalescingTransport:
    """A transport whose writes of one event-loop turn leave as one write.

    The first write of a turn schedules the flush for the end of the turn (``call_soon``):
    a response's head and body, sent one after the other by the same task, go out together,
    and nothing waits longer than the rest of the turn. Closing flushes first. Whatever is
    not a write is the real transport's.
    """

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        if not self._transport.is_closing():  # the peer went away: what was left is dropped
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """httptools, refusing a request head over MAX_HEAD_BYTES before it is parsed, and
    writing through a CoalescingTransport."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = True

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Only the protocol's own writes (and so each request cycle's) go through it; flow
        # control keeps the real transport.
        self.transport = CoalescingTransport(transport, self.loop)  # type: ignore[assignment]

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            end = data.find(b"\r\n\r\n")
            head = len(data) if end < 0 else end + 4
            if self._head_bytes + head > MAX_HEAD_BYTES:
                self.transport.write(_response_431())
                self.transport.close()
                return
            self._head_bytes += head
        super().data_received(data)


class RedactAccessLog(logging.Filter):
    """Secrets out of uvicorn's access log: applicant tokens and the like travel in query strings."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            path, _, query = args[2].partition("?")
            record.args = (*args[:2], f"{path}?{redact_query(query)}", *args[3:])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with RedactAccessLog on the access log (in every worker)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": "passbox.server.RedactAccessLog"}
    config["handlers"]["access"]["filters"] = ["redact"]
    return config


def settle_heap() -> None:
    """Once a served app is built: move what is alive (specs, compiled validators, fixtures,
    Faker's tables: objects that live as long as the process) out of the cycle collector's
    view, so its full passes stop walking them.

    Only the young generations are collected first (under a millisecond). A full collection
    held the first request for 20 ms of every start, to free about 50 KiB of start-up
    leftovers (functions and classes made while importing, already in the oldest
    generation), which are frozen with the rest instead: a one-time 50 KiB."""
    gc.collect(1)
    gc.freeze()
