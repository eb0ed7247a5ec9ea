"""Shared plumbing of the reference clients: retries with backoff, and sending requests.

Retries live in a transport wrapper, so they apply under any client and any auth flow. A
request is retried when the server answers 429 or 503 (it did not process the request), and
on 500, 502 and 504 only for idempotent methods; a Retry-After header is honoured. Delays
double from ``backoff`` up to ``max_backoff``, with optional jitter, and ``sleep`` is
injectable so tests never wait.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from passbox_clients.errors import APIError, TransportError, error_for, parse_retry_after

T = TypeVar("T")
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 2
    backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.1
    # Statuses retried for every method (the server did not process the request).
    always: frozenset[int] = frozenset({429, 503})
    # Statuses retried only for idempotent methods.
    idempotent: frozenset[int] = frozenset({500, 502, 504})
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def should_retry(self, method: str, status: int, attempt: int) -> bool:
        if attempt >= self.retries:
            return False
        return status in self.always or (status in self.idempotent and method.upper() in IDEMPOTENT)

    def delay(self, attempt: int, response: httpx.Response) -> float:
        """Seconds to wait before retry number ``attempt + 1``."""
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is not None:
            return min(retry_after, self.max_backoff)
        base = min(self.backoff * 2.0**attempt, self.max_backoff)
        return max(0.0, base * (1 + self.rng.uniform(-self.jitter, self.jitter)))


NO_RETRIES = RetryPolicy(retries=0)


class RetryTransport(httpx.BaseTransport):
    def __init__(
        self, inner: httpx.BaseTransport, policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        attempt = 0
        while True:
            response = self._inner.handle_request(request)
            if not self._policy.should_retry(request.method, response.status_code, attempt):
                return response
            response.read()  # reading the whole body also releases the connection
            self._sleep(self._policy.delay(attempt, response))
            attempt += 1

    def close(self) -> None:
        self._inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._inner = inner
        self._policy = policy
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        attempt = 0
        while True:
            response = await self._inner.handle_async_request(request)
            if not self._policy.should_retry(request.method, response.status_code, attempt):
                return response
            await response.aread()
            await self._sleep(self._policy.delay(attempt, response))
            attempt += 1

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API operation, ready to send: the request to make and how to read the answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    params: Mapping[str, str] | None = None
    expected: tuple[int, ...] = (200,)


def make_client(
    http_client: httpx.Client | None,
    transport: httpx.BaseTransport | None,
    retry: RetryPolicy,
    timeout: float,
    sleep: Callable[[float], None],
    headers: Mapping[str, str],
) -> tuple[httpx.Client, bool]:
    """The httpx client to use, and whether this object owns it (and must close it)."""
    if http_client is not None:
        return http_client, False
    inner = transport if transport is not None else httpx.HTTPTransport()
    wrapped = RetryTransport(inner, retry, sleep) if retry.retries else inner
    return httpx.Client(transport=wrapped, timeout=timeout, headers=dict(headers)), True


def make_async_client(
    http_client: httpx.AsyncClient | None,
    transport: httpx.AsyncBaseTransport | None,
    retry: RetryPolicy,
    timeout: float,
    sleep: Callable[[float], Awaitable[None]],
    headers: Mapping[str, str],
) -> tuple[httpx.AsyncClient, bool]:
    if http_client is not None:
        return http_client, False
    inner = transport if transport is not None else httpx.AsyncHTTPTransport()
    wrapped = AsyncRetryTransport(inner, retry, sleep) if retry.retries else inner
    return httpx.AsyncClient(transport=wrapped, timeout=timeout, headers=dict(headers)), True


def finish(call: Call[T], response: httpx.Response, vendor: str) -> T:
    """Parse a successful answer, or raise the APIError for an error one."""
    if response.status_code not in call.expected:
        if response.is_success:
            raise APIError(f"unexpected status {response.status_code}", response=response, vendor=vendor)
        raise error_for(response, vendor)
    return call.parse(response)


def transport_error(exc: httpx.HTTPError, vendor: str) -> TransportError:
    return TransportError(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, vendor=vendor)


def request_kwargs(call: Call[Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if call.json is not None:
        kwargs["json"] = call.json
    if call.params:
        kwargs["params"] = dict(call.params)
    return kwargs
