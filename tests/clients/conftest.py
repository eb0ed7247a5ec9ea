"""Fixtures for the reference-client tests.

Every client built here sends its traffic through a validating transport: each request and
each response is checked against the vendor's spec (tests/contract/spec_check.py).

``seekpass`` and ``verifypass`` are parametrized over targets:

- ``sync-live``: the sync client against a real uvicorn server on a free port;
- ``async-inprocess``: the async client wired straight into the app (httpx.ASGITransport);
- ``sync-remote``: the sync client against another base URL taken from the environment
  (a vendor's staging, or another passbox), skipped when the variables are not set:
  PASSBOX_REMOTE_SEEKPASS_URL, _CLIENT_ID, _CLIENT_SECRET and
  PASSBOX_REMOTE_VERIFYPASS_URL, _KEY (optionally _REPORTING_PATH).

Tests that need the sandbox itself (its hosted pages, its clock) call ``target.needs_sandbox()``,
which skips them on a remote target.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from starlette.applications import Starlette

from passbox.app import Sandbox, create_app
from passbox.core.clock import Clock
from passbox.core.specs import Spec
from passbox.settings import Settings
from passbox_clients.seekpass import AsyncSeekPassClient, RetryPolicy, SeekPassClient
from passbox_clients.verifypass import AsyncVerifyPassClient, VerifyPassClient
from tests.conftest import BASE_URL, DEMO_CLIENT, Receiver
from tests.contract.spec_check import AsyncValidatingTransport, ContractChecker, ValidatingTransport
from tests.helpers import live_server

T = TypeVar("T")
TARGETS = ["sync-live", "async-inprocess", "sync-remote"]
DEMO_KEY = "passbox-demo-key"


async def run(value: T | Awaitable[T]) -> T:
    """Await a call of the async client; pass a result of the sync client through."""
    if inspect.isawaitable(value):
        return await value
    return value


async def collect(values: Any) -> list[Any]:
    """A list from a sync or an async iterator."""
    if hasattr(values, "__aiter__"):
        return [value async for value in values]
    return list(values)


class NoSleep:
    """Records the delays a client would have slept; never sleeps."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.delays.append(seconds)


@dataclass
class Target:
    name: str
    base_url: str
    sandbox: Sandbox | None
    browser: httpx.Client | httpx.AsyncClient | None
    checker: ContractChecker
    app: Starlette | None = None

    def needs_sandbox(self) -> Sandbox:
        if self.sandbox is None:
            pytest.skip("needs the sandbox (runs against passbox only)")
        return self.sandbox

    @property
    def is_async(self) -> bool:
        return self.name.startswith("async")


@pytest.fixture
def checker() -> ContractChecker:
    return ContractChecker()


@pytest.fixture
def no_sleep() -> NoSleep:
    return NoSleep()


@pytest.fixture(params=TARGETS)
async def target(
    request: pytest.FixtureRequest, clock: Clock, receiver: Receiver, checker: ContractChecker, specs: dict[str, Spec]
) -> AsyncIterator[Target]:
    name = request.param
    if name == "sync-remote":
        yield Target(name, "", None, None, checker)
        return
    app = create_app(Settings(seed=4242, clock=clock, webhook_transport=receiver.transport), specs=specs)
    sandbox: Sandbox = app.state.sandbox
    if name == "sync-live":
        with live_server(app) as url, httpx.Client(base_url=url, trust_env=False) as browser:
            yield Target(name, url, sandbox, browser, checker, app)
    else:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as browser:
            yield Target(name, BASE_URL, sandbox, browser, checker, app)
        await sandbox.core.outbox.aclose()


def _remote(*names: str) -> list[str]:
    values = [os.environ.get(name, "") for name in names]
    if not all(values):
        pytest.skip(f"set {', '.join(names)} to run the client tests against another base URL")
    return values


