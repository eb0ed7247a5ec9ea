"""The passbox pytest plugin: a sandbox for your integration tests.

Fixtures:

- ``passbox_app``: a fresh sandbox app for the test (``create_app``), running in process with
  its background worker, so webhooks are delivered and requests expire by themselves.
- ``passbox_client``: a synchronous ``httpx.Client`` wired to ``passbox_app`` (no socket);
  hand it to the reference clients as ``http_client=`` or use it directly.
- ``passbox_server``: a real uvicorn server on a free port in a background thread, started
  once per session and reset before each test; ``.url``, ``.client``, ``.clock``.
- ``passbox_clock``: ``freeze()``, ``advance("48h")``, ``release()``, ``now`` for ``passbox_app``.
- ``passbox_webhooks``: every webhook the sandboxes deliver, whatever the URL, with
  ``wait_for(count, event=..., url=..., timeout=...)`` woken by each arrival.

Marker: ``@pytest.mark.passbox(seed=7, fixtures="path/to/fixtures")`` picks the seed and the
fixtures directory of the sandbox of that test (a marked test gets its own server).

A sandbox bug (an unexpected exception while serving) fails the test that caused it, with the
sandbox's traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from passbox.app import create_app, load_specs
from passbox.core.specs import Spec
from passbox.settings import Settings
from passbox.testing.harness import AppThread, ClockControl, PortalTransport, ServerErrors
from passbox.testing.webhooks import WebhookCollector

DEFAULT_SEED = 1234
APP_BASE_URL = "http://passbox.test"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "passbox(seed=None, fixtures=None): the seed and fixtures directory of the test's sandbox"
    )


@dataclass(frozen=True)
class Choice:
    seed: int
    fixtures: Path | None

    @classmethod
    def of(cls, request: pytest.FixtureRequest) -> Choice:
        marker = request.node.get_closest_marker("passbox")
        options: dict[str, Any] = dict(marker.kwargs) if marker else {}
        unknown = set(options) - {"seed", "fixtures"}
        if unknown:
            raise pytest.UsageError(f"passbox marker: unknown options {sorted(unknown)}")
        fixtures = options.get("fixtures")
        return cls(int(options.get("seed", DEFAULT_SEED)), Path(fixtures) if fixtures is not None else None)

    def settings(self, collector: WebhookCollector, errors: ServerErrors) -> Settings:
        extra: dict[str, Any] = {"fixtures_dir": self.fixtures} if self.fixtures is not None else {}
        return Settings(seed=self.seed, webhook_transport=collector.transport, on_error=errors, **extra)


def _raise_server_errors(errors: ServerErrors) -> None:
    found = errors.take()
    if found:
        pytest.fail(
            "the passbox sandbox hit an unexpected error during this test:\n\n" + "\n".join(found), pytrace=False
        )


@pytest.fixture(scope="session")
def _passbox_specs() -> dict[str, Spec]:
    return load_specs()


@pytest.fixture(scope="session")
def _passbox_collector() -> WebhookCollector:
    return WebhookCollector()


@pytest.fixture
def passbox_webhooks(_passbox_collector: WebhookCollector) -> WebhookCollector:
    _passbox_collector.clear()
    return _passbox_collector


@pytest.fixture
def _passbox_app_errors() -> Iterator[ServerErrors]:
    errors = ServerErrors()
    yield errors
    _raise_server_errors(errors)


@pytest.fixture
def passbox_app(
    request: pytest.FixtureRequest,
    passbox_webhooks: WebhookCollector,
    _passbox_app_errors: ServerErrors,
    _passbox_specs: dict[str, Spec],
) -> Iterator[Starlette]:
    app = create_app(Choice.of(request).settings(passbox_webhooks, _passbox_app_errors), specs=_passbox_specs)
    runner = AppThread(app)
    app.state.passbox_runner = runner
    yield app
    runner.close()


@pytest.fixture
def passbox_client(passbox_app: Starlette) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=APP_BASE_URL, transport=PortalTransport(passbox_app.state.passbox_runner)) as client:
        yield client


@pytest.fixture
def passbox_clock(passbox_client: httpx.Client) -> ClockControl:
    return ClockControl(passbox_client)


@dataclass
class Server:
    """A sandbox on a real socket."""

    url: str
    app: Starlette
    client: httpx.Client
    clock: ClockControl
    errors: ServerErrors

    def reset(self) -> None:
        self.client.post("/_sandbox/reset").raise_for_status()
        self.client.post("/_sandbox/clock", json={"action": "release"}).raise_for_status()


class _Running:
    def __init__(self, app: Starlette, errors: ServerErrors) -> None:
        from passbox.testing.server import serve_in_thread

        self._stop, url = serve_in_thread(app)
        # No keep-alive: uvicorn drops a connection after a sandbox error, and the next test's
        # reset must not trip over it.
        client = httpx.Client(
            base_url=url, trust_env=False, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self.server = Server(url, app, client, ClockControl(client), errors)

    def close(self) -> None:
        self.server.client.close()
        self._stop()


@pytest.fixture(scope="session")
def _passbox_session_server(
    _passbox_collector: WebhookCollector, _passbox_specs: dict[str, Spec]
) -> Iterator[_Running]:
    errors = ServerErrors()
    settings = Settings(seed=DEFAULT_SEED, webhook_transport=_passbox_collector.transport, on_error=errors)
    running = _Running(create_app(settings, specs=_passbox_specs), errors)
    yield running
    running.close()


@pytest.fixture
def passbox_server(
    request: pytest.FixtureRequest, passbox_webhooks: WebhookCollector, _passbox_specs: dict[str, Spec]
) -> Iterator[Server]:
    choice = Choice.of(request)
    if choice == Choice(DEFAULT_SEED, None):
        running = request.getfixturevalue("_passbox_session_server")
        running.server.errors.take()
        running.server.reset()
        passbox_webhooks.clear()
        yield running.server
        _raise_server_errors(running.server.errors)
        return
    errors = ServerErrors()
    own = _Running(create_app(choice.settings(passbox_webhooks, errors), specs=_passbox_specs), errors)
    try:
        yield own.server
        _raise_server_errors(errors)
    finally:
        own.close()
