"""bench/bare_app.py, the ceiling row of the bench: it must do the work passbox does for each
load (else its figure means nothing), through the same backends and state as the full app."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bench.bare_app import CREATE_PATH, READ_PATH, TOKEN_PATH, build
from passbox.seekpass.errors import InvalidToken
from passbox.verifypass.backend import VerifyPassError

CREDENTIALS = {
    "grant_type": "client_credentials",
    "client_id": "passbox-demo-client",
    "client_secret": "passbox-demo-secret",
}
CREATE_BODY = {"display_options": {"partner_name": "Bench"}}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build(settle=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        yield http


async def bearer(client: httpx.AsyncClient) -> dict[str, str]:
    answer = await client.post("/api/partner/v1/oauth/token.json", json=CREDENTIALS)  # the full app's route
    assert answer.status_code == 200
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def test_create_stores_a_request_the_full_app_serves(client: httpx.AsyncClient) -> None:
    headers = await bearer(client)
    created = await client.post(CREATE_PATH, headers=headers, json=CREATE_BODY)
    assert created.status_code == 201
    request_id = created.json()["request_id"]
    assert created.headers["location"] == f"/api/partner/v2/verify/requests/{request_id}.json"
    assert created.json()["redirect_uri"].startswith("http://127.0.0.1:8000/")
    found = await client.get(created.headers["location"], headers=headers)  # the full app's route
    assert found.status_code == 200
    assert found.json()["request_id"] == request_id
    assert found.json()["status"] == "incomplete"
    again = await client.post(CREATE_PATH, headers=headers, json=CREATE_BODY)
    assert again.json()["request_id"] != request_id


async def test_create_checks_the_bearer(client: httpx.AsyncClient) -> None:
    with pytest.raises(InvalidToken):  # raised, not answered: there is no edge
        await client.post(CREATE_PATH, headers={"Authorization": "Bearer nope"}, json=CREATE_BODY)


async def test_read_answers_what_the_full_app_answers(client: httpx.AsyncClient) -> None:
    headers = await bearer(client)
    hook = await client.post("/api/partner/v2/webhooks.json", headers=headers, json={"url": "https://example.com/h"})
    assert hook.status_code == 201
    bare = await client.get(READ_PATH, headers=headers)
    full = await client.get(READ_PATH + ".json", headers=headers)  # the full app's route
    assert bare.status_code == full.status_code == 200
    assert bare.json() == full.json()
    assert [item["id"] for item in bare.json()] == [hook.json()["id"]]


async def test_token_is_issued_by_the_account_key(client: httpx.AsyncClient) -> None:
    answer = await client.post(TOKEN_PATH, headers={"key": "passbox-demo-key"}, json={"email": "bench@example.com"})
    assert answer.status_code == 200
    assert isinstance(answer.json()["token"], str) and len(answer.json()["token"]) > 40
    with pytest.raises(VerifyPassError):
        await client.post(TOKEN_PATH, headers={"key": "wrong"}, json={})
