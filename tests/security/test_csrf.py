"""The control plane refuses writes a web page could make on someone's behalf."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from passbox.app import Sandbox
from tests.conftest import get_token
from tests.seekpass.helpers import create

EVIL = {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
SAME_HOST_OTHER_PORT = {"Origin": "http://sandbox.test:8081", "Sec-Fetch-Site": "same-site"}


async def state(client: httpx.AsyncClient) -> tuple[Any, ...]:
    clock = (await client.get("/_sandbox/clock")).json()
    requests = (await client.get("/_sandbox/seekpass/requests")).json()
    faults = (await client.get("/_sandbox/faults")).json()
    return clock["frozen"], clock["offset_seconds"], [(r["request_id"], r["status"]) for r in requests], faults


@pytest.mark.parametrize("headers", [EVIL, SAME_HOST_OTHER_PORT, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/_sandbox/reset", None),
        ("POST", "/_sandbox/clock", {"action": "advance", "by": "1h"}),
        ("POST", "/_sandbox/faults", {"kind": "error"}),
        ("POST", "/_sandbox/seekpass/requests/passbox-demo-client/r-1/complete", None),
        ("DELETE", "/_sandbox/faults", None),
    ],
)
async def test_cross_site_writes_are_refused_and_change_nothing(
    client: httpx.AsyncClient, headers: dict[str, str], method: str, path: str, body: Any
) -> None:
    await create(client, {"Authorization": f"Bearer {await get_token(client)}"}, request_id="r-1")
    before = await state(client)
    response = await client.request(method, path, json=body, headers=headers)
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"
    assert await state(client) == before


async def test_same_origin_writes_pass(client: httpx.AsyncClient) -> None:
    same = {"Origin": "http://sandbox.test", "Sec-Fetch-Site": "same-origin"}
    response = await client.post("/_sandbox/clock", json={"action": "advance", "by": "1h"}, headers=same)
    assert response.status_code == 200
    assert (await client.post("/_sandbox/reset", headers={"Sec-Fetch-Site": "none"})).status_code == 200


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(b"", "application/x-www-form-urlencoded", id="empty-form"),
        pytest.param(b'{"action":"freeze"}', "text/plain", id="text-plain"),
        pytest.param(b'{"action":"freeze"}', None, id="no-content-type"),
        pytest.param(b"action=freeze", "multipart/form-data; boundary=x", id="multipart"),
    ],
)
async def test_api_writes_take_json_only(client: httpx.AsyncClient, content: bytes, content_type: str | None) -> None:
    """What a page can send without a preflight (forms, text, no type) never reaches the API."""
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.post("/_sandbox/clock", content=content, headers=headers)
    assert response.status_code == 415
    assert (await client.get("/_sandbox/clock")).json()["frozen"] is True  # the test clock is frozen anyway
    reset = await client.post("/_sandbox/reset", content=content, headers=headers)
    assert reset.status_code == 415


async def test_a_bodyless_write_from_a_command_line_client_works(client: httpx.AsyncClient) -> None:
    """curl -X POST .../reset sends no Origin, no Sec-Fetch-Site and no body."""
    assert (await client.post("/_sandbox/reset")).status_code == 200


async def test_dashboard_forms_need_this_browsers_csrf_token(
    client: httpx.AsyncClient, bearer: Callable[..., Any], sandbox: Sandbox
) -> None:
    await create(client, await bearer(), request_id="r-1")
    action = "/_sandbox/ui/seekpass/passbox-demo-client/r-1/complete"
    assert (await client.post(action, data={})).status_code == 403
    assert (await client.post(action, data={"csrf": "0" * 64})).status_code == 403
    other_browser = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with other_browser:
        page = (await other_browser.get("/_sandbox/ui/seekpass")).text
    stolen = page.split('name="csrf-token" content="', 1)[1][:64]
    assert (await client.post(action, data={"csrf": stolen})).status_code == 403  # bound to the other cookie
    request = (await client.get("/_sandbox/seekpass/requests/passbox-demo-client/r-1")).json()
    assert request["status"] == "incomplete"


async def test_the_admin_cookie_is_a_session_and_bearer_is_case_insensitive(make_client: Callable[..., Any]) -> None:
    async with make_client(admin_token="a-long-admin-token") as (client, _):
        for scheme in ("Bearer", "bearer", "BEARER"):
            ok = await client.get("/_sandbox/clock", headers={"Authorization": f"{scheme} a-long-admin-token"})
            assert ok.status_code == 200
        assert (
            await client.get("/_sandbox/clock", headers={"Authorization": "Basic a-long-admin-token"})
        ).status_code == 401
        login = await client.post("/_sandbox/login", data={"token": "a-long-admin-token"})
        assert login.status_code == 303
        session = client.cookies["passbox_admin"]
        assert session != "a-long-admin-token" and len(session) >= 32
        assert "HttpOnly" in login.headers["set-cookie"]
        assert (await client.get("/_sandbox/clock")).status_code == 200
        client.cookies.set("passbox_admin", "a-long-admin-token", path="/_sandbox")  # the old cookie form
        assert (await client.get("/_sandbox/clock")).status_code == 401


async def test_logins_are_throttled(make_client: Callable[..., Any]) -> None:
    async with make_client(admin_token="a-long-admin-token") as (client, _):
        for _ in range(5):
            assert (await client.post("/_sandbox/login", data={"token": "guess"})).status_code == 401
        throttled = await client.post("/_sandbox/login", data={"token": "a-long-admin-token"})
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) > 0
        assert "passbox_admin" not in client.cookies


async def test_ended_sessions_and_old_login_failures_are_retired(make_client: Callable[..., Any], wall: Any) -> None:
    from passbox.control.guard import FAILURES, SESSION_SECONDS, SESSIONS
    from passbox.core.store import GLOBAL

    async with make_client(admin_token="a-long-admin-token") as (client, sandbox):
        await client.post("/_sandbox/login", data={"token": "guess"})
        assert (await client.post("/_sandbox/login", data={"token": "a-long-admin-token"})).status_code == 303
        guard = client._transport.app.state.guard  # type: ignore[attr-defined]
        store = sandbox.core.store
        assert (store.count(SESSIONS, GLOBAL), store.count(FAILURES, GLOBAL)) == (1, 1)
        assert guard.retire() == 0
        wall.advance(SESSION_SECONDS + 1)
        assert guard.retire() == 2
        assert (store.count(SESSIONS, GLOBAL), store.count(FAILURES, GLOBAL)) == (0, 0)
        assert (await client.get("/_sandbox/clock")).status_code == 401  # the session ended
