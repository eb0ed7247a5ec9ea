"""Bearer protection of every partner endpoint: 401 invalid_token, 403 insufficient_scope."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from passbox.app import Sandbox
from passbox.core.clock import Clock
from tests.conftest import READONLY_CLIENT, get_token

CREATE = "/api/partner/v2/verify/requests/digital_identity.json"
PAYLOAD = {"display_options": {"partner_name": "Acme"}}
WEBHOOK_ID = "00000000-0000-4000-8000-000000000000"

PROTECTED = [
    pytest.param("POST", CREATE, PAYLOAD, id="create-request"),
    pytest.param("GET", "/api/partner/v2/verify/requests/abc.json", None, id="get-request"),
    pytest.param("GET", "/api/partner/v2/verify/requests/abc", None, id="get-request-no-suffix"),
    pytest.param("POST", "/api/partner/v2/webhooks", {"url": "https://x.example"}, id="create-webhook"),
    pytest.param("GET", "/api/partner/v2/webhooks", None, id="list-webhooks"),
    pytest.param("PUT", "/api/partner/v2/webhooks", {"id": WEBHOOK_ID}, id="update-webhook-body-id"),
    pytest.param("GET", f"/api/partner/v2/webhooks/{WEBHOOK_ID}", None, id="get-webhook"),
    pytest.param("PUT", f"/api/partner/v2/webhooks/{WEBHOOK_ID}", {}, id="update-webhook"),
    pytest.param("DELETE", f"/api/partner/v2/webhooks/{WEBHOOK_ID}", None, id="delete-webhook"),
    pytest.param("PUT", f"/api/partner/v2/webhooks/{WEBHOOK_ID}/secret", None, id="rotate-secret"),
]


def b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def assert_invalid_token(response: httpx.Response, message: str | None = None) -> None:
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="SEEK Pass", error="invalid_token"')
    body = response.json()
    assert body["error"] == "invalid_token"
    if message:
        assert message in body["message"]


@pytest.mark.parametrize(("method", "path", "payload"), PROTECTED)
async def test_every_partner_endpoint_needs_a_token(
    client: httpx.AsyncClient, method: str, path: str, payload: object
) -> None:
    response = await client.request(method, path, json=payload)
    assert_invalid_token(response, "An access token is required")


@pytest.mark.parametrize(("method", "path", "payload"), PROTECTED)
async def test_every_partner_endpoint_refuses_a_tampered_token(
    client: httpx.AsyncClient, method: str, path: str, payload: object
) -> None:
    token = await get_token(client)
    header, body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = claims["client_id"] = "passbox-other-client"
    forged = f"{header}.{b64url(claims)}.{signature}"
    response = await client.request(method, path, json=payload, headers={"Authorization": f"Bearer {forged}"})
    assert_invalid_token(response, "signature is invalid")


def _claims(clock: Clock, **extra: Any) -> dict[str, Any]:
    now = clock.unix()
    claims = {
        "iat": now,
        "exp": now + 600,
        "jti": "j",
        "iss": "passbox-seekpass",
        "sub": "passbox-demo-client",
        "client_id": "passbox-demo-client",
        "scope": "write.digital_identity read.digital_identity",
    }
    claims.update(extra)
    return claims


def _app_key(sandbox: Sandbox) -> bytes:
    key: bytes = sandbox.core.rand.key_bytes("seekpass.jwt", 64)
    return key


BAD_TOKENS: list[Any] = [
    pytest.param(lambda s, c: "Basic abc", "must be 'Bearer <access token>'", id="basic-scheme"),
    pytest.param(lambda s, c: "Bearer", "must be 'Bearer <access token>'", id="no-token"),
    pytest.param(lambda s, c: "Bearer a b", "must be 'Bearer <access token>'", id="two-tokens"),
    pytest.param(lambda s, c: "Bearer not-a-jwt", "malformed", id="garbage"),
    pytest.param(
        lambda s, c: "Bearer " + jwt.encode(_claims(c), _app_key(s), algorithm="HS256"),
        "not signed with HS512",
        id="hs256-same-key",
    ),
    pytest.param(
        lambda s, c: "Bearer " + b64url({"alg": "none"}) + "." + b64url(_claims(c)) + ".",
        "not signed with HS512",
        id="alg-none",
    ),
    pytest.param(
        lambda s, c: (
            "Bearer "
            + jwt.encode(_claims(c), rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256")
        ),
        "not signed with HS512",
        id="rs256",
    ),
    pytest.param(
        lambda s, c: "Bearer " + jwt.encode(_claims(c), b"x" * 64, algorithm="HS512"),
        "signature is invalid",
        id="foreign-key",
    ),
    pytest.param(
        lambda s, c: "Bearer " + jwt.encode(_claims(c, exp=c.unix() - 1), _app_key(s), algorithm="HS512"),
        "expired",
        id="expired",
    ),
    pytest.param(
        lambda s, c: "Bearer " + jwt.encode(_claims(c, nbf=c.unix() + 3600), _app_key(s), algorithm="HS512"),
        "not valid yet",
        id="nbf-an-hour-ahead",
    ),
    pytest.param(
        lambda s, c: (
            "Bearer "
            + jwt.encode(_claims(c, iat=c.unix() + 86400, exp=c.unix() + 90000), _app_key(s), algorithm="HS512")
        ),
        "not valid yet",
        id="iat-a-day-ahead",
    ),
    pytest.param(
        lambda s, c: "Bearer " + jwt.encode(_claims(c, exp=10**30), _app_key(s), algorithm="HS512"),
        "longer lifetime",
        id="exp-10-to-the-30",
    ),
    pytest.param(
        lambda s, c: (
            "Bearer " + jwt.encode({k: v for k, v in _claims(c).items() if k != "jti"}, _app_key(s), algorithm="HS512")
        ),
        "no jti claim",
        id="missing-jti",
    ),
    pytest.param(
        lambda s, c: "Bearer " + jwt.encode(_claims(c, exp="soon"), _app_key(s), algorithm="HS512"),
        "malformed",
        id="string-exp",
    ),
    pytest.param(
        lambda s, c: "Bearer " + jwt.encode(_claims(c, iss="someone-else"), _app_key(s), algorithm="HS512"),
        "malformed",
        id="wrong-issuer",
    ),
    pytest.param(
        lambda s, c: "Bearer " + jwt.encode(_claims(c, sub="ghost", client_id="ghost"), _app_key(s), algorithm="HS512"),
        "no longer exists",
        id="unknown-client",
    ),
]


@pytest.mark.parametrize(("make_header", "message"), BAD_TOKENS)
async def test_bad_tokens_get_401_invalid_token(
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    clock: Clock,
    make_header: Callable[[Sandbox, Clock], str],
    message: str,
) -> None:
    response = await client.post(CREATE, json=PAYLOAD, headers={"Authorization": make_header(sandbox, clock)})
    assert_invalid_token(response, message)


async def test_a_token_works_until_it_expires_on_the_app_clock(client: httpx.AsyncClient, clock: Clock) -> None:
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    clock.advance(7199)
    assert (await client.get("/api/partner/v2/webhooks", headers=headers)).status_code == 200
    clock.advance(1)
    assert_invalid_token(await client.get("/api/partner/v2/webhooks", headers=headers), "expired")


async def test_scheme_is_case_insensitive(client: httpx.AsyncClient) -> None:
    token = await get_token(client)
    response = await client.get("/api/partner/v2/webhooks", headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200


async def test_a_missing_scope_is_403_insufficient_scope(client: httpx.AsyncClient) -> None:
    readonly = {"Authorization": f"Bearer {await get_token(client, READONLY_CLIENT)}"}
    response = await client.post(CREATE, json=PAYLOAD, headers=readonly)
    assert response.status_code == 403
    assert response.json() == {
        "error": "insufficient_scope",
        "message": "This operation needs the write.digital_identity scope",
    }
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="write.digital_identity"' in challenge


async def test_a_write_only_token_cannot_read_results(client: httpx.AsyncClient) -> None:
    write_only = {"Authorization": f"Bearer {await get_token(client, scope='write.digital_identity')}"}
    created = await client.post(CREATE, json=PAYLOAD, headers=write_only)
    assert created.status_code == 201
    response = await client.get(f"/api/partner/v2/verify/requests/{created.json()['request_id']}", headers=write_only)
    assert response.status_code == 403
    assert 'scope="read.digital_identity"' in response.headers["www-authenticate"]


async def test_webhooks_accept_any_valid_token(client: httpx.AsyncClient) -> None:
    readonly = {"Authorization": f"Bearer {await get_token(client, READONLY_CLIENT)}"}
    response = await client.post("/api/partner/v2/webhooks", json={"url": "https://x.example/h"}, headers=readonly)
    assert response.status_code == 201


async def test_tokens_minted_while_the_clock_was_ahead_stop_working_when_it_is_released(
    client: httpx.AsyncClient, clock: Clock
) -> None:
    # The test clock's wall time is 2026-05-28; the frozen sandbox clock starts on 2026-03-02.
    await client.post("/_sandbox/clock", json={"action": "advance", "by": "100d"})
    token = await get_token(client)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get("/api/partner/v2/webhooks", headers=headers)).status_code == 200
    await client.post("/_sandbox/clock", json={"action": "release"})
    await client.post("/_sandbox/clock", json={"action": "freeze"})
    refused = await client.get("/api/partner/v2/webhooks", headers=headers)
    assert refused.status_code == 401
    assert "not valid yet" in refused.json()["message"]
