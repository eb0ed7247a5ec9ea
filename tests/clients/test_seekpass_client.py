"""The SEEK Pass reference client, on every target (see conftest.py), every exchange checked
against the spec. Tests that drive the sandbox itself skip on a remote target."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from passbox.core.clock import Clock
from passbox_clients.seekpass import (
    NO_RETRIES,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    ValidationError,
    VerificationRequest,
    WebhookWithSecret,
)
from tests.clients.conftest import NoSleep, Target, browse, run
from tests.conftest import READONLY_CLIENT

pytestmark = pytest.mark.usefixtures("target")


def new_id() -> str:
    return str(uuid.uuid4())


async def complete_in_app(target: Target, redirect_uri: str, decision: str = "verify") -> httpx.Response:
    """What the user does in the SEEK Pass app (sandbox only)."""
    target.needs_sandbox()
    params = dict(parse_qsl(urlsplit(redirect_uri).fragment))
    opened = await browse(target, "GET", "/partner/verify/digital_identity", params=params)
    assert opened.status_code == 200
    return await browse(
        target,
        "POST",
        "/partner/verify/digital_identity",
        data={**params, "decision": decision, "document_type": "passport"},
    )


async def test_create_then_read_a_verification_request(seekpass: Any) -> None:
    request_id = new_id()
    created = await run(
        seekpass.create_verification_request(
            "Acme Recruiting",
            request_id=request_id,
            callback_url="https://acme.example/seekpass/callback",
            metadata={"position_title": "Forklift Driver", "applied_on_seek": True},
            request_source=["SEEK"],
        )
    )
    assert created.request_id == request_id
    assert "/partner/verify/digital_identity#clientId=" in created.redirect_uri
    assert "&content=" in created.redirect_uri  # the \u0026 of the raw JSON is a plain & once parsed
    result = await run(seekpass.get_verification_request(request_id))
    assert result == VerificationRequest(request_id=request_id, status="incomplete", finalized_at=None, credential=None)
    assert not result.finished


async def test_the_same_request_id_gives_the_same_redirect(seekpass: Any) -> None:
    request_id = new_id()
    first = await run(seekpass.create_verification_request("Acme", request_id=request_id))
    again = await run(seekpass.create_verification_request("Acme", request_id=request_id))
    assert again == first


async def test_the_result_after_the_user_verifies(seekpass: Any, target: Target) -> None:
    created = await run(seekpass.create_verification_request("Acme", callback_url="https://acme.example/cb?x=1"))
    landed = await complete_in_app(target, created.redirect_uri)
    assert landed.headers["location"] == f"https://acme.example/cb?x=1&request_id={created.request_id}"
    result = await run(seekpass.get_verification_request(created.request_id))
    assert result.status == "verified"
    assert result.finished
    assert result.finalized_at is not None
    assert result.credential is not None
    assert result.credential.document_type == "passport"
    assert result.credential.full_name
    assert result.credential.date_of_birth


async def test_webhook_management(seekpass: Any) -> None:
    created = await run(seekpass.create_webhook("https://acme.example/hooks/a", name="a", description="first"))
    assert isinstance(created, WebhookWithSecret)
    assert len(created.secret) == 64
    listed = await run(seekpass.list_webhooks())
    assert created.id in {hook.id for hook in listed}
    assert not hasattr(listed[0], "secret")
    fetched = await run(seekpass.get_webhook(created.id))
    assert (fetched.url, fetched.name, fetched.description) == ("https://acme.example/hooks/a", "a", "first")
    updated = await run(seekpass.update_webhook(created.id, url="https://acme.example/hooks/b", description=None))
    assert (updated.url, updated.name, updated.description) == ("https://acme.example/hooks/b", "a", None)
    rotated = await run(seekpass.rotate_webhook_secret(created.id))
    assert rotated.secret != created.secret
    assert await run(seekpass.delete_webhook(created.id)) is None
    with pytest.raises(NotFoundError) as info:
        await run(seekpass.get_webhook(created.id))
    assert info.value.status_code == 404
    assert info.value.code == "not_found"
    assert info.value.response.status_code == 404


async def test_not_found(seekpass: Any) -> None:
    with pytest.raises(NotFoundError) as info:
        await run(seekpass.get_verification_request(new_id()))
    assert info.value.vendor == "seekpass"
    assert "No verification request" in info.value.message


async def test_validation_errors_carry_the_vendors_message(seekpass: Any, target: Target) -> None:
    with target.checker.invalid_on_purpose(), pytest.raises(ValidationError) as info:
        await run(seekpass.create_verification_request("   ", callback_url="ftp://nope"))
    error = info.value
    assert error.status_code == 422
    assert error.code == "validation_error"
    assert "callback_url" in error.message
    assert {detail["field"] for detail in error.details} >= {"callback_url", "display_options.partner_name"}


async def test_wrong_credentials_are_an_authentication_error(make_seekpass: Any) -> None:
    client = make_seekpass(secret="wrong-secret")
    with pytest.raises(AuthenticationError) as info:
        await run(client.list_webhooks())
    assert info.value.status_code == 401
    assert info.value.code == "invalid_client"
    assert "authentication failed" in info.value.message


async def test_a_missing_scope_is_a_permission_error(make_seekpass: Any, target: Target) -> None:
    target.needs_sandbox()
    client = make_seekpass(READONLY_CLIENT)
    with pytest.raises(PermissionDeniedError) as info:
        await run(client.create_verification_request("Acme"))
    assert info.value.status_code == 403
    assert info.value.code == "insufficient_scope"
    assert isinstance(info.value, AuthenticationError)


async def test_the_token_is_fetched_once_and_reused(seekpass: Any) -> None:
    for _ in range(3):
        await run(seekpass.list_webhooks())
    assert seekpass.auth.fetches == 1


async def test_the_token_is_refreshed_shortly_before_it_expires(make_seekpass: Any, target: Target) -> None:
    target.needs_sandbox()
    now = [1_000_000.0]
    client = make_seekpass(clock=lambda: now[0], token_leeway=60)
    await run(client.list_webhooks())
    now[0] += 7200 - 61
    await run(client.list_webhooks())
    assert client.auth.fetches == 1
    now[0] += 1  # within the leeway
    await run(client.list_webhooks())
    assert client.auth.fetches == 2


async def test_a_token_that_expired_mid_run_is_replaced_once(seekpass: Any, target: Target, clock: Clock) -> None:
    """The server's clock moves past the token's expiry while the client still trusts it."""
    target.needs_sandbox()
    await run(seekpass.list_webhooks())
    clock.advance(7200)
    hooks = await run(seekpass.list_webhooks())  # 401 invalid_token, then a new token, then 200
    assert isinstance(hooks, list)
    assert seekpass.auth.fetches == 2
    assert [(e.operation_id, e.status) for e in target.checker.exchanges][-3:] == [
        ("listWebhooks", 401),
        ("createAccessToken", 200),
        ("listWebhooks", 200),
    ]


async def test_a_401_after_a_fresh_token_is_raised_not_looped(make_seekpass: Any, target: Target) -> None:
    sandbox = target.needs_sandbox()
    client = make_seekpass()
    await run(client.list_webhooks())
    # The partner disappears from the sandbox: every token is now refused.
    backend = sandbox.vendors["seekpass"].backend
    partner = backend.partners.pop("passbox-demo-client")
    try:
        with pytest.raises(AuthenticationError):
            await run(client.list_webhooks())
    finally:
        backend.partners[partner.client_id] = partner


def scripted(answers: list[httpx.Response]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A transport answering the token endpoint normally and the API with scripted responses
    (httpx.MockTransport serves both the sync and the async client; it is not the sandbox, so
    its answers are not checked against the spec)."""
    seen: list[httpx.Request] = []
    token = {"access_token": "a.b.c", "token_type": "Bearer", "expires_in": 7200, "scope": "", "created_at": 1}

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token.json"):
            return httpx.Response(200, json=token)
        seen.append(request)
        return answers.pop(0) if answers else httpx.Response(200, json=[])

    return httpx.MockTransport(handle), seen