@pytest.fixture
def make_seekpass(target: Target, no_sleep: NoSleep) -> Iterator[Any]:
    """``make_seekpass(credentials=..., secret=..., **options)``: a SEEK Pass client of the
    target's kind; ``secret`` replaces the secret of the default credentials (a wrong one, say)."""
    made: list[Any] = []

    def make(credentials: tuple[str, str] = DEMO_CLIENT, *, secret: str | None = None, **options: Any) -> Any:
        options.setdefault("retry", RetryPolicy(jitter=0))
        if target.name == "sync-remote":
            url, client_id, remote_secret = _remote(
                "PASSBOX_REMOTE_SEEKPASS_URL",
                "PASSBOX_REMOTE_SEEKPASS_CLIENT_ID",
                "PASSBOX_REMOTE_SEEKPASS_CLIENT_SECRET",
            )
            transport = options.pop("transport", None) or ValidatingTransport(httpx.HTTPTransport(), target.checker)
            client: Any = SeekPassClient(
                url, client_id, secret or remote_secret, transport=transport, sleep=no_sleep, **options
            )
        elif target.is_async:
            # A transport given by the test (a scripted one) is used as is; the sandbox's is checked.
            transport = options.pop("transport", None) or AsyncValidatingTransport(
                httpx.ASGITransport(app=target.app), target.checker
            )
            client = AsyncSeekPassClient(
                target.base_url,
                credentials[0],
                secret or credentials[1],
                transport=transport,
                sleep=no_sleep.asleep,
                **options,
            )
        else:
            transport = options.pop("transport", None) or ValidatingTransport(httpx.HTTPTransport(), target.checker)
            client = SeekPassClient(
                target.base_url,
                credentials[0],
                secret or credentials[1],
                transport=transport,
                sleep=no_sleep,
                **options,
            )
        made.append(client)
        return client

    yield make
    for client in made:
        if isinstance(client, SeekPassClient):
            client.close()


@pytest.fixture
def seekpass(make_seekpass: Any) -> Any:
    return make_seekpass()


@pytest.fixture
def make_verifypass(target: Target, no_sleep: NoSleep) -> Iterator[Any]:
    made: list[Any] = []

    def make(api_key: str | None = None, **options: Any) -> Any:
        """``api_key`` replaces the target's key (a wrong one, say)."""
        options.setdefault("retry", RetryPolicy(jitter=0))
        if target.name == "sync-remote":
            url, key = _remote("PASSBOX_REMOTE_VERIFYPASS_URL", "PASSBOX_REMOTE_VERIFYPASS_KEY")
            path = os.environ.get("PASSBOX_REMOTE_VERIFYPASS_REPORTING_PATH", "/api/v2/reporting")
            transport = options.pop("transport", None) or ValidatingTransport(httpx.HTTPTransport(), target.checker)
            client: Any = VerifyPassClient(
                api_key or key, base_url=url, reporting_path=path, transport=transport, sleep=no_sleep, **options
            )
        elif target.is_async:
            transport = options.pop("transport", None) or AsyncValidatingTransport(
                httpx.ASGITransport(app=target.app), target.checker
            )
            client = AsyncVerifyPassClient(
                api_key or DEMO_KEY, base_url=target.base_url, transport=transport, sleep=no_sleep.asleep, **options
            )
        else:
            transport = options.pop("transport", None) or ValidatingTransport(httpx.HTTPTransport(), target.checker)
            client = VerifyPassClient(
                api_key or DEMO_KEY, base_url=target.base_url, transport=transport, sleep=no_sleep, **options
            )
        made.append(client)
        return client

    yield make
    for client in made:
        if isinstance(client, VerifyPassClient):
            client.close()


@pytest.fixture
def verifypass(make_verifypass: Any) -> Any:
    return make_verifypass()


async def browse(target: Target, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """A browser request to the target's hosted pages (sandbox targets only)."""
    assert target.browser is not None
    return await run(target.browser.request(method, url, **kwargs))
