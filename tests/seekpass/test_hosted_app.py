"""The hosted SEEK Pass app page: open, choose, verify or cancel, and be sent back."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from passbox.app import Sandbox, create_app
from passbox.core.clock import Clock
from passbox.seekpass.backend import REQUESTS, SESSIONS
from passbox.settings import Settings
from tests.conftest import BASE_URL, DEMO_CLIENT, START
from tests.seekpass.helpers import APP, complete, create, fragment, open_app, submit

RESULT = "/api/partner/v2/verify/requests/{}.json"


async def result(client: httpx.AsyncClient, headers: dict[str, str], request_id: str) -> dict[str, Any]:
    response = await client.get(RESULT.format(request_id), headers=headers)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_without_parameters_the_page_reads_the_fragment_with_script(client: httpx.AsyncClient) -> None:
    response = await client.get(APP)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script src="/partner/verify/bootstrap.js"></script>' in response.text
    script = (await client.get("/partner/verify/bootstrap.js")).text
    assert "window.location.hash" in script
    assert "window.location.replace" in script


async def test_the_page_shows_the_partner_and_the_choice(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    created = await create(
        client,
        await bearer(),
        display_options={
            "partner_name": "Acme <Recruiting>",
            "partner_logo_url": "https://cdn.example/acme.png",
        },
        metadata={"position_title": "Forklift Driver", "position_location": "Geelong"},
    )
    page = await open_app(client, created["redirect_uri"])
    assert page.status_code == 200
    assert "Acme &lt;Recruiting&gt; wants to verify your identity" in page.text
    assert '<img src="https://cdn.example/acme.png"' in page.text
    assert "Forklift Driver" in page.text and "Geelong" in page.text
    assert 'value="passport"' in page.text and 'value="drivers_licence"' in page.text
    assert 'name="decision" value="verify"' in page.text and 'name="decision" value="cancel"' in page.text
    assert "passbox sandbox" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "passbox_seekpass_user=" in page.headers["set-cookie"]


async def test_verify_redirects_to_the_callback_keeping_its_query(
    client: httpx.AsyncClient, bearer: Callable[..., Any], clock: Clock
) -> None:
    headers = await bearer()
    created = await create(client, headers, request_id="req-1")
    clock.advance(30)
    response = await complete(client, created["redirect_uri"], "verify", "passport")
    assert response.status_code == 303
    assert response.headers["location"] == "https://partner.example/seekpass/callback?session=abc&request_id=req-1"
    body = await result(client, headers, "req-1")
    assert body["status"] == "verified"
    assert body["finalized_at"] == "2026-03-02T09:30:30Z"
    credential = body["credential"]
    assert credential["document_type"] == "passport"
    assert credential["full_name"] == f"{credential['given_name']} {credential['family_name']}"
    assert re.fullmatch(r"(PA|PB|PC|PD|PE|RA|N|M)\d{7}", credential["document_number"])
    assert credential["issuing_country"] == "AUS"
    assert credential["issuing_state"] is None
    born = date.fromisoformat(credential["date_of_birth"])
    today = date(2026, 3, 2)
    assert today - timedelta(days=75 * 365) <= born <= today - timedelta(days=18 * 365)
    assert date.fromisoformat(credential["expiry_date"]) > today


async def test_a_drivers_licence_has_a_state(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    headers = await bearer()
    created = await create(client, headers)
    await complete(client, created["redirect_uri"], "verify", "drivers_licence")
    credential = (await result(client, headers, created["request_id"]))["credential"]
    assert credential["document_type"] == "drivers_licence"
    assert credential["issuing_state"] in {"NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT", "NT"}
    assert credential["document_number"].isdigit()


async def test_cancel_redirects_and_reads_canceled(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    headers = await bearer()
    created = await create(client, headers, request_id="req-2")
    response = await complete(client, created["redirect_uri"], "cancel")
    assert response.status_code == 303
    assert response.headers["location"].endswith("request_id=req-2")
    body = await result(client, headers, "req-2")
    assert body["status"] == "canceled"
    assert body["finalized_at"] == "2026-03-02T09:30:00Z"
    assert body["credential"] is None


@pytest.mark.parametrize(
    ("callback", "expected"),
    [
        pytest.param("https://p.example/cb", "https://p.example/cb?request_id=r1", id="plain"),
        pytest.param("https://p.example/cb?a=1&b=2", "https://p.example/cb?a=1&b=2&request_id=r1", id="query"),
        pytest.param("https://p.example/cb?request_id=spoof", "https://p.example/cb?request_id=r1", id="replaced"),
        pytest.param("https://p.example/cb#done", "https://p.example/cb?request_id=r1#done", id="fragment"),
        pytest.param("http://localhost:3000/cb", "http://localhost:3000/cb?request_id=r1", id="localhost"),
    ],
)
async def test_callback_url_forms(
    client: httpx.AsyncClient, bearer: Callable[..., Any], callback: str, expected: str
) -> None:
    created = await create(client, await bearer(), request_id="r1", callback_url=callback)
    response = await complete(client, created["redirect_uri"])
    assert response.headers["location"] == expected


async def test_without_a_callback_the_user_sees_a_done_page(
    client: httpx.AsyncClient, bearer: Callable[..., Any]
) -> None:
    created = await create(client, await bearer(), callback_url=None)
    response = await complete(client, created["redirect_uri"])
    assert response.status_code == 200
    assert "You're verified" in response.text
    assert "Acme Recruiting" in response.text


async def test_a_second_completion_is_refused_and_changes_nothing(
    client: httpx.AsyncClient, bearer: Callable[..., Any]
) -> None:
    headers = await bearer()
    created = await create(client, headers)
    await complete(client, created["redirect_uri"], "verify", "passport")
    before = await result(client, headers, created["request_id"])
    again = await submit(client, created["redirect_uri"], "cancel")
    assert again.status_code == 409
    assert "already finished" in again.text and "already verified" in again.text
    reopened = await open_app(client, created["redirect_uri"])
    assert reopened.status_code == 409
    assert await result(client, headers, created["request_id"]) == before


async def test_an_expired_request_cannot_be_completed(
    client: httpx.AsyncClient, bearer: Callable[..., Any], clock: Clock, drain: Callable[..., Any]
) -> None:
    created = await create(client, await bearer())
    clock.advance(timedelta(hours=48))
    await drain()
    response = await open_app(client, created["redirect_uri"])
    assert response.status_code == 409
    assert "already canceled" in response.text


async def test_the_link_belongs_to_the_first_browser(
    client: httpx.AsyncClient, app: Any, bearer: Callable[..., Any]
) -> None:
    headers = await bearer()
    created = await create(client, headers)
    assert (await open_app(client, created["redirect_uri"])).status_code == 200
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as stranger:
        page = await open_app(stranger, created["redirect_uri"])
        assert page.status_code == 403
        assert "belongs to another SEEK Pass user" in page.text
        posted = await submit(stranger, created["redirect_uri"], "verify")
        assert posted.status_code == 403
    assert (await result(client, headers, created["request_id"]))["status"] == "incomplete"
    assert (await submit(client, created["redirect_uri"], "verify")).status_code == 303


@pytest.mark.parametrize(
    ("params", "status", "text"),
    [
        pytest.param({"clientId": DEMO_CLIENT[0], "content": "nope"}, 404, "not valid", id="unknown-content"),
        pytest.param({"clientId": "passbox-other-client", "content": None}, 404, "not valid", id="wrong-client"),
    ],
)
async def test_bad_links_show_a_clear_page(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    params: dict[str, str | None],
    status: int,
    text: str,
) -> None:
    created = await create(client, await bearer())
    content = fragment(created["redirect_uri"])["content"]
    query = {key: value if value is not None else content for key, value in params.items()}
    response = await client.get(APP, params=query)
    assert response.status_code == status
    assert text in response.text


@pytest.mark.parametrize(
    ("decision", "document_type", "status", "text"),
    [
        pytest.param("maybe", "passport", 422, "Choose Verify or Cancel", id="bad-decision"),
        pytest.param("verify", "birth_certificate", 422, "Choose a passport or a driver", id="bad-document"),
        pytest.param("verify", None, 422, "Choose a credential to verify", id="no-document"),
    ],
)
async def test_bad_submissions_change_nothing(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    decision: str,
    document_type: str | None,
    status: int,
    text: str,
) -> None:
    headers = await bearer()
    created = await create(client, headers)
    await open_app(client, created["redirect_uri"])
    response = await submit(client, created["redirect_uri"], decision, document_type)
    assert response.status_code == status
    assert text in response.text
    assert (await result(client, headers, created["request_id"]))["status"] == "incomplete"


async def test_the_same_seed_gives_the_same_person_whatever_the_order() -> None:
    async def person_for(request_ids: list[str]) -> dict[str, Any]:
        app = create_app(Settings(seed=42, clock=Clock.frozen(START)))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
            token = (
                await client.post(
                    "/api/partner/v1/oauth/token.json",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": DEMO_CLIENT[0],
                        "client_secret": DEMO_CLIENT[1],
                    },
                )
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            people = {}
            for request_id in request_ids:
                created = await create(client, headers, request_id=request_id)
                await complete(client, created["redirect_uri"])
                people[request_id] = (await result(client, headers, request_id))["credential"]
            return people

    forward = await person_for(["a", "b"])
    backward = await person_for(["b", "a"])
    assert forward == backward
    assert forward["a"] != forward["b"]


@pytest.mark.parametrize(
    ("request_id", "rows"),
    [pytest.param(None, 0, id="id-drawn-by-seekpass"), pytest.param("order-7", 1, id="partner-id")],
)
async def test_a_link_finds_its_request_with_a_session_row_only_when_the_partner_chose_the_id(
    client: httpx.AsyncClient, bearer: Callable[..., Any], sandbox: Sandbox, request_id: str | None, rows: int
) -> None:
    headers = await bearer()
    created = await create(client, headers, **({"request_id": request_id} if request_id else {}))
    store = sandbox.core.store
    assert store.count(SESSIONS) == rows
    assert (await complete(client, created["redirect_uri"])).status_code == 303
    assert (await result(client, headers, created["request_id"]))["status"] == "verified"
    assert store.count(SESSIONS) == rows  # finishing keeps (and dates) the row, adds none
    assert (await submit(client, created["redirect_uri"], "verify")).status_code == 409  # still found: finished


async def test_a_link_stored_by_an_earlier_passbox_still_opens(
    client: httpx.AsyncClient, bearer: Callable[..., Any], sandbox: Sandbox
) -> None:
    """Earlier content ids were plain uuid4 draws, each with a session row keyed by itself."""
    headers = await bearer()
    created = await create(client, headers, request_id="order-old")
    store = sandbox.core.store
    tenant = "seekpass:" + DEMO_CLIENT[0]
    old_content = "0b8e2a4c-6f1d-4e2a-9c3b-5d7e8f9a0b1c"
    with store.transaction():
        request = store.get(REQUESTS, tenant, "order-old")
        assert request is not None
        store.put(REQUESTS, tenant, "order-old", msgspec.structs.replace(request, content_id=old_content))
        assert store.delete(SESSIONS, tenant, "n0000000000000001")  # its content id took position 1
        store.put(SESSIONS, tenant, old_content, "order-old")
    old_uri = created["redirect_uri"].replace(fragment(created["redirect_uri"])["content"], old_content)
    assert (await complete(client, old_uri)).status_code == 303
    assert (await result(client, headers, "order-old"))["status"] == "verified"
    assert store.get(SESSIONS, tenant, old_content) == "order-old"
    assert (await open_app(client, created["redirect_uri"])).status_code == 404  # the new-style link is not its link


async def test_a_numbered_link_nobody_was_given_is_not_valid(
    client: httpx.AsyncClient, bearer: Callable[..., Any], sandbox: Sandbox
) -> None:
    headers = await bearer()
    created = await create(client, headers)
    chosen = await create(client, headers, request_id=created["request_id"] + "-x")
    ids = sandbox.core.rand.stream("seekpass.ids")
    content = fragment(created["redirect_uri"])["content"]
    at = ids.number_of(content)
    assert at is not None and ids.number_of(fragment(chosen["redirect_uri"])["content"]) == at + 1
    for forged in (ids.numbered_uuid4(at - 1), ids.numbered_uuid4(at + 2), ids.numbered_uuid4(at + 100)):
        page = await client.get(APP, params={"clientId": DEMO_CLIENT[0], "content": forged})
        assert page.status_code == 404
        assert "not valid" in page.text
    assert (await open_app(client, created["redirect_uri"])).status_code == 200
    assert (await open_app(client, chosen["redirect_uri"])).status_code == 200