def rate_limited() -> httpx.Response:
    return httpx.Response(429, json={"error": "rate_limited", "message": "slow down"}, headers={"Retry-After": "1"})


# Factories, not responses: a response object can be read only once, and each target runs anew.
@pytest.mark.parametrize(
    ("answers", "outcome", "sent", "delays"),
    [
        pytest.param(lambda: [httpx.Response(429, headers={"Retry-After": "3"})], "ok", 2, [3.0], id="429-retry-after"),
        pytest.param(lambda: [httpx.Response(503), httpx.Response(503)], "ok", 3, [0.5, 1.0], id="503-twice"),
        pytest.param(lambda: [httpx.Response(500)], "ok", 2, [0.5], id="500-on-get"),
        pytest.param(
            lambda: [rate_limited() for _ in range(3)], RateLimitedError, 3, [1.0, 1.0], id="429-out-of-retries"
        ),
        pytest.param(
            lambda: [httpx.Response(502) for _ in range(3)], ServerError, 3, [0.5, 1.0], id="502-out-of-retries"
        ),
    ],
)
async def test_retries_with_backoff(
    make_seekpass: Any,
    target: Target,
    no_sleep: NoSleep,
    answers: Callable[[], list[httpx.Response]],
    outcome: Any,
    sent: int,
    delays: list[float],
) -> None:
    if target.name == "sync-remote":
        pytest.skip("scripted transport: runs locally only")
    transport, seen = scripted(answers())
    client = make_seekpass(transport=transport)
    if outcome == "ok":
        assert await run(client.list_webhooks()) == []
    else:
        with pytest.raises(outcome) as info:
            await run(client.list_webhooks())
        if outcome is RateLimitedError:
            assert info.value.retry_after == 1.0
            assert info.value.message == "slow down"
    assert len(seen) == sent
    assert no_sleep.delays == delays


