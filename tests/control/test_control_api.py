"""The control API's own refusals: unknown things, finished requests, token problems."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import get_token
from tests.seekpass.helpers import complete, create
from tests.verifypass.helpers import OTHER_KEY, make_token

REQUESTS = "/_sandbox/seekpass/requests"
VERIFICATIONS = "/_sandbox/verifypass/verifications"


async def test_seekpass_requests_are_listed(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    created = await create(client, headers, request_id="r-1")
    listed = (await client.get(REQUESTS)).json()
    assert [(r["client_id"], r["request_id"], r["status"], r["finished_via"]) for r in listed] == [
        ("passbox-demo-client", "r-1", "incomplete", None)
    ]
    assert listed[0]["redirect_uri"] == created["redirect_uri"]
    assert (await client.get(REQUESTS, params={"client_id": "passbox-other-client"})).json() == []
    assert (await client.get(REQUESTS, params={"client_id": "nobody"})).json() == []


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        pytest.param("/nobody/r-1/complete", None, 404, "not_found", id="unknown-client"),
        pytest.param("/passbox-demo-client/missing/cancel", None, 404, "not_found", id="unknown-request"),
        pytest.param(
            "/passbox-demo-client/r-1/complete", {"persona": "nobody"}, 404, "not_found", id="unknown-persona"
        ),
        pytest.param(
            "/passbox-demo-client/r-1/complete",
            {"document_type": "library_card"},
            422,
            "validation_error",
            id="bad-doc",
        ),
        # A request id may hold "/": "r-1/refund" names a request, which can only be read (GET).
        pytest.param("/passbox-demo-client/r-1/refund", None, 405, "method_not_allowed", id="unknown-action"),
    ],
)
async def test_seekpass_refusals(
    client: httpx.AsyncClient, path: str, body: dict[str, Any] | None, status: int, error: str
) -> None:
    await create(client, {"Authorization": f"Bearer {await get_token(client)}"}, request_id="r-1")
    response = await client.post(f"{REQUESTS}{path}", json=body)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert (await client.get(REQUESTS)).json()[0]["status"] == "incomplete"


async def test_a_finished_request_cannot_be_forced_again(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    created = await create(client, headers, request_id="r-1")
    await complete(client, created["redirect_uri"])
    for action in ("complete", "cancel", "expire"):
        response = await client.post(f"{REQUESTS}/passbox-demo-client/r-1/{action}")
        assert response.status_code == 409
        assert response.json()["error"] == "conflict"


async def test_complete_without_a_callback_redirects_nowhere(client: httpx.AsyncClient) -> None:
    await create(client, {"Authorization": f"Bearer {await get_token(client)}"}, request_id="r-2", callback_url=None)
    response = (await client.post(f"{REQUESTS}/passbox-demo-client/r-2/complete")).json()
    assert response["redirect_to"] is None
    assert response["request"]["status"] == "verified"
    assert response["request"]["finished_via"] == "control"


async def test_a_verification_fills_missing_details_from_the_token_then_a_seeded_person(
    client: httpx.AsyncClient,
) -> None:
    token = await make_token(client, first_name="Tok", email="tok.en@example.com", lock_email=True)
    result = (await client.post(VERIFICATIONS, json={"widget_key": "demo-widget", "token": token})).json()
    activity = result["activity"]
    assert (activity["first_name"], activity["email"]) == ("Tok", "tok.en@example.com")
    assert activity["last_name"]  # generated
    assert result["outcome"] == "positive" and result["code"] == "HEROES15"
    generated = (await client.post(VERIFICATIONS, json={"widget_key": "other-widget"})).json()["activity"]
    assert generated["first_name"] and "@" in generated["email"]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        pytest.param({"widget_key": "nope"}, 404, "not_found", id="unknown-widget"),
        pytest.param({"widget_key": "demo-widget", "persona": "nobody"}, 404, "not_found", id="unknown-persona"),
        pytest.param({"widget_key": "demo-widget", "community": "zzz"}, 404, "not_found", id="unknown-community"),
        pytest.param({"widget_key": "demo-token-only"}, 403, "forbidden", id="token-required"),
        pytest.param({"widget_key": "demo-private"}, 403, "forbidden", id="private"),
        pytest.param({"widget_key": "demo-widget", "token": "garbage"}, 403, "invalid_token", id="bad-token"),
        pytest.param({"widget_key": "demo-widget", "outcome": "maybe"}, 422, "validation_error", id="bad-outcome"),
        pytest.param({"widget_key": "demo-widget", "email": "nope"}, 422, "validation_error", id="bad-email"),
        pytest.param({"widget_key": "demo-widget", "dob": "2020-01-01"}, 422, "validation_error", id="too-young"),
    ],
)
async def test_verifypass_refusals(client: httpx.AsyncClient, body: dict[str, Any], status: int, error: str) -> None:
    response = await client.post(VERIFICATIONS, json=body)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert (await client.get("/_sandbox/verifypass/activity")).json() == []
    asked = await client.post(
        VERIFICATIONS, json={"widget_key": "demo-widget", "community": "tea", "outcome": "negative"}
    )
    assert asked.status_code == 200 and asked.json()["outcome"] == "negative"


async def test_token_problems_in_the_control_api(client: httpx.AsyncClient) -> None:
    theirs = await make_token(client, key=OTHER_KEY)
    foreign = await client.post(VERIFICATIONS, json={"widget_key": "demo-widget", "token": theirs})
    assert foreign.status_code == 403
    locked = await make_token(client, email="locked@example.com", lock_email=True)
    conflict = await client.post(VERIFICATIONS, json={"widget_key": "demo-widget", "token": locked, "email": "x@y.co"})
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "applicant_conflict"


async def test_a_spent_token_in_the_control_api(make_client: Callable[..., Any]) -> None:
    async with make_client(applicant_token_single_use=True) as (client, _):
        spent = await make_token(client)
        first = await client.post(VERIFICATIONS, json={"widget_key": "demo-widget", "token": spent})
        assert first.status_code == 200
        again = await client.post(VERIFICATIONS, json={"widget_key": "demo-widget", "token": spent})
    assert again.status_code == 409
    assert again.json()["error"] == "token_spent"


async def test_activity_lists_negative_ones_too(client: httpx.AsyncClient) -> None:
    await client.post(VERIFICATIONS, json={"widget_key": "demo-widget", "outcome": "negative"})
    await client.post(VERIFICATIONS, json={"widget_key": "other-widget"})
    everything = (await client.get("/_sandbox/verifypass/activity")).json()
    assert [(a["account_id"], a["outcome"]) for a in everything] == [
        ("passbox-demo-account", "negative"),
        ("passbox-other-account", "positive"),
    ]
    mine = (await client.get("/_sandbox/verifypass/activity", params={"account_id": "passbox-other-account"})).json()
    assert len(mine) == 1


async def test_request_ids_with_slashes_and_dots_on_the_control_plane(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    await create(client, headers, request_id="acme/orders/4.2")
    shown = await client.get(f"{REQUESTS}/passbox-demo-client/acme%2Forders%2F4.2")
    assert shown.status_code == 200 and shown.json()["request_id"] == "acme/orders/4.2"
    done = await client.post(f"{REQUESTS}/passbox-demo-client/acme/orders/4.2/complete")
    assert done.status_code == 200
    assert done.json()["request"]["status"] == "verified"
    result = await client.get("/api/partner/v2/verify/requests/acme%2Forders%2F4.2.json", headers=headers)
    assert result.json()["status"] == "verified"


async def test_a_community_the_widget_does_not_offer_is_a_clear_refusal(client: httpx.AsyncClient) -> None:
    response = await client.post(VERIFICATIONS, json={"widget_key": "demo-widget", "community": "tea"})
    assert response.status_code == 409
    assert response.json()["error"] == "community_not_offered"
    assert "offers mil, fir" in response.json()["message"]
    assert (await client.get("/_sandbox/verifypass/activity")).json() == []
