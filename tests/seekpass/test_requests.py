"""Verification requests: create, idempotency, validation, results, isolation, expiry."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from passbox.app import Sandbox
from passbox.core.clock import Clock
from passbox.seekpass.backend import REQUESTS, SESSIONS
from tests.conftest import OTHER_CLIENT, Receiver, get_token
from tests.seekpass.helpers import CREATE, complete, create, open_app, payload

REDIRECT = re.compile(
    r"^http://sandbox\.test/partner/verify/digital_identity#clientId=passbox-demo-client&content=([0-9a-f-]{36})$"
)
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
PARTNER_ID = "7cbc7e51-82f5-43ec-8d63-b7cdf1170425"  # the vendor's sample request_id


def request_count(sandbox: Sandbox) -> int:
    return sandbox.core.store.count(REQUESTS)


async def test_create_returns_201_with_the_redirect_uri(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    headers = await bearer()
    body = payload(
        request_id="7cbc7e51-82f5-43ec-8d63-b7cdf1170425",
        display_options={"partner_name": "Acme", "partner_logo_url": "https://cdn.example/logo.png"},
        request_source=[{"name": "SEEK"}, {"name": "Acme ATS"}],
        metadata={
            "position_title": "Forklift Driver",
            "position_url": "https://jobs.example/123",
            "position_location": "Melbourne VIC",
            "job_categories": "Logistics",
            "applied_on_seek": True,
        },
    )
    response = await client.post(CREATE, json=body, headers=headers)
    assert response.status_code == 201
    data = response.json()
    assert set(data) == {"request_id", "redirect_uri"}
    assert data["request_id"] == "7cbc7e51-82f5-43ec-8d63-b7cdf1170425"
    assert REDIRECT.match(data["redirect_uri"])
    # Rails escapes & in JSON strings; the raw bytes show it, parsers undo it.
    assert "\\u0026content=" in response.text
    assert response.headers["location"] == f"/api/partner/v2/verify/requests/{data['request_id']}.json"


async def test_create_without_suffix_works_too(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    response = await client.post(CREATE.removesuffix(".json"), json=payload(), headers=await bearer())
    assert response.status_code == 201


@pytest.mark.parametrize("request_id", [pytest.param(None, id="null"), pytest.param("absent", id="absent")])
async def test_a_uuid_is_generated_when_no_request_id_is_sent(
    client: httpx.AsyncClient, bearer: Callable[..., Any], request_id: str | None
) -> None:
    body = payload() if request_id == "absent" else payload(request_id=None)
    response = await client.post(CREATE, json=body, headers=await bearer())
    assert UUID4.match(response.json()["request_id"])


async def test_a_drawn_id_a_partner_already_used_answers_with_that_request(
    make_client: Callable[..., Any],
) -> None:
    """Ids follow the seed, which is public: a partner can send the id the sandbox would draw
    next. The create without a request_id then finds it, as a create naming it would."""
    async with make_client() as (client, _):
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        await create(client, headers, request_id=PARTNER_ID)  # its content id takes position 1
        second_draw = (await create(client, headers))["request_id"]  # drawn at position 2
    async with make_client() as (client, sandbox):
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        taken = await create(client, headers, request_id=second_draw)  # its content id takes position 1
        again = await create(client, headers)  # draws positions 2 and 3: the request id is taken
        assert again == taken
        assert request_count(sandbox) == 1
        fresh = await create(client, headers)
        assert fresh["request_id"] != taken["request_id"]
        assert request_count(sandbox) == 2


async def test_same_request_id_within_48h_returns_the_same_redirect(
    client: httpx.AsyncClient, bearer: Callable[..., Any], sandbox: Sandbox, clock: Clock
) -> None:
    headers = await bearer()
    first = await create(client, headers, request_id="order-1")
    clock.advance(timedelta(hours=47, minutes=59))
    headers = await bearer()  # the first token expired long ago
    again = await create(client, headers, request_id="order-1", display_options={"partner_name": "Changed"})
    assert again == first
    assert request_count(sandbox) == 1


async def test_same_request_id_after_48h_is_a_new_request(
    client: httpx.AsyncClient, bearer: Callable[..., Any], sandbox: Sandbox, clock: Clock
) -> None:
    headers = await bearer()
    first = await create(client, headers, request_id="order-1")
    clock.advance(timedelta(hours=48))
    headers = await bearer()
    again = await create(client, headers, request_id="order-1")
    assert again["request_id"] == "order-1"
    assert again["redirect_uri"] != first["redirect_uri"]
    result = await client.get("/api/partner/v2/verify/requests/order-1.json", headers=headers)
    assert result.json()["status"] == "incomplete"
    assert request_count(sandbox) == 1
    assert sandbox.core.store.count(SESSIONS) == 1  # the first link's row went with it
    assert (await open_app(client, first["redirect_uri"])).status_code == 404
    assert (await open_app(client, again["redirect_uri"])).status_code == 200


async def test_partners_never_collide_on_request_ids(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    mine, theirs = await bearer(), await bearer(OTHER_CLIENT)
    a = await create(client, mine, request_id="shared-id")
    b = await create(client, theirs, request_id="shared-id")
    assert a["redirect_uri"] != b["redirect_uri"]
    assert "clientId=passbox-other-client" in b["redirect_uri"]
    await complete(client, a["redirect_uri"])
    mine_result = await client.get("/api/partner/v2/verify/requests/shared-id", headers=mine)
    theirs_result = await client.get("/api/partner/v2/verify/requests/shared-id", headers=theirs)
    assert mine_result.json()["status"] == "verified"
    assert theirs_result.json()["status"] == "incomplete"


async def test_another_partners_request_is_404(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    created = await create(client, await bearer())
    response = await client.get(
        f"/api/partner/v2/verify/requests/{created['request_id']}.json", headers=await bearer(OTHER_CLIENT)
    )
    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "message": f"No verification request '{created['request_id']}' for this client",
    }


async def test_a_public_url_setting_changes_the_redirect_host(make_client: Callable[..., Any]) -> None:
    async with make_client(public_url="https://passbox.ci.example/") as (client, _):
        created = await create(client, {"Authorization": f"Bearer {await get_token(client)}"})
    assert created["redirect_uri"].startswith("https://passbox.ci.example/partner/verify/digital_identity#")


INVALID = [
    pytest.param({"callback_url": "https://x.example"}, "display_options", "is required", id="no-display-options"),
    pytest.param(payload(display_options={}), "display_options.partner_name", "is required", id="no-partner-name"),
    pytest.param(
        payload(display_options={"partner_name": "   "}),
        "display_options.partner_name",
        "has an invalid format",
        id="blank-partner-name",
    ),
    pytest.param(
        payload(display_options={"partner_name": "x" * 256}),
        "display_options.partner_name",
        "is too long (at most 255 characters)",
        id="long-partner-name",
    ),
    pytest.param(
        payload(display_options={"partner_name": 5}),
        "display_options.partner_name",
        "must be a string",
        id="partner-name-number",
    ),
    pytest.param(
        payload(display_options={"partner_name": "A", "partner_logo_url": "javascript:alert(1)"}),
        "display_options.partner_logo_url",
        "has an invalid format",
        id="logo-not-http",
    ),
    pytest.param(payload(callback_url="ftp://x.example/cb"), "callback_url", "has an invalid format", id="ftp"),
    pytest.param(payload(callback_url="/relative/cb"), "callback_url", "has an invalid format", id="relative"),
    pytest.param(payload(callback_url="https://"), "callback_url", "has an invalid format", id="no-host"),
    pytest.param(payload(callback_url="https://a b.example"), "callback_url", "has an invalid format", id="space"),
    pytest.param(payload(request_id=""), "request_id", "is too short", id="empty-id"),
    pytest.param(payload(request_id="x" * 256), "request_id", "is too long (at most 255 characters)", id="long-id"),
    pytest.param(payload(request_id=12), "request_id", "", id="numeric-id"),
    pytest.param(payload(request_source=[{}]), "request_source[0].name", "is required", id="source-no-name"),
    pytest.param(payload(request_source="SEEK"), "request_source", "must be an array", id="source-string"),
    pytest.param(
        payload(metadata={"applied_on_seek": "yes"}),
        "metadata.applied_on_seek",
        "must be a boolean",
        id="bool",
    ),
    pytest.param(
        payload(metadata={"position_url": "nope"}),
        "metadata.position_url",
        "has an invalid format",
        id="pos-url",
    ),
    pytest.param(
        payload(metadata={"job_categories": ["Logistics"]}),
        "metadata.job_categories",
        "must be a string",
        id="category-array",
    ),
    pytest.param([payload()], "body", "must be an object", id="array-body"),
    pytest.param("hello", "body", "must be an object", id="string-body"),
]


@pytest.mark.parametrize(("body", "field", "message"), INVALID)
async def test_invalid_bodies_are_422_naming_the_field_and_store_nothing(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    sandbox: Sandbox,
    body: object,
    field: str,
    message: str,
) -> None:
    response = await client.post(CREATE, json=body, headers=await bearer())
    assert response.status_code == 422, response.text
    data = response.json()
    assert data["error"] == "validation_error"
    assert field in [detail["field"] for detail in data["details"]]
    detail = next(detail for detail in data["details"] if detail["field"] == field)
    assert message in detail["message"]
    assert f"{field}: " in data["message"]
    assert request_count(sandbox) == 0


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        pytest.param(b'{"display_options":', "application/json", 400, "bad_request", id="truncated-json"),
        pytest.param(b"", "application/json", 400, "bad_request", id="empty"),
        pytest.param(b"partner_name=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type", id="form"),
        pytest.param(b"{}" + b" " * 70_000, "application/json", 413, "payload_too_large", id="too-large"),
    ],
)
async def test_unreadable_bodies(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    sandbox: Sandbox,
    content: bytes,
    content_type: str,
    status: int,
    error: str,
) -> None:
    headers = {**(await bearer()), "Content-Type": content_type}
    response = await client.post(CREATE, content=content, headers=headers)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["message"]
    assert request_count(sandbox) == 0


@pytest.mark.parametrize("suffix", [".json", ""])
async def test_a_new_request_reads_incomplete_with_nulls(
    client: httpx.AsyncClient, bearer: Callable[..., Any], suffix: str
) -> None:
    headers = await bearer()
    created = await create(client, headers)
    response = await client.get(f"/api/partner/v2/verify/requests/{created['request_id']}{suffix}", headers=headers)
    assert response.status_code == 200
    assert response.json() == {
        "request_id": created["request_id"],
        "status": "incomplete",
        "finalized_at": None,
        "credential": None,
    }


async def test_unknown_request_is_404(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    response = await client.get("/api/partner/v2/verify/requests/nope.json", headers=await bearer())
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_unfinished_requests_expire_to_canceled_after_48h(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    clock: Clock,
    drain: Callable[..., Any],
    receiver: Receiver,
) -> None:
    headers = await bearer()
    await client.post("/api/partner/v2/webhooks", headers=headers, json={"name": "h", "url": "http://r.test/h"})
    created = await create(client, headers)
    url = f"/api/partner/v2/verify/requests/{created['request_id']}.json"
    clock.advance(timedelta(hours=48) - timedelta(seconds=1))
    assert await drain() == 0
    headers = await bearer()
    assert (await client.get(url, headers=headers)).json()["status"] == "incomplete"
    clock.advance(timedelta(seconds=1))
    # Reads never write: the expiry is scheduled work, not a side effect of the next read.
    assert (await client.get(url, headers=headers)).json()["status"] == "incomplete"
    assert receiver.requests == []
    assert await drain() == 2  # the expiry, then the canceled event's delivery
    result = (await client.get(url, headers=headers)).json()
    assert result["status"] == "canceled"
    assert result["finalized_at"] == "2026-03-04T09:30:00Z"
    assert result["credential"] is None
    assert [body["type"] for body in receiver.bodies()] == ["vwsp_request.canceled"]
    assert await drain() == 0  # once


async def test_expiry_timers_of_later_requests_sort_after_earlier_ones(
    client: httpx.AsyncClient, bearer: Callable[..., Any], sandbox: Sandbox, clock: Clock
) -> None:
    """Expiry keys begin with the expiry instant, so a SQL store appends each new one to its
    index instead of writing a random leaf; each still names its own request."""
    headers = await bearer()
    created = []
    for _ in range(3):
        created.append(await create(client, headers))
        clock.advance(timedelta(seconds=1))
    expiries = [timer for timer in sandbox.core.store.timers() if timer.job == "seekpass.expire"]
    assert [timer.payload for timer in expiries] == [request["request_id"] for request in created]
    keys = [timer.key for timer in expiries]
    assert keys == sorted(keys)
    expires = datetime(2026, 3, 4, 9, 30, tzinfo=UTC)  # 48 hours after the test clock's start
    assert keys[0].startswith(f"expire|{int(expires.timestamp()) * 1_000_000:018d}|")
    assert len({len(key) for key in keys}) == 1  # fixed width: text order is time order


async def create_with_earlier_expiry_timer(
    client: httpx.AsyncClient, headers: dict[str, str], sandbox: Sandbox, earlier: str
) -> dict[str, Any]:
    """A new request whose expiry timer is stored under a key an earlier passbox wrote."""
    created = await create(client, headers)
    [timer] = [timer for timer in sandbox.core.store.timers() if timer.job == "seekpass.expire"]
    content = created["redirect_uri"].rsplit("content=", 1)[1]
    if earlier == "content":
        key = f"expire|{content}"
    else:
        key = f"expire|{timer.due_at.isoformat(timespec='microseconds')}|{content}"
    sandbox.core.store.cancel(timer.tenant, timer.key)
    sandbox.core.store.schedule(timer.tenant, key, timer.due, timer.job, timer.payload)
    return created


@pytest.mark.parametrize("earlier", ["content", "iso"])
async def test_an_expiry_timer_stored_by_an_earlier_passbox_still_expires_its_request(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    sandbox: Sandbox,
    clock: Clock,
    drain: Callable[..., Any],
    earlier: str,
) -> None:
    created = await create_with_earlier_expiry_timer(client, await bearer(), sandbox, earlier)
    clock.advance(timedelta(hours=48))
    assert await drain() == 1
    url = f"/api/partner/v2/verify/requests/{created['request_id']}.json"
    assert (await client.get(url, headers=await bearer())).json()["status"] == "canceled"


async def test_an_earlier_expiry_timer_of_a_finished_request_runs_and_changes_nothing(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    sandbox: Sandbox,
    clock: Clock,
    drain: Callable[..., Any],
    receiver: Receiver,
) -> None:
    """Finishing a request cancels its expiry by today's key; a timer an earlier passbox stored
    under another key stays, runs at the expiry, and finds the request finished."""
    created = await create_with_earlier_expiry_timer(client, await bearer(), sandbox, "iso")
    await complete(client, created["redirect_uri"])
    await drain()
    sent = len(receiver.bodies())
    clock.advance(timedelta(hours=48))
    assert await drain() == 1  # the earlier timer ran
    url = f"/api/partner/v2/verify/requests/{created['request_id']}.json"
    assert (await client.get(url, headers=await bearer())).json()["status"] != "canceled"
    assert len(receiver.bodies()) == sent  # no canceled event


async def test_finished_requests_do_not_expire(
    client: httpx.AsyncClient, bearer: Callable[..., Any], clock: Clock
) -> None:
    headers = await bearer()
    created = await create(client, headers)
    await complete(client, created["redirect_uri"])
    clock.advance(timedelta(days=3))
    headers = await bearer()
    result = (await client.get(f"/api/partner/v2/verify/requests/{created['request_id']}", headers=headers)).json()
    assert result["status"] == "verified"
    assert result["finalized_at"] == "2026-03-02T09:30:00Z"


async def test_request_expiry_is_configurable(make_client: Callable[..., Any], clock: Clock) -> None:
    async with make_client(request_ttl=60) as (client, sandbox):
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        created = await create(client, headers)
        clock.advance(60)
        await sandbox.core.scheduler.drain()
        result = await client.get(f"/api/partner/v2/verify/requests/{created['request_id']}", headers=headers)
    assert result.json()["status"] == "canceled"


VENDOR_SAMPLE = {
    # The vendor's own sample body (Verify with SEEK Pass page), with real URLs for its "string"s.
    "request_id": "7cbc7e51-82f5-43ec-8d63-b7cdf1170425",
    "callback_url": "https://www.partner.com/callback",
    "display_options": {"partner_name": "string", "partner_logo_url": "https://www.partner.com/logo.png"},
    "request_source": [{"name": "string"}],
    "metadata": {
        "position_title": "string",
        "position_url": "https://www.partner.com/jobs/1",
        "position_location": "string",
        "job_categories": "string",
        "applied_on_seek": True,
    },
}


async def test_the_vendors_sample_body_is_accepted_as_is(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    headers = await bearer()
    response = await client.post(CREATE, json=VENDOR_SAMPLE, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["request_id"] == VENDOR_SAMPLE["request_id"]
    stored = await client.get(f"/api/partner/v2/verify/requests/{VENDOR_SAMPLE['request_id']}.json", headers=headers)
    assert stored.status_code == 200


@pytest.mark.parametrize(
    ("request_id", "path"),
    [
        pytest.param("order.42", "order.42.json", id="dot"),
        pytest.param("order.42", "order.42", id="dot-no-suffix"),
        pytest.param("acme/orders/42", "acme%2Forders%2F42.json", id="slash-encoded"),
        pytest.param("acme/orders/42", "acme/orders/42.json", id="slash"),
        pytest.param("me@example.com", "me@example.com.json", id="at"),
        pytest.param("an id with spaces", "an%20id%20with%20spaces.json", id="space"),
        pytest.param("report.json", "report.json.json", id="ends-in-json"),
        pytest.param("ünïcødé-✓", "%C3%BCn%C3%AFc%C3%B8d%C3%A9-%E2%9C%93.json", id="unicode"),
        pytest.param("x" * 255, "x" * 255 + ".json", id="255-chars"),
    ],
)
async def test_any_request_id_is_created_and_read_back(
    client: httpx.AsyncClient, bearer: Callable[..., Any], request_id: str, path: str
) -> None:
    headers = await bearer()
    created = await client.post(CREATE, json=payload(request_id=request_id), headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["request_id"] == request_id
    location = created.headers["location"]
    read = await client.get(f"/api/partner/v2/verify/requests/{path}", headers=headers)
    assert read.status_code == 200, read.text
    assert read.json()["request_id"] == request_id
    assert (await client.get(location, headers=headers)).json()["request_id"] == request_id
    again = await client.post(CREATE, json=payload(request_id=request_id), headers=headers)
    assert again.status_code == 201 and again.json() == created.json()  # idempotent, as ever


async def test_an_id_ending_in_json_is_not_the_id_without_it(
    client: httpx.AsyncClient, bearer: Callable[..., Any]
) -> None:
    headers = await bearer()
    await create(client, headers, request_id="report.json")
    response = await client.get("/api/partner/v2/verify/requests/report.json", headers=headers)
    assert response.status_code == 404  # one .json is stripped: this asks for "report"
