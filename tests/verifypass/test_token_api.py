"""POST /api/v2/token: the key header, optional fields, the vendor's exact errors."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from passbox.app import Sandbox
from passbox.core.clock import Clock
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
    applicant = backend_of(sandbox).read_token(body["token"])
    assert applicant.account_id == "passbox-demo-account"
    assert {k: getattr(applicant, k) for k in fields} == fields
    assert applicant.issued_at == clock.unix()
    assert applicant.expires_at is None  # "Applicant tokens do not expire."


async def test_a_token_takes_one_id_position_and_its_iv_from_that_position(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    store = sandbox.core.store
    before = store.counter("rng:verifypass.ids")
    tokens = [
        (await client.post(TOKEN, json={"email": "same@example.com"}, headers=KEY)).json()["token"] for _ in range(50)
    ]
    assert store.counter("rng:verifypass.ids") == before + 50
    assert store.counter("rng:verifypass.token-iv") == 0
    ivs = {json.loads(base64.b64decode(token))["iv"] for token in tokens}
    assert len(ivs) == 50  # the same plaintext but for its id, under fifty IVs
    assert {backend_of(sandbox).read_token(token).email for token in tokens} == {"same@example.com"}


def test_the_token_for_the_vendors_sample_is_about_as_long_as_the_sample(sandbox: Sandbox) -> None:
    """The vendor's sample token for its sample input is 424 characters; a partner's column
    sized from it must hold ours (within 10%)."""
    backend = backend_of(sandbox)
    account = backend.directory.accounts["passbox-demo-account"]
    sample = {"first_name": "John", "last_name": "Smith", "dob": "1990-01-01", "email": "john.smith@gmail.com",
              "lock_email": True}  # fmt: skip
    token = backend.create_token(account, sample)
    assert abs(len(token) - 424) <= 42, len(token)
    assert backend.read_token(token).email == "john.smith@gmail.com"


@pytest.mark.parametrize(
    ("content", "lock"),
    [
        pytest.param("email=john.smith%40gmail.com&lock_email=true&first_name=John", True, id="true"),
        pytest.param("email=john.smith%40gmail.com&lock_email=1", True, id="one"),
        pytest.param("email=not-an-email&lock_email=0", False, id="zero"),
    ],
)
async def test_a_form_body_is_read_like_json(
    client: httpx.AsyncClient, sandbox: Sandbox, content: str, lock: bool
) -> None:
    """Laravel reads form input as it reads JSON."""
    headers = {**KEY, "Content-Type": "application/x-www-form-urlencoded"}
    response = await client.post(TOKEN, content=content, headers=headers)
    assert response.status_code == 200, response.text
    applicant = backend_of(sandbox).read_token(response.json()["token"])
    assert applicant.lock_email is lock


async def test_a_form_body_is_validated_like_json(client: httpx.AsyncClient) -> None:
    headers = {**KEY, "Content-Type": "application/x-www-form-urlencoded"}
    locked_bad = await client.post(TOKEN, content="email=nope&lock_email=true", headers=headers)
    assert (locked_bad.status_code, locked_bad.json()) == (422, {"error": "E-mail appears to be invalid."})
    not_bool = await client.post(TOKEN, content="lock_email=maybe", headers=headers)
    assert (not_bool.status_code, not_bool.json()) == (422, {"error": "The lock email field must be true or false."})


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
    applicant = backend_of(sandbox).read_token(response.json()["token"])
    assert (applicant.first_name, applicant.email, applicant.lock_email, applicant.uid) == (None, None, False, None)


async def test_email_is_not_checked_unless_locked(client: httpx.AsyncClient) -> None:
    for body in ({"email": "not-an-email"}, {"email": "not-an-email", "lock_email": False}):
        assert (await client.post(TOKEN, json=body, headers=KEY)).status_code == 200


async def test_nulls_count_as_absent(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    body = {name: None for name in ("first_name", "last_name", "dob", "email", "lock_email", "uid")}
    response = await client.post(TOKEN, json=body, headers=KEY)
    assert response.status_code == 200
    applicant = backend_of(sandbox).read_token(response.json()["token"])
    assert (applicant.first_name, applicant.last_name, applicant.dob) == (None, None, None)
    assert (applicant.email, applicant.lock_email, applicant.uid) == (None, False, None)


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
            b"email=a@b.co",
            "text/plain",
            415,
            "The Content-Type must be application/json or application/x-www-form-urlencoded.",
            id="text",
        ),
        pytest.param(
            b"email=\xff",
            "application/x-www-form-urlencoded",
            400,
            "The request body is not a valid form.",
            id="form-not-utf8",
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
    applicant = backend_of(sandbox).read_token(token)
    assert applicant.expires_at is not None and applicant.expires_at - applicant.issued_at == 600


async def test_other_paths_under_api_v2_are_not_emulated_in_the_vendor_shape(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v2/verify", headers=KEY)
    assert response.status_code == 404
    assert response.json() == {"error": "POST /api/v2/verify is not emulated by passbox"}
    wrong_method = await client.get(TOKEN, headers=KEY)
    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
    assert json.loads(wrong_method.text) == {"error": "GET is not allowed on /api/v2/token"}
