"""Shared fixtures: a frozen clock, a webhook receiver, an app and an httpx client wired to it.

Apps are driven in-process through httpx's ASGI transport. Scheduled work (webhook attempts,
expiry) runs when a test calls ``drain()``, after moving the clock if it needs to: no test
sleeps to wait for anything.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest
from hypothesis import settings as hypothesis_settings
from starlette.applications import Starlette

from passbox.app import Sandbox, create_app, load_specs
from passbox.core.clock import Clock
from passbox.core.specs import Spec
from passbox.settings import Settings
from tests.postgres_server import PostgresServer, find_pg_bin, postgres_url_from_env
from tests.store_skips import pytest_runtest_makereport  # noqa: F401 - the hook, registered by being here

# No example database: every run (here or in CI) generates from the seed alone, and a failure
# saved by an older run against an older spec cannot come back as a "flaky" replay.
hypothesis_settings.register_profile("passbox", database=None)
hypothesis_settings.load_profile("passbox")


@pytest.fixture(scope="session", autouse=True)
def yaml_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Parsed-YAML cache entries go to a directory of this run (servers started by tests
    inherit it), not to the user's cache."""
    previous = os.environ.get("PASSBOX_CACHE_DIR")
    directory = tmp_path_factory.mktemp("passbox-cache")
    os.environ["PASSBOX_CACHE_DIR"] = str(directory)
    yield directory
    if previous is None:
        del os.environ["PASSBOX_CACHE_DIR"]
    else:
        os.environ["PASSBOX_CACHE_DIR"] = previous


START = "2026-03-02T09:30:00Z"
DEMO_CLIENT = ("passbox-demo-client", "passbox-demo-secret")
READONLY_CLIENT = ("passbox-readonly-client", "passbox-readonly-secret")
OTHER_CLIENT = ("passbox-other-client", "passbox-other-secret")
BASE_URL = "http://sandbox.test"


@dataclass
class Receiver:
    """A webhook receiver on an httpx MockTransport: records requests, answers as told.

    ``responses`` is consumed first (an int is a status, an exception is raised as the
    transport error); when empty every request gets ``default_status``.
    """

    default_status: int = 200
    responses: list[int | Exception] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self.arrived:
            self.requests.append(request)
            self.arrived.notify_all()
        if self.responses:
            outcome = self.responses.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return httpx.Response(outcome, text=f"status {outcome}")
        return httpx.Response(self.default_status, text="ok")

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[httpx.Request]:
        """Block until ``count`` requests arrived (deliveries from a server thread); no polling."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"expected {count} webhook deliveries, got {len(self.requests)}")
            return list(self.requests)

    def bodies(self) -> list[dict[str, Any]]:
        import json

        return [json.loads(request.content) for request in self.requests]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | str | None]:
    """A real PostgreSQL for the session: $PASSBOX_TEST_POSTGRES_URL, or one started here from
    Debian's postgresql package; None (tests skip) when neither exists, unless CI requires it."""
    external = postgres_url_from_env()
    if external is not None:
        yield external
        return
    if find_pg_bin() is None:
        if os.environ.get("PASSBOX_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (PASSBOX_REQUIRE_POSTGRES=1) but initdb/pg_ctl were not found")
        yield None
        return
    with PostgresServer() as server:
        yield server


def new_postgres_url(server: PostgresServer | str | None) -> str:
    """A fresh, empty database on the session's server (skips when there is no server)."""
    if server is None:
        if os.environ.get("PASSBOX_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (PASSBOX_REQUIRE_POSTGRES=1) but no server could be had")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql); .ci/run installs it")
    if isinstance(server, str):
        return server
    return server.create_database(f"passbox_{next(DATABASES)}")


DATABASES = itertools.count(1)
BACKENDS = ("memory", "sqlite", "postgresql")


def url_for(backend: str, tmp_path: Path, postgres_server: PostgresServer | str | None) -> str:
    if backend == "memory":
        return "memory://"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'passbox.db'}"
    return new_postgres_url(postgres_server)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path, postgres_server: PostgresServer | str | None) -> str:
    """The URL of a fresh store of each backend in turn."""
    return url_for(request.param, tmp_path, postgres_server)


@pytest.fixture(params=BACKENDS[1:])
def shared_store_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: PostgresServer | str | None
) -> str:
    """A fresh store that several processes can open (SQLite, PostgreSQL): for what outlives one."""
    return url_for(request.param, tmp_path, postgres_server)


@pytest.fixture(scope="session")
def specs() -> dict[str, Spec]:
    """The specs, parsed once for the session (apps only read them)."""
    return load_specs()


WALL = 1_780_000_000.0  # where the test clock's wall time starts (webhook timestamps, leases)


@dataclass
class Wall:
    """The test clock's wall time: it moves only when a test moves it (time travel never does)."""

    now: float = WALL

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def wall() -> Wall:
    return Wall()


@pytest.fixture
def clock(wall: Wall) -> Clock:
    return Clock(frozen_at=Clock.frozen(START).now(), source=wall)


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def settings(clock: Clock, receiver: Receiver) -> Settings:
    return Settings(seed=1234, clock=clock, webhook_transport=receiver.transport)


@pytest.fixture
def app(settings: Settings, specs: dict[str, Spec]) -> Starlette:
    return create_app(settings, specs=specs)


@pytest.fixture
def sandbox(app: Starlette) -> Sandbox:
    box: Sandbox = app.state.sandbox
    return box


@pytest.fixture
def drain(sandbox: Sandbox) -> Callable[[], Any]:
    """Run every scheduled job that is due now (webhook attempts, expiry), to completion."""
    return sandbox.core.scheduler.drain


@pytest.fixture
async def client(app: Starlette, sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        yield http
    await sandbox.core.outbox.aclose()


class Wired(NamedTuple):
    client: httpx.AsyncClient
    sandbox: Sandbox


@pytest.fixture
def make_client(
    clock: Clock, receiver: Receiver, specs: dict[str, Spec]
) -> Callable[..., AbstractAsyncContextManager[Wired]]:
    """``async with make_client(token_ttl=60) as (client, sandbox)``: a client on a fresh app
    whose settings differ from the default ones (same clock and receiver as the test)."""

    @asynccontextmanager
    async def make(**overrides: Any) -> AsyncIterator[Wired]:
        settings = Settings(**{"seed": 1, "clock": clock, "webhook_transport": receiver.transport, **overrides})
        app = create_app(settings, specs=specs)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
            yield Wired(http, app.state.sandbox)
        await app.state.sandbox.core.outbox.aclose()

    return make


async def get_token(
    client: httpx.AsyncClient, credentials: tuple[str, str] = DEMO_CLIENT, scope: str | None = None
) -> str:
    form = {"grant_type": "client_credentials", "client_id": credentials[0], "client_secret": credentials[1]}
    if scope is not None:
        form["scope"] = scope
    response = await client.post("/api/partner/v1/oauth/token.json", data=form)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
def bearer(client: httpx.AsyncClient) -> Callable[..., Any]:
    """``await bearer()`` -> Authorization headers for the demo partner (or the given one)."""

    async def make(credentials: tuple[str, str] = DEMO_CLIENT, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {await get_token(client, credentials, scope)}"}

    return make
