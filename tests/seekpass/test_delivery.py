"""Webhook events: when they are sent, their exact body, the signature, retries and rotation."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from passbox.app import Sandbox
from passbox.core.clock import Clock
from passbox.seekpass.signing import signature
from tests.conftest import OTHER_CLIENT, Receiver, Wall, get_token
from tests.seekpass.helpers import complete, create, open_app

HOOKS = "/api/partner/v2/webhooks"

# The documented test vector (vendor-reference.md, section 1.6).
VECTOR_SECRET = "23a8db7b1b368dd0e30eff95b048b994e892000e69a4fbb3ca78ff92e13ad1f7"
VECTOR_TIMESTAMP = "1744683241"
VECTOR_BODY = (
    b'{"event_id":"5c4ac58b-5cf9-40a0-b60a-28c0137663ed","request_id":"7cbc7e51-82f5-43ec-8d63-b7cdf1170425",'
    b'"type":"vwsp_request.verified","created_at":"2025-04-15T02:14:01.307391Z"}'
)
VECTOR_SIGNATURE = "9428d42431f0ac8bd966cfc14f6d75aa6d3e5441a75223fd0c16649baaf2dd64"


def test_the_documented_test_vector() -> None:
    assert signature(VECTOR_SECRET, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE
    assert signature(VECTOR_SECRET, int(VECTOR_TIMESTAMP), VECTOR_BODY) == VECTOR_SIGNATURE


def test_the_key_is_the_secret_string_not_its_bytes() -> None:
    wrong = hmac.new(bytes.fromhex(VECTOR_SECRET), f"{VECTOR_TIMESTAMP}.".encode() + VECTOR_BODY, hashlib.sha256)
    assert wrong.hexdigest().startswith("17e754ff") and wrong.hexdigest().endswith("718a93")
    assert signature(VECTOR_SECRET, VECTOR_TIMESTAMP, VECTOR_BODY) != wrong.hexdigest()


def verify(request: httpx.Request, secret: str) -> bool:
    expected = signature(secret, request.headers["x-timestamp"], request.content)
    return hmac.compare_digest(expected, request.headers["x-signature"])


async def hook(
    client: httpx.AsyncClient, headers: dict[str, str], url: str = "http://receiver.test/a"
) -> dict[str, Any]:
    response = await client.post(HOOKS, json={"url": url}, headers=headers)
    assert response.status_code == 201
    created: dict[str, Any] = response.json()
    return created


async def verified_with_failures(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    receiver: Receiver,
    drain: Callable[..., Any],
    failures: list[int | Exception],
) -> dict[str, Any]:
    """Registers a webhook, verifies a request and lets the first attempts fail as scripted; returns the webhook."""
    registered = await hook(client, headers)
    created = await create(client, headers)
    receiver.responses = failures
    await complete(client, created["redirect_uri"])
    await drain()
    return registered


async def test_a_verification_sends_one_signed_event(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    receiver: Receiver,
    drain: Callable[..., Any],
    clock: Clock,
) -> None:
    headers = await bearer()
    registered = await hook(client, headers)
    created = await create(client, headers, request_id="req-9")
    await complete(client, created["redirect_uri"])
    assert receiver.requests == []  # delivery happens in the background, not in the call
    await drain()
    assert len(receiver.requests) == 1
    sent = receiver.requests[0]
    assert str(sent.url) == "http://receiver.test/a"
    assert sent.method == "POST"
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["x-timestamp"] == str(int(clock.wall()))
    assert re.fullmatch(r"[0-9a-f]{64}", sent.headers["x-signature"])
    assert verify(sent, registered["secret"])
    body = json.loads(sent.content)
    assert list(body) == ["event_id", "request_id", "type", "created_at"]
    assert body["request_id"] == "req-9"
    assert body["type"] == "vwsp_request.verified"
    assert body["created_at"] == "2026-03-02T09:30:00.000000Z"
    assert re.fullmatch(r"[0-9a-f-]{36}", body["event_id"])
    # Compact JSON, exactly the bytes that were signed.
    assert sent.content == json.dumps(body, separators=(",", ":")).encode()


async def test_cancel_sends_a_canceled_event(
    client: httpx.AsyncClient, bearer: Callable[..., Any], receiver: Receiver, drain: Callable[..., Any]
) -> None:
    headers = await bearer()
    await hook(client, headers)
    created = await create(client, headers)
    await complete(client, created["redirect_uri"], "cancel")
    await drain()
    assert [body["type"] for body in receiver.bodies()] == ["vwsp_request.canceled"]


async def test_expiry_sends_a_canceled_event_without_anyone_asking(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    receiver: Receiver,
    drain: Callable[..., Any],
    clock: Clock,
) -> None:
    headers = await bearer()
    await hook(client, headers)
    created = await create(client, headers)
    clock.advance(timedelta(hours=47))
    await drain()
    assert receiver.requests == []
    clock.advance(timedelta(hours=1))
    await drain()
    assert [(b["type"], b["request_id"]) for b in receiver.bodies()] == [
        ("vwsp_request.canceled", created["request_id"])
    ]
    # A later read does not send it again.
    await client.get(f"/api/partner/v2/verify/requests/{created['request_id']}", headers=await bearer())
    await drain()
    assert len(receiver.requests) == 1


async def test_every_webhook_of_the_partner_gets_the_same_event(
    client: httpx.AsyncClient, bearer: Callable[..., Any], receiver: Receiver, drain: Callable[..., Any]
) -> None:
    headers = await bearer()
    a = await hook(client, headers, "http://receiver.test/a")
    b = await hook(client, headers, "http://receiver.test/b")
    await hook(client, await bearer(OTHER_CLIENT), "http://receiver.test/other")
    created = await create(client, headers)
    await complete(client, created["redirect_uri"])
    await drain()
    by_url = {str(request.url): request for request in receiver.requests}
    assert set(by_url) == {"http://receiver.test/a", "http://receiver.test/b"}
    assert by_url["http://receiver.test/a"].content == by_url["http://receiver.test/b"].content
    assert verify(by_url["http://receiver.test/a"], a["secret"])
    assert verify(by_url["http://receiver.test/b"], b["secret"])
    assert not verify(by_url["http://receiver.test/b"], a["secret"])


async def test_no_webhook_no_delivery(
    client: httpx.AsyncClient, bearer: Callable[..., Any], sandbox: Sandbox, drain: Callable[..., Any]
) -> None:
    headers = await bearer()
    created = await create(client, headers)
    await complete(client, created["redirect_uri"])
    await drain()
    assert sandbox.core.outbox.list() == []


async def test_failures_retry_with_the_same_event_and_a_fresh_signature(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    receiver: Receiver,
    drain: Callable[..., Any],
    clock: Clock,
    sandbox: Sandbox,
    wall: Wall,
) -> None:
    headers = await bearer()
    registered = await verified_with_failures(client, headers, receiver, drain, [500, httpx.ReadTimeout("slow")])
    for seconds in (2, 12):  # real time passes between attempts, and so does sandbox time here
        clock.advance(seconds)
        wall.advance(seconds)
        await drain()
    assert len(receiver.requests) == 3
    assert len({request.content for request in receiver.requests}) == 1
    timestamps = [request.headers["x-timestamp"] for request in receiver.requests]
    assert len(set(timestamps)) == 3
    assert all(verify(request, registered["secret"]) for request in receiver.requests)
    [delivery] = sandbox.core.outbox.list()
    assert delivery.status == "delivered"
    assert [(a.status_code, a.error) for a in delivery.attempts] == [
        (500, "receiver answered 500"),
        (None, "timed out after 10 s"),
        (200, None),
    ]


async def test_a_retry_after_rotation_is_signed_with_the_new_secret(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    receiver: Receiver,
    drain: Callable[..., Any],
    clock: Clock,
) -> None:
    headers = await bearer()
    registered = await verified_with_failures(client, headers, receiver, drain, [503])
    rotated = (await client.put(f"{HOOKS}/{registered['id']}/secret", headers=headers)).json()
    clock.advance(2)
    await drain()
    first, second = receiver.requests
    assert verify(first, registered["secret"])
    assert verify(second, rotated["secret"])
    assert not verify(second, registered["secret"])


async def test_a_retry_follows_an_updated_url(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    receiver: Receiver,
    drain: Callable[..., Any],
    clock: Clock,
) -> None:
    headers = await bearer()
    registered = await verified_with_failures(client, headers, receiver, drain, [503])
    await client.put(f"{HOOKS}/{registered['id']}", json={"url": "http://receiver.test/new"}, headers=headers)
    clock.advance(2)
    await drain()
    assert [str(request.url) for request in receiver.requests] == [
        "http://receiver.test/a",
        "http://receiver.test/new",
    ]


async def test_deleting_a_webhook_abandons_its_pending_deliveries(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    receiver: Receiver,
    drain: Callable[..., Any],
    clock: Clock,
    sandbox: Sandbox,
) -> None:
    headers = await bearer()
    registered = await verified_with_failures(client, headers, receiver, drain, [500])
    await client.delete(f"{HOOKS}/{registered['id']}", headers=headers)
    clock.advance(2)
    await drain()
    assert len(receiver.requests) == 1
    [delivery] = sandbox.core.outbox.list()
    assert delivery.status == "abandoned"


@pytest.mark.parametrize(("enabled", "expected"), [(False, []), (True, ["vwsp_request.incomplete"])])
async def test_the_incomplete_event_is_off_by_default_and_can_be_enabled(
    make_client: Callable[..., Any], receiver: Receiver, enabled: bool, expected: list[str]
) -> None:
    async with make_client(incomplete_event=enabled) as (client, sandbox):
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        await hook(client, headers)
        created = await create(client, headers)
        await open_app(client, created["redirect_uri"])
        await open_app(client, created["redirect_uri"])  # opening twice sends it once
        await sandbox.core.scheduler.drain()
    assert [body["type"] for body in receiver.bodies()] == expected
