"""POST /api/v2/token: the key header, optional fields, the vendor's exact errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sandbox.app import Sandbox
from sandbox.core.clock import Clock
from tests.verifypass.helpers import KEY, backend_of

TOKEN = "/api/v2/token"


async def test_a_token_carries_the_fields_given(client: httpx.AsyncClient, sandbox: Sandbox, clock: Clock) -> None:
    fields = {
        "first_name": "John",
        "last_name": "Smith",
        "dob": "1990-01-01",
        "email": "john.smith@gmail.com",
        "lock_email": True,
        "uid": "data1:abc,data2:def",
    }
    response = await client.post(TOKEN, json=fields, headers=KEY)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["token"]
    # Laravel escapes slashes in JSON; the raw response never shows a bare "/" inside the token.
    assert "/" not in response.text.replace("\\/", "")
    content = backend_of(sandbox).codec.decrypt_json(body["token"])
    assert content["acct"] == "passbox-demo-account"
    assert {k: content[k] for k in fields} == fields
    assert content["exp"] - content["iat"] == 24 * 3600
    assert content["iat"] == clock.unix()


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        pytest.param(b"", {}, id="no-body"),
        pytest.param(b"", {"Content-Type": "application/json"}, id="empty-json-body"),
        pytest.param(b"{}", {"Content-Type": "application/json"}, id="empty-object"),
        pytest.param(b"{}", {}, id="json-without-content-type"),
    ],
)
async def test_every_field_is_optional(
    client: httpx.AsyncClient, sandbox: Sandbox, content: bytes, headers: dict[str, str]
) -> None:
    response = await client.post(TOKEN, content=content, headers={**KEY, **headers})
    assert response.status_code == 200, response.text
    content_of_token = backend_of(sandbox).codec.decrypt_json(response.json()["token"])
    assert set(content_of_token) == {"acct", "jti", "iat", "exp"}


async def test_email_is_not_checked_unless_locked(client: httpx.AsyncClient) -> None:
    for body in ({"email": "not-an-email"}, {"email": "not-an-email", "lock_email": False}):
        assert (await client.post(TOKEN, json=body, headers=KEY)).status_code == 200


async def test_nulls_count_as_absent(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    body = {name: None for name in ("first_name", "last_name", "dob", "email", "lock_email", "uid")}
    response = await client.post(TOKEN, json=body, headers=KEY)
    assert response.status_code == 200
    assert set(backend_of(sandbox).codec.decrypt_json(response.json()["token"])) == {"acct", "jti", "iat", "exp"}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"key": ""}, id="empty"),
        pytest.param({"key": "passbox-demo-ke"}, id="prefix"),
        pytest.param({"key": "PASSBOX-DEMO-KEY"}, id="case"),
        pytest.param({"Authorization": "Bearer passbox-demo-key"}, id="bearer-instead"),
    ],
)
async def test_a_missing_or_wrong_key_is_invalid_api_key(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.post(TOKEN, json={"email": "a@b.co"}, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid API key."}


async def test_the_header_name_is_case_insensitive(client: httpx.AsyncClient) -> None:
    assert (await client.post(TOKEN, json={}, headers={"KEY": "passbox-demo-key"})).status_code == 200


@pytest.mark.parametrize(
    ("body", "error"),
    [
        pytest.param({"lock_email": True}, "E-mail appears to be invalid.", id="locked-no-email"),
        pytest.param({"lock_email": True, "email": None}, "E-mail appears to be invalid.", id="locked-null-email"),
        pytest.param({"lock_email": True, "email": "john"}, "E-mail appears to be invalid.", id="locked-bad-email"),
        pytest.param({"lock_email": True, "email": "a@b"}, "E-mail appears to be invalid.", id="locked-no-tld"),
        pytest.param({"lock_email": True, "email": 5}, "E-mail appears to be invalid.", id="locked-number"),
        pytest.param({"uid": "u" * 65}, "The uid field must not be greater than 64 characters.", id="uid-too-long"),
        pytest.param({"dob": "01/02/1990"}, "The dob field must match the format Y-m-d.", id="dob-format"),
        pytest.param({"dob": "1990-02-30"}, "The dob field must match the format Y-m-d.", id="dob-impossible"),
        pytest.param({"dob": 19900101}, "The dob field must match the format Y-m-d.", id="dob-number"),
        pytest.param({"lock_email": "yes"}, "The lock email field must be true or false.", id="lock-string"),
        pytest.param({"first_name": ["J"]}, "The first name field must be a string.", id="name-list"),
        pytest.param(
            {"last_name": "x" * 256}, "The last name field must not be greater than 255 characters.", id="long-name"
        ),
        pytest.param([], "The request body must be a JSON object.", id="array"),
        pytest.param("token please", "The request body must be a JSON object.", id="string"),
    ],
)
async def test_invalid_fields_are_422_with_the_vendors_wording(
    client: httpx.AsyncClient, body: Any, error: str
) -> None:
    response = await client.post(TOKEN, json=body, headers=KEY)
    assert response.status_code == 422
    assert response.json() == {"error": error}


async def test_a_locked_valid_email_is_fine(client: httpx.AsyncClient) -> None:
    response = await client.post(
        TOKEN, json={"lock_email": True, "email": "o'neil+vip@mail.example.co.uk"}, headers=KEY
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("content", "content_type", "status", "error"),
    [
        pytest.param(b'{"email":', "application/json", 400, "The request body is not valid JSON.", id="truncated"),
        pytest.param(b"\xff\xfe", "application/json", 400, "The request body is not valid JSON.", id="not-utf8"),
        pytest.param(
            b"email=a%40b.co",
            "application/x-www-form-urlencoded",
            415,
            "The Content-Type must be application/json.",
            id="form",
        ),
        pytest.param(b"{}" + b" " * 70_000, "application/json", 413, "The request body is too large.", id="too-large"),
    ],
)
async def test_unreadable_bodies(
    client: httpx.AsyncClient, content: bytes, content_type: str, status: int, error: str
) -> None:
    response = await client.post(TOKEN, content=content, headers={**KEY, "Content-Type": content_type})
    assert response.status_code == status
    assert response.json() == {"error": error}


async def test_the_key_is_checked_before_the_body(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN, content=b"{", headers={"key": "nope", "Content-Type": "application/json"})
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid API key."}


async def test_token_lifetime_is_configurable(make_client: Callable[..., Any]) -> None:
    async with make_client(applicant_token_ttl=600) as (client, sandbox):
        token = (await client.post(TOKEN, json={}, headers=KEY)).json()["token"]
    content = backend_of(sandbox).codec.decrypt_json(token)
    assert content["exp"] - content["iat"] == 600


async def test_other_paths_under_api_v2_are_not_emulated_in_the_vendor_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v2/verify", headers=KEY)
    assert response.status_code == 404
    assert response.json() == {"error": "POST /api/v2/verify is not emulated by passbox"}
    wrong_method = await client.get(TOKEN, headers=KEY)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
    assert json.loads(wrong_method.text) == {"error": "GET is not allowed on /api/v2/token"}
