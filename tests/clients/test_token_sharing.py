"""Concurrent calls of one SEEK Pass client share its OAuth token (issue 11, point 13).

Ten concurrent first calls make one token request, not ten; so do ten concurrent calls once
the token has expired by the client's clock, and ten calls refused (401) with the same stale
token. The sync client is driven from ten threads against a real server, the async one with
``asyncio.gather`` in-process. A counting transport between the client and the sandbox
counts the token requests that reach the server, and answers them slowly, so that every
concurrent call has started while the first token request is still in flight.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from passbox.app import Sandbox
from passbox.core.clock import Clock
from passbox_clients.seekpass import NO_RETRIES, AsyncSeekPassClient, SeekPassClient, TransportError
from passbox_clients.seekpass.auth import TOKEN_PATH
from tests.conftest import BASE_URL, DEMO_CLIENT
from tests.contract.spec_check import AsyncValidatingTransport, ContractChecker, ValidatingTransport
from tests.helpers import live_server

CALLS = 10
TOKEN_DELAY = 0.05  # seconds the token endpoint takes to answer
TTL = 7200  # the sandbox's token lifetime (Settings.token_ttl)


@dataclass
class Traffic:
    """What reached the server: token requests, and the bearer tokens the API calls carried."""

    token_requests: int = 0
    bearers: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, request: httpx.Request) -> bool:
        """Record ``request``; True for a token request."""
        with self.lock:
            if request.url.path == TOKEN_PATH:
                self.token_requests += 1
                return True
            self.bearers.append(request.headers.get("authorization", ""))
            return False


class CountingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, traffic: Traffic) -> None:
        self._inner = inner
        self._traffic = traffic

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._traffic.saw(request):
            time.sleep(TOKEN_DELAY)
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


class AsyncCountingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, traffic: Traffic) -> None:
        self._inner = inner
        self._traffic = traffic

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._traffic.saw(request):
            await asyncio.sleep(TOKEN_DELAY)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def in_threads(call: Callable[[], Any], count: int) -> list[Any]:
    """``call()`` from ``count`` threads released together."""
    start = threading.Barrier(count)

    def run() -> Any:
        start.wait(timeout=10)
        return call()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return [future.result(timeout=30) for future in [pool.submit(run) for _ in range(count)]]


@dataclass
class Wired:
    client: SeekPassClient | AsyncSeekPassClient
    traffic: Traffic
    now: list[float]  # the client's clock

    async def concurrently(self, calls: int = CALLS) -> list[Any]:
        """``list_webhooks()`` ``calls`` times at once: tasks of one loop, or threads."""
        if isinstance(self.client, AsyncSeekPassClient):
            return list(await asyncio.gather(*(self.client.list_webhooks() for _ in range(calls))))
        return in_threads(self.client.list_webhooks, calls)


@pytest.fixture(params=["sync-threads", "async-gather"])
async def wired(request: pytest.FixtureRequest, app: Starlette, checker: ContractChecker) -> AsyncIterator[Wired]:
    traffic = Traffic()
    now = [1_000_000.0]

    def clock() -> float:
        return now[0]

    if request.param == "sync-threads":
        with live_server(app) as url:
            transport = CountingTransport(ValidatingTransport(httpx.HTTPTransport(), checker), traffic)
            with SeekPassClient(url, *DEMO_CLIENT, transport=transport, retry=NO_RETRIES, clock=clock) as client:
                yield Wired(client, traffic, now)
    else:
        inner = AsyncValidatingTransport(httpx.ASGITransport(app=app), checker)
        transport_ = AsyncCountingTransport(inner, traffic)
        async with AsyncSeekPassClient(
            BASE_URL, *DEMO_CLIENT, transport=transport_, retry=NO_RETRIES, clock=clock
        ) as async_client:
            yield Wired(async_client, traffic, now)
        sandbox: Sandbox = app.state.sandbox
        await sandbox.core.outbox.aclose()


async def test_concurrent_first_calls_fetch_one_token(wired: Wired) -> None:
    results = await wired.concurrently()
    assert all(isinstance(result, list) for result in results)
    assert wired.traffic.token_requests == 1
    assert wired.client.auth.fetches == 1
    assert len(wired.traffic.bearers) == CALLS
    assert len(set(wired.traffic.bearers)) == 1  # every call carried the one token


async def test_an_expired_token_is_replaced_once_for_concurrent_calls(wired: Wired) -> None:
    await wired.concurrently()
    first = wired.client.auth.token
    wired.now[0] += TTL - 61  # still valid, outside the 60 s leeway
    await wired.concurrently()
    assert wired.traffic.token_requests == 1
    wired.now[0] += TTL  # expired by the client's clock
    await wired.concurrently()
    assert wired.traffic.token_requests == 2
    assert wired.client.auth.fetches == 2
    assert wired.client.auth.token is not first
    assert len(set(wired.traffic.bearers[-CALLS:])) == 1


async def test_calls_refused_with_the_same_stale_token_refetch_it_once(wired: Wired, clock: Clock) -> None:
    """The server's clock passes the token's expiry while the client still trusts it: every
    concurrent call is answered 401, and they share the one replacement token."""
    await wired.concurrently()
    stale = wired.traffic.bearers[-1]
    clock.advance(TTL)
    results = await wired.concurrently()
    assert all(isinstance(result, list) for result in results)
    assert wired.traffic.token_requests == 2
    assert wired.client.auth.fetches == 2
    retried = [bearer for bearer in wired.traffic.bearers[CALLS:] if bearer != stale]
    assert len(set(retried)) == 1
    assert len(retried) == CALLS  # each refused call was sent again once, with the new token


def short_lived_tokens(expires_in: int) -> tuple[httpx.MockTransport, Traffic]:
    """A mock SEEK Pass whose tokens live ``expires_in`` seconds; each token request gets a new one."""
    traffic = Traffic()

    async def handle(request: httpx.Request) -> httpx.Response:
        if traffic.saw(request):
            await asyncio.sleep(TOKEN_DELAY)
            token = {
                "access_token": f"token-{traffic.token_requests}",
                "token_type": "Bearer",
                "expires_in": expires_in,
                "scope": "",
                "created_at": 1,
            }
            return httpx.Response(200, json=token)
        return httpx.Response(200, json=[])

    return httpx.MockTransport(handle), traffic


def test_the_async_lock_follows_the_event_loop() -> None:
    """One async client used from two event loops in turn (two ``asyncio.run``): the lock made
    in the first loop is not reused in the second, where the short-lived token has expired."""
    transport, traffic = short_lived_tokens(expires_in=120)
    now = [1_000_000.0]
    client = AsyncSeekPassClient(BASE_URL, *DEMO_CLIENT, transport=transport, retry=NO_RETRIES, clock=lambda: now[0])

    async def calls() -> None:
        await asyncio.gather(*(client.list_webhooks() for _ in range(CALLS)))

    asyncio.run(calls())
    assert traffic.token_requests == 1
    now[0] += 61  # within the leeway of a 120 s token
    asyncio.run(calls())
    assert traffic.token_requests == 2
    assert traffic.bearers == ["Bearer token-1"] * CALLS + ["Bearer token-2"] * CALLS
    asyncio.run(client.aclose())


def test_a_failed_token_request_releases_the_lock() -> None:
    """A token request that fails (here: the transport raises) lets the next call fetch."""
    attempts: list[int] = []
    lock = threading.Lock()

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_PATH:
            with lock:
                attempts.append(1)
                if len(attempts) == 1:
                    raise httpx.ConnectError("down", request=request)
            token = {"access_token": "t", "token_type": "Bearer", "expires_in": 7200, "scope": "", "created_at": 1}
            return httpx.Response(200, json=token)
        return httpx.Response(200, json=[])

    with SeekPassClient(BASE_URL, *DEMO_CLIENT, transport=httpx.MockTransport(handle), retry=NO_RETRIES) as client:
        with pytest.raises(TransportError, match="down"):
            client.list_webhooks()
        results = in_threads(client.list_webhooks, CALLS)
    assert results == [[]] * CALLS
    assert len(attempts) == 2
    assert client.auth.fetches == 1
