"""The edge answers errors raised below it, as Starlette's error middlewares did, and its
answers are secured and journaled like any other response."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from passbox.app import create_app
from passbox.core.edge import App, Edge
from passbox.core.errors import NotFound
from passbox.core.specs import Spec
from passbox.core.store import StoreError
from passbox.settings import Settings
from tests.conftest import BASE_URL


class Broken(Exception):
    """A bug in the sandbox, as far as the edge can tell."""


def client_of(app: Any, *, raise_app_exceptions: bool = True) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


def broken(*args: Any, **kwargs: Any) -> Any:
    raise Broken("the backend fell over")


@pytest.fixture
def errors() -> list[BaseException]:
    return []


@pytest.fixture
def failing_app(settings: Settings, specs: dict[str, Spec], errors: list[BaseException]) -> Starlette:
    """An app whose VerifyPass token issuance and journal listing raise an unexpected error."""
    app = create_app(replace(settings, on_error=errors.append), specs=specs)
    app.state.verifypass.create_token = broken
    return app


async def test_an_unexpected_error_is_a_500_in_the_vendors_shape_secured_and_journaled(
    failing_app: Starlette, errors: list[BaseException]
) -> None:
    async with client_of(failing_app, raise_app_exceptions=False) as client:
        response = await client.post("/api/v2/token", headers={"key": "passbox-demo-key"}, json={})
        assert response.status_code == 500
        assert response.json() == {
            "error": "passbox hit an internal error; this is a bug in the sandbox, please report it"
        }
        assert response.headers["x-content-type-options"] == "nosniff"
        assert [type(error) for error in errors] == [Broken]
        entries = (await client.get("/_sandbox/requests")).json()["entries"]
        assert [(entry["operation"], entry["status"]) for entry in entries] == [("createApplicantToken", 500)]
        assert "internal error" in entries[0]["response_body"]


async def test_an_unexpected_error_is_raised_again_for_the_server_and_tests_to_see(failing_app: Starlette) -> None:
    async with client_of(failing_app) as client:
        with pytest.raises(Broken):
            await client.post("/api/v2/token", headers={"key": "passbox-demo-key"}, json={})


async def test_an_unexpected_error_off_the_vendor_paths_is_a_plain_500(
    settings: Settings, specs: dict[str, Spec]
) -> None:
    app = create_app(settings, specs=specs)
    app.state.sandbox.context.journal.list = broken
    async with client_of(app, raise_app_exceptions=False) as client:
        response = await client.get("/_sandbox/requests")
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "message": "passbox hit an internal error; this is a bug in the sandbox, please report it",
    }
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_handled_errors_are_answered_by_their_handler(client: httpx.AsyncClient) -> None:
    missing = await client.get(
        "/api/partner/v2/verify/requests/nope.json", headers={"Authorization": "Bearer not-a-token"}
    )
    assert missing.status_code == 401  # a SandboxError from the route: the vendor's shape
    assert missing.json()["error"] == "invalid_token"
    unknown = await client.get("/api/v2/nothing-here")
    assert unknown.status_code == 404  # an HTTPException from the router: the vendor's shape too
    assert unknown.json() == {"error": "GET /api/v2/nothing-here is not emulated by passbox"}
    assert unknown.headers["x-content-type-options"] == "nosniff"


def edge_around(app: Starlette, inner: Any) -> Any:
    """The app's own edge, configured as the app configured it, around another inner app."""
    (middleware, *_) = app.user_middleware
    edge = Edge(inner, **middleware.kwargs)

    async def served(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app  # as Starlette sets it: the handlers find the sandbox there
        await edge(scope, receive, send)

    return served


async def test_a_handled_error_after_the_response_began_cannot_be_answered(app: Starlette) -> None:
    async def streams_then_fails(scope: Scope, receive: Receive, send: Send) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"partial"
            raise NotFound("gone midway")

        await StreamingResponse(chunks())(scope, receive, send)

    async with client_of(edge_around(app, streams_then_fails)) as client:
        with pytest.raises(RuntimeError, match="response already started"):
            await client.get("/api/v2/reporting")


async def test_an_http_exception_is_answered_with_its_status_and_headers(app: Starlette) -> None:
    async def refuses(scope: Scope, receive: Receive, send: Send) -> None:
        raise HTTPException(405, headers={"Allow": "GET"})

    async with client_of(edge_around(app, refuses)) as client:
        response = await client.post("/api/v2/reporting")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json() == {"error": "POST is not allowed on /api/v2/reporting"}


def test_the_app_builds_no_middleware_but_its_own(app: Starlette) -> None:
    assert isinstance(app, App)
    stack = app.build_middleware_stack()
    assert isinstance(stack, Edge)  # no ServerErrorMiddleware or ExceptionMiddleware around it
    assert stack.app.app == app.router.app  # type: ignore[attr-defined]  # the control guard, then the router


async def test_a_commit_that_fails_is_a_500_in_the_vendors_shape_not_an_answer(
    settings: Settings, specs: dict[str, Spec], tmp_path: Path
) -> None:
    """On a shared store a response waits for its unit of work's commit; when the commit fails,
    what the route answered is not sent: the error is, in the vendor's shape."""
    app = create_app(replace(settings, store_url=f"sqlite:///{tmp_path / 'passbox.db'}"), specs=specs)

    async def commit_fails() -> None:
        raise StoreError("the store could not commit: disk I/O error")

    app.state.sandbox.core.store.durable = commit_fails
    async with client_of(app, raise_app_exceptions=False) as client:
        response = await client.post("/api/v2/token", headers={"key": "passbox-demo-key"}, json={})
    assert response.status_code == 500
    assert response.json() == {"error": "passbox hit an internal error; this is a bug in the sandbox, please report it"}
    async with client_of(app) as client:
        with pytest.raises(StoreError, match="could not commit"):
            await client.post("/api/v2/token", headers={"key": "passbox-demo-key"}, json={})
    app.state.sandbox.core.store.close()
