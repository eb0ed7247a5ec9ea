"""The served protocol: each response written to the socket at once, heads bounded.

Driven through uvicorn's real httptools protocol with a transport that records every write
the protocol makes, so a test can count them; and against a live server for what a client sees.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import weakref
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from uvicorn.config import Config
from uvicorn.lifespan.off import LifespanOff
from uvicorn.server import ServerState

from passbox.app import create_app
from passbox.server import MAX_HEAD_BYTES, BoundedHttpToolsProtocol, CoalescingTransport, settle_heap
from passbox.settings import Settings
from tests.helpers import live_server


class RecordingTransport(asyncio.Transport):
    """What a socket would have been asked to send, write by write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False
        self.reading = True

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self.closed:
            raise RuntimeError("write on a closed transport")
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)


async def hello(request: Request) -> Response:
    return Response(b'{"hello":"world"}', media_type="application/json")


async def stream(request: Request) -> Response:
    release = request.app.state.release

    async def chunks() -> Any:
        yield b"first;"
        await release.wait()
        yield b"second"

    return StreamingResponse(chunks(), media_type="text/plain")


def app() -> Starlette:
    application = Starlette(routes=[Route("/hello", hello, methods=["GET"]), Route("/stream", stream)])
    application.state.release = asyncio.Event()
    return application


async def settle() -> None:
    """Let the protocol's tasks and the flushes they scheduled run (a few loop turns)."""
    for _ in range(20):
        await asyncio.sleep(0)


def connected(asgi: Starlette) -> tuple[BoundedHttpToolsProtocol, RecordingTransport]:
    config = Config(app=asgi, http=BoundedHttpToolsProtocol, ws="none", lifespan="off", log_level="error")
    config.load()
    protocol = BoundedHttpToolsProtocol(
        config=config, server_state=ServerState(), app_state=LifespanOff(config).state, _loop=asyncio.get_running_loop()
    )
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def test_a_response_head_and_body_leave_in_one_write() -> None:
    protocol, transport = connected(app())
    protocol.data_received(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    assert len(transport.writes) == 1
    head, _, body = transport.writes[0].partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 17" in head
    assert body == b'{"hello":"world"}'
    assert not transport.closed


async def test_each_of_two_pipelined_requests_gets_its_whole_answer() -> None:
    protocol, transport = connected(app())
    protocol.data_received(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    sent = b"".join(transport.writes)
    assert sent.count(b"HTTP/1.1 200 OK") == 2
    assert sent.count(b'{"hello":"world"}') == 2


async def test_a_head_request_gets_its_head_though_no_body_is_written() -> None:
    protocol, transport = connected(app())
    protocol.data_received(b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert transport.writes[0].endswith(b"\r\n\r\n")


async def test_a_streamed_response_goes_out_as_it_is_produced() -> None:
    asgi = app()
    protocol, transport = connected(asgi)
    protocol.data_received(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
    await settle()
    # The head and the first chunk are on the wire while the second is still being made.
    assert b"first;" in b"".join(transport.writes)
    assert b"second" not in b"".join(transport.writes)
    asgi.state.release.set()
    await settle()
    assert b"second" in b"".join(transport.writes)


async def test_closing_flushes_what_is_waiting_first() -> None:
    protocol, transport = connected(app())
    head = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n"
    protocol.data_received(head)  # refused before parsing: a 431, then the connection closes
    assert transport.closed
    assert len(transport.writes) == 1
    assert transport.writes[0].startswith(b"HTTP/1.1 431 ")


async def test_what_is_waiting_when_the_peer_went_away_is_dropped_quietly() -> None:
    raw = RecordingTransport()
    coalescing = CoalescingTransport(raw, asyncio.get_running_loop())
    coalescing.write(b"HTTP/1.1 200 OK\r\n\r\n")
    raw.close()  # the connection was lost before the end of the turn
    await settle()
    assert raw.writes == []
    assert coalescing.is_closing()


async def test_writes_of_one_turn_keep_their_order() -> None:
    raw = RecordingTransport()
    coalescing = CoalescingTransport(raw, asyncio.get_running_loop())
    for part in (b"a", b"b", b"c"):
        coalescing.write(part)
    await settle()
    coalescing.write(b"d")
    await settle()
    assert raw.writes == [b"abc", b"d"]
    assert coalescing.get_extra_info("peername") == ("127.0.0.1", 50000)  # the rest is the real transport's


def url_address(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").partition(":")
    return host, int(port)


@pytest.mark.live
def test_a_live_server_answers_keep_alive_requests_whole() -> None:
    with live_server(create_app(Settings(seed=1))) as url, socket.create_connection(url_address(url)) as sock:
        sock.settimeout(10)
        for _ in range(3):
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while not answer.endswith(b'{"status":"ok"}'):
                chunk = sock.recv(65536)
                assert chunk, f"the server closed the connection after {answer!r}"
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n")


def test_settle_heap_freezes_what_is_alive_and_collects_the_young() -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    kept = Cycle()
    gc.collect()
    young = Cycle()  # garbage in the youngest generation: collected, not frozen
    gone = weakref.ref(young)
    del young
    try:
        settle_heap()
        assert gone() is None
        assert gc.get_freeze_count() > 0
        assert not any(obj is kept for obj in gc.get_objects())  # out of the collector's view
    finally:
        gc.unfreeze()
    assert any(obj is kept for obj in gc.get_objects())