async def test_a_post_is_not_retried_on_a_500(make_seekpass: Any, target: Target, no_sleep: NoSleep) -> None:
    if target.name == "sync-remote":
        pytest.skip("scripted transport: runs locally only")
    transport, seen = scripted([httpx.Response(500, json={"error": "boom", "message": "boom"})])
    client = make_seekpass(transport=transport)
    with pytest.raises(ServerError):
        await run(client.create_webhook("https://acme.example/h"))
    assert len(seen) == 1
    assert no_sleep.delays == []


async def test_retries_can_be_turned_off(make_seekpass: Any, target: Target, no_sleep: NoSleep) -> None:
    if target.name == "sync-remote":
        pytest.skip("scripted transport: runs locally only")
    transport, seen = scripted([httpx.Response(503)])
    client = make_seekpass(transport=transport, retry=NO_RETRIES)
    with pytest.raises(ServerError):
        await run(client.list_webhooks())
    assert len(seen) == 1


async def test_transport_failures_are_transport_errors(make_seekpass: Any, target: Target) -> None:
    if target.name == "sync-remote":
        pytest.skip("scripted transport: runs locally only")

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    transport = httpx.MockTransport(refuse)
    client = make_seekpass(transport=transport)
    with pytest.raises(TransportError, match="ConnectTimeout"):
        await run(client.list_webhooks())


async def test_the_client_recovers_from_faults_injected_in_the_sandbox(
    make_seekpass: Any, target: Target, no_sleep: NoSleep
) -> None:
    target.needs_sandbox()
    for rule in (
        {"kind": "rate_limit", "operation": "listWebhooks", "retry_after": 1, "remaining": 1},
        {"kind": "error", "status": 503, "operation": "listWebhooks", "remaining": 1},
    ):
        assert (await browse(target, "POST", "/_sandbox/faults", json=rule)).status_code == 201
    client = make_seekpass()
    assert await run(client.list_webhooks()) == []
    # Every answer, the injected ones too, was checked against the spec (429 and 5XX are in it).
    assert [e.status for e in target.checker.exchanges if e.operation_id == "listWebhooks"] == [429, 503, 200]
    assert no_sleep.delays == [1.0, 1.0]
