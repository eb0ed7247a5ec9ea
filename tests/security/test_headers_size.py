"""Huge request headers: refused early, in the vendor's shape, without stalling anyone else."""

from __future__ import annotations

import contextlib
import socket
import time

import httpx
import pytest

from passbox.app import create_app
from passbox.settings import Settings
from tests.helpers import live_server

BIG = "x" * 40_000  # over the app's 32 KiB, under the server's 64 KiB head limit


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v2/token", {"error": "The request headers are larger than 32768 bytes"}),
        ("/api/partner/v2/webhooks", {"error": "request_header_fields_too_large"}),
        ("/_sandbox/clock", {"error": "request_header_fields_too_large"}),
    ],
)
async def test_large_headers_get_431_in_the_vendors_shape(
    client: httpx.AsyncClient, path: str, expected: dict[str, str]
) -> None:
    response = await client.post(path, headers={"X-Padding": BIG}, json={})
    assert response.status_code == 431
    body = response.json()
    assert {key: body[key] for key in expected} == expected
    assert (await client.get("/_sandbox/requests")).json()["size"] == 0  # nothing was journaled


def raw_request(port: int, head: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        # The server may close before we finish sending: that is the point.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.live
def test_a_huge_header_is_refused_before_it_is_read_and_health_stays_quick() -> None:
    with live_server(create_app(Settings(seed=4))) as base:
        port = int(base.rsplit(":", 1)[1])
        head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Huge: " + b"a" * (8 * 1024 * 1024) + b"\r\n\r\n"
        started = time.monotonic()
        answer = raw_request(port, head)
        assert answer.startswith(b"HTTP/1.1 431 ")
        assert b"request_header_fields_too_large" in answer
        assert time.monotonic() - started < 5
        with httpx.Client(base_url=base, trust_env=False) as client:
            assert client.get("/health").json() == {"status": "ok"}
            ok = client.get("/health", headers={"X-Fine": "y" * 2000})
            assert ok.status_code == 200


@pytest.mark.live
def test_a_normal_post_with_a_body_in_the_same_packet_is_not_mistaken_for_a_big_head() -> None:
    with live_server(create_app(Settings(seed=4))) as base:
        port = int(base.rsplit(":", 1)[1])
        body = b'{"email": "a@example.com"}' + b" " * 60_000
        head = (
            b"POST /api/v2/token HTTP/1.1\r\nHost: x\r\nkey: passbox-demo-key\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        answer = raw_request(port, head + body)
        assert answer.startswith(b"HTTP/1.1 200 ")
