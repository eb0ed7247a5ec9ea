"""passbox_clients.seekpass.webhooks: verify() breaks on exactly one wrong thing at a time; the
Deduplicator; and real deliveries from the sandbox, checked against the spec's webhooks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from passbox.app import Sandbox
from passbox.core.clock import Clock
from passbox_clients.errors import WebhookVerificationError
from passbox_clients.seekpass import WebhookEvent
from passbox_clients.seekpass.webhooks import Deduplicator, sign, verify
from tests.conftest import Receiver, Wall
from tests.contract.spec_check import ContractChecker
from tests.seekpass.helpers import complete, create, verified_with_webhook

SECRET = "23a8db7b1b368dd0e30eff95b048b994e892000e69a4fbb3ca78ff92e13ad1f7"
TIMESTAMP = 1744683241
BODY = (
    b'{"event_id":"5c4ac58b-5cf9-40a0-b60a-28c0137663ed","request_id":"7cbc7e51-82f5-43ec-8d63-b7cdf1170425",'
    b'"type":"vwsp_request.verified","created_at":"2025-04-15T02:14:01.307391Z"}'
)
SIGNATURE = "9428d42431f0ac8bd966cfc14f6d75aa6d3e5441a75223fd0c16649baaf2dd64"
HEADERS = {"X-Timestamp": str(TIMESTAMP), "X-Signature": SIGNATURE}


def test_the_documented_vector_verifies() -> None:
    event = verify(BODY, HEADERS, SECRET, now=TIMESTAMP)
    assert event == WebhookEvent(
        event_id="5c4ac58b-5cf9-40a0-b60a-28c0137663ed",
        request_id="7cbc7e51-82f5-43ec-8d63-b7cdf1170425",
        type="vwsp_request.verified",
        created_at="2025-04-15T02:14:01.307391Z",
    )
    assert sign(BODY, SECRET, TIMESTAMP) == SIGNATURE


def test_header_names_are_case_insensitive() -> None:
    assert verify(BODY, {"x-timestamp": str(TIMESTAMP), "x-signature": SIGNATURE}, SECRET, now=TIMESTAMP)


@pytest.mark.parametrize(
    ("body", "headers", "secret", "now", "reason"),
    [
        pytest.param(BODY, HEADERS, SECRET[:-1] + "0", TIMESTAMP, "does not match", id="wrong-secret"),
        pytest.param(BODY + b" ", HEADERS, SECRET, TIMESTAMP, "does not match", id="body-changed-by-a-byte"),
        pytest.param(
            json.dumps(json.loads(BODY)).encode(), HEADERS, SECRET, TIMESTAMP, "does not match", id="body-re-serialized"
        ),
        pytest.param(
            BODY, {**HEADERS, "X-Timestamp": str(TIMESTAMP + 1)}, SECRET, TIMESTAMP, "does not match", id="timestamp"
        ),
        pytest.param(BODY, HEADERS, SECRET, TIMESTAMP + 901, "more than 900 seconds", id="stale"),
        pytest.param(BODY, HEADERS, SECRET, TIMESTAMP - 901, "more than 900 seconds", id="from-the-future"),
        pytest.param(BODY, {"X-Timestamp": str(TIMESTAMP)}, SECRET, TIMESTAMP, "missing X-Signature", id="no-sig"),
        pytest.param(BODY, {"X-Signature": SIGNATURE}, SECRET, TIMESTAMP, "missing X-Timestamp", id="no-timestamp"),
        pytest.param(
            BODY, {**HEADERS, "X-Timestamp": "1744683241.5"}, SECRET, TIMESTAMP, "not a Unix time", id="float-ts"
        ),
        pytest.param(
            b"not json",
            {"X-Timestamp": str(TIMESTAMP), "X-Signature": sign(b"not json", SECRET, TIMESTAMP)},
            SECRET,
            TIMESTAMP,
            "not a SEEK Pass event",
            id="not-an-event",
        ),
    ],
)
def test_each_broken_part_is_refused_with_a_reason(
    body: bytes, headers: dict[str, str], secret: str, now: int, reason: str
) -> None:
    with pytest.raises(WebhookVerificationError, match=reason) as info:
        verify(body, headers, secret, now=now)
    assert info.value.vendor == "seekpass"


def test_the_tolerance_is_inclusive_and_configurable() -> None:
    assert verify(BODY, HEADERS, SECRET, now=TIMESTAMP + 900)
    with pytest.raises(WebhookVerificationError):
        verify(BODY, HEADERS, SECRET, tolerance=60, now=TIMESTAMP + 61)


def test_a_hex_decoded_key_is_not_the_key() -> None:
    wrong = {**HEADERS, "X-Signature": "17e754ff" + "0" * 50 + "718a93"}
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify(BODY, wrong, SECRET, now=TIMESTAMP)


def test_the_deduplicator_remembers_ids_for_its_window() -> None:
    now = [0.0]
    seen = Deduplicator(window=900, clock=lambda: now[0])
    assert seen.first_time("e1")
    assert not seen.first_time("e1")
    now[0] = 500
    assert seen.first_time("e2")
    now[0] = 899
    assert not seen.first_time("e1")
    now[0] = 901
    assert seen.first_time("e1")  # forgotten after the window (its first sighting was at 0)
    assert not seen.first_time("e2")  # seen at 500: still remembered
    assert len(seen) == 2


def test_the_deduplicator_is_bounded() -> None:
    seen = Deduplicator(max_size=2, clock=lambda: 0.0)
    for event in ("a", "b", "c"):
        assert seen.first_time(event)
    assert len(seen) == 2
    assert seen.first_time("a")  # the oldest was dropped


@pytest.fixture
def deliveries(receiver: Receiver) -> Callable[[], list[httpx.Request]]:
    return lambda: list(receiver.requests)


async def test_real_deliveries_verify_and_match_the_spec(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any], clock: Clock, checker: ContractChecker
) -> None:
    _, hook = await verified_with_webhook(client, drain)
    [delivery] = receiver.requests
    event = verify(delivery.content, delivery.headers, hook["secret"], now=clock.wall())
    assert event.type == "vwsp_request.verified"
    checker.check_webhook("seekpass", "vwsp_request.verified", delivery)


async def test_a_duplicated_event_is_handled_once(
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    receiver: Receiver,
    drain: Callable[..., Any],
    clock: Clock,
    wall: Wall,
) -> None:
    _, hook = await verified_with_webhook(client, drain)
    [delivery_record] = sandbox.core.outbox.list()
    sandbox.core.outbox.redeliver(delivery_record.id)  # the sandbox sends the same event again
    clock.advance(5)
    wall.advance(5)
    await drain()
    first, second = receiver.requests
    assert first.headers["x-timestamp"] != second.headers["x-timestamp"]
    seen = Deduplicator(clock=clock.wall)
    handled = [
        event.event_id
        for event in (verify(r.content, r.headers, hook["secret"], now=clock.wall()) for r in (first, second))
        if seen.first_time(event.event_id)
    ]
    assert len(handled) == 1


async def test_after_rotation_the_old_secret_fails(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any], clock: Clock
) -> None:
    headers, hook = await verified_with_webhook(client, drain)
    rotated = (await client.put(f"/api/partner/v2/webhooks/{hook['id']}/secret", headers=headers)).json()
    created = await create(client, headers)
    await complete(client, created["redirect_uri"], "cancel")
    await drain()
    latest = receiver.requests[-1]
    with pytest.raises(WebhookVerificationError, match="does not match"):
        verify(latest.content, latest.headers, hook["secret"], now=clock.wall())
    assert verify(latest.content, latest.headers, rotated["secret"], now=clock.wall()).type == "vwsp_request.canceled"


async def test_a_delivery_replayed_later_is_stale(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any], clock: Clock
) -> None:
    _, hook = await verified_with_webhook(client, drain)
    [delivery] = receiver.requests
    with pytest.raises(WebhookVerificationError, match="more than 900 seconds"):
        verify(delivery.content, delivery.headers, hook["secret"], now=clock.wall() + 901)
