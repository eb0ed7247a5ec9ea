"""POST /api/partner/v1/oauth/token(.json): client credentials, RFC 6749 errors, the JWT."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from passbox.app import create_app
from passbox.core.clock import Clock
from passbox.settings import Settings
from tests.conftest import BASE_URL, DEMO_CLIENT, OTHER_CLIENT, READONLY_CLIENT

TOKEN_URL = "/api/partner/v1/oauth/token.json"
BOTH_SCOPES = "write.digital_identity read.digital_identity"


def form(**overrides: str | None) -> dict[str, str]:
    base: dict[str, str | None] = {
        "grant_type": "client_credentials",
        "client_id": DEMO_CLIENT[0],
        "client_secret": DEMO_CLIENT[1],
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


def basic(client_id: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def segment(part: str) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


@pytest.mark.parametrize("path", [TOKEN_URL, "/api/partner/v1/oauth/token"])
async def test_client_credentials_issue_an_hs512_jwt(client: httpx.AsyncClient, clock: Clock, path: str) -> None:
    response = await client.post(path, data=form(scope=BOTH_SCOPES), headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "created_at"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 7200
    assert body["scope"] == BOTH_SCOPES
    assert body["created_at"] == clock.unix()
    header_part, payload_part, _ = body["access_token"].split(".")
    # The vendor's sample token starts exactly like this: {"alg":"HS512"}, no "typ".
    assert header_part == "eyJhbGciOiJIUzUxMiJ9"
    payload = segment(payload_part)
    assert list(payload)[:2] == ["iat", "exp"]
    assert payload["iat"] == clock.unix()
    assert payload["exp"] == clock.unix() + 7200
    assert payload["sub"] == payload["client_id"] == DEMO_CLIENT[0]
    assert payload["scope"] == BOTH_SCOPES
    assert isinstance(payload["jti"], str) and len(payload["jti"]) == 36


async def test_http_basic_client_authentication(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN_URL, data={"grant_type": "client_credentials"}, headers=basic(*DEMO_CLIENT))
    assert response.status_code == 200
    assert response.json()["scope"] == BOTH_SCOPES


async def test_basic_with_the_same_client_id_in_the_body_is_accepted(client: httpx.AsyncClient) -> None:
    """requests-oauthlib's include_client_id=True with auth=: Doorkeeper takes Basic first and
    ignores a matching body client_id (and a matching body secret)."""
    for body in (form(client_secret=None), form()):
        response = await client.post(TOKEN_URL, data=body, headers=basic(*DEMO_CLIENT))
        assert response.status_code == 200, response.text
        assert response.json()["token_type"] == "Bearer"


async def test_a_json_token_request_is_read_like_a_form(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN_URL, json={**form(), "scope": "read.digital_identity"})
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "read.digital_identity"
    basic_json = await client.post(TOKEN_URL, json={"grant_type": "client_credentials"}, headers=basic(*DEMO_CLIENT))
    assert basic_json.status_code == 200


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        pytest.param(b'["grant_type"]', "application/json", "must be an object", id="json-array"),
        pytest.param(b'{"grant_type": {"a": 1}}', "application/json", "must be a string", id="json-nested"),
        pytest.param(b'{"grant_type": true}', "application/json", "must be a string", id="json-bool"),
        pytest.param(b'{"grant_type": ', "application/json", "not valid JSON", id="json-truncated"),
        pytest.param(b"grant_type=client_credentials", "text/plain", "or application/json", id="text"),
    ],
)
async def test_unreadable_token_requests_are_invalid_request(
    client: httpx.AsyncClient, content: bytes, content_type: str, message: str
) -> None:
    response = await client.post(TOKEN_URL, content=content, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert message in response.json()["error_description"]


async def test_basic_credentials_are_form_urlencoded_per_rfc_6749(client: httpx.AsyncClient) -> None:
    # RFC 6749 2.3.1: id and secret are form-encoded before base64; plain values decode to themselves.
    response = await client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials"},
        headers=basic("passbox%2Ddemo%2Dclient", DEMO_CLIENT[1]),
    )
    assert response.status_code == 200


async def test_no_scope_means_every_scope_of_the_client(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN_URL, data=form(scope=""))
    assert response.json()["scope"] == BOTH_SCOPES
    readonly = await client.post(TOKEN_URL, data=form(client_id=READONLY_CLIENT[0], client_secret=READONLY_CLIENT[1]))
    assert readonly.json()["scope"] == "read.digital_identity"


async def test_a_subset_of_scopes_is_granted_as_asked(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN_URL, data=form(scope="read.digital_identity read.digital_identity"))
    assert response.status_code == 200
    assert response.json()["scope"] == "read.digital_identity"


@pytest.mark.parametrize(
    ("data", "headers", "status", "error", "description"),
    [
        pytest.param(form(grant_type=None), {}, 400, "invalid_request", "grant_type is required", id="no-grant-type"),
        pytest.param(form(grant_type="password"), {}, 400, "unsupported_grant_type", "'password'", id="password"),
        pytest.param(
            form(grant_type="authorization_code"),
            {},
            400,
            "unsupported_grant_type",
            "client_credentials",
            id="code",
        ),
        pytest.param(form(grant_type="refresh_token"), {}, 400, "invalid_grant", "Refresh tokens", id="refresh"),
        pytest.param(form(client_id=None), {}, 400, "invalid_request", "client_id is required", id="no-client-id"),
        pytest.param(form(client_secret=None), {}, 400, "invalid_request", "client_secret is required", id="no-secret"),
        pytest.param(form(client_secret="wrong"), {}, 401, "invalid_client", "authentication failed", id="bad-secret"),
        pytest.param(form(client_id="nobody"), {}, 401, "invalid_client", "authentication failed", id="unknown"),
        pytest.param(
            form(client_id=OTHER_CLIENT[0], client_secret=None),
            basic(*DEMO_CLIENT),
            401,
            "invalid_client",
            "client_id in the body does not match",
            id="basic-and-another-body-client",
        ),
        pytest.param(
            form(client_secret="wrong"),
            basic(*DEMO_CLIENT),
            401,
            "invalid_client",
            "client_secret in the body does not match",
            id="basic-and-another-body-secret",
        ),
        pytest.param(
            {"grant_type": "client_credentials"},
            {"Authorization": "Basic !!!"},
            401,
            "invalid_client",
            "not valid base64",
            id="basic-not-base64",
        ),
        pytest.param(
            {"grant_type": "client_credentials"},
            {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
            401,
            "invalid_client",
            "client_id:client_secret",
            id="basic-no-colon",
        ),
        pytest.param(
            {"grant_type": "client_credentials"},
            basic(DEMO_CLIENT[0], "wrong"),
            401,
            "invalid_client",
            "authentication failed",
            id="basic-wrong-secret",
        ),
        pytest.param(
            {"grant_type": "client_credentials"},
            {"Authorization": "Bearer abc"},
            401,
            "invalid_client",
            "HTTP Basic",
            id="other-auth-scheme",
        ),
        pytest.param(
            form(client_id=READONLY_CLIENT[0], client_secret=READONLY_CLIENT[1], scope="write.digital_identity"),
            {},
            400,
            "invalid_scope",
            "write.digital_identity",
            id="scope-not-granted",
        ),
        pytest.param(form(scope="read.everything"), {}, 400, "invalid_scope", "read.everything", id="unknown-scope"),
    ],
)
async def test_rfc_6749_errors(
    client: httpx.AsyncClient,
    data: dict[str, str],
    headers: dict[str, str],
    status: int,
    error: str,
    description: str,
) -> None:
    response = await client.post(TOKEN_URL, data=data, headers=headers)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == error
    assert description in body["error_description"]
    assert response.headers["cache-control"] == "no-store"


async def test_invalid_client_over_basic_challenges_with_basic(client: httpx.AsyncClient) -> None:
    response = await client.post(
        TOKEN_URL, data={"grant_type": "client_credentials"}, headers=basic(DEMO_CLIENT[0], "nope")
    )
    assert response.headers["www-authenticate"] == 'Basic realm="SEEK Pass"'
    form_response = await client.post(TOKEN_URL, data=form(client_secret="nope"))
    assert "www-authenticate" not in form_response.headers


async def test_oversized_body_is_413_in_the_oauth_shape(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN_URL, data=form(scope="x" * 70_000))
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"


async def test_token_lifetime_is_configurable(make_client: Callable[..., Any]) -> None:
    async with make_client(token_ttl=60) as (client, _):
        response = await client.post(TOKEN_URL, data=form())
    assert response.json()["expires_in"] == 60


async def token_of(**settings: Any) -> str:
    app = create_app(Settings(clock=Clock.frozen("2026-01-01T00:00:00Z"), **settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        token: str = (await client.post(TOKEN_URL, data=form())).json()["access_token"]
        return token


async def test_the_same_seed_clock_and_secret_key_give_the_same_token() -> None:
    key = "a reproducible server secret"
    first = await token_of(seed=99, secret_key=key)
    assert await token_of(seed=99, secret_key=key) == first
    assert await token_of(seed=100, secret_key=key) != first  # another jti


async def test_the_seed_alone_does_not_give_the_signing_key() -> None:
    """Two apps with the same seed but their own (random) server secrets sign differently."""
    first, second = await token_of(seed=99), await token_of(seed=99)
    assert first.split(".")[:2] == second.split(".")[:2]  # the same claims: data follows the seed
    assert first.split(".")[2] != second.split(".")[2]  # but not the signature


def test_tokens_are_signed_with_the_apps_key(sandbox: object) -> None:
    from passbox.app import Sandbox

    assert isinstance(sandbox, Sandbox)
    backend = sandbox.vendors["seekpass"].backend
    issued = backend.tokens.issue(backend.partners[DEMO_CLIENT[0]], ("read.digital_identity",))
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(issued["access_token"], b"k" * 64, algorithms=["HS512"])
