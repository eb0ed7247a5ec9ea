"""/_sandbox/clock: read, freeze, advance, release; and every time-dependent behaviour follows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from passbox.app import Sandbox
from passbox.core.clock import Clock
from tests.conftest import Receiver, get_token
from tests.seekpass.helpers import create
from tests.verifypass.helpers import make_token, submit

CLOCK = "/_sandbox/clock"


async def advance(client: httpx.AsyncClient, by: str) -> dict[str, Any]:
    response = await client.post(CLOCK, json={"action": "advance", "by": by})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_read_freeze_advance_release(make_client: Callable[..., Any]) -> None:
    now = [1_800_000_000.0]
    async with make_client(clock=Clock(source=lambda: now[0])) as (client, _):
        state = (await client.get(CLOCK)).json()
        assert state == {"now": "2027-01-15T08:00:00.000000Z", "frozen": False, "offset_seconds": 0.0}
        frozen = (await client.post(CLOCK, json={"action": "freeze"})).json()
        assert frozen["frozen"] is True
        now[0] += 500  # real time passes, the frozen clock does not
        assert (await client.get(CLOCK)).json()["now"] == "2027-01-15T08:00:00.000000Z"
        moved = await advance(client, "48h")
        assert moved["now"] == "2027-01-17T08:00:00.000000Z"
        released = (await client.post(CLOCK, json={"action": "release"})).json()
        assert released == {"now": "2027-01-15T08:08:20.000000Z", "frozen": False, "offset_seconds": 0.0, "ran": 0}
        running = await advance(client, "90s")  # not frozen: an offset ahead of real time
        assert running["offset_seconds"] == 90.0
        assert running["now"] == "2027-01-15T08:09:50.000000Z"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({"action": "advance"}, 422, id="advance-without-by"),
        pytest.param({"action": "advance", "by": "-5m"}, 422, id="negative"),
        pytest.param({"action": "advance", "by": "5 minutes"}, 422, id="prose"),
        pytest.param({"action": "rewind", "by": "5m"}, 422, id="unknown-action"),
        pytest.param({}, 422, id="empty"),
    ],
)
async def test_bad_clock_changes_are_refused(client: httpx.AsyncClient, body: dict[str, str], status: int) -> None:
    before = (await client.get(CLOCK)).json()
    response = await client.post(CLOCK, json=body)
    assert response.status_code == status
    assert response.json()["error"] == "validation_error"
    assert (await client.get(CLOCK)).json() == before


async def test_the_clock_cannot_leave_the_calendar(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        await advance(client, "999999d")
    response = await client.post(CLOCK, json={"action": "advance", "by": "999999d"})
    assert response.status_code == 409
    assert response.json()["error"] == "out_of_range"


async def test_access_tokens_expire(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    await advance(client, "7199s")
    assert (await client.get("/api/partner/v2/webhooks", headers=headers)).status_code == 200
    await advance(client, "1s")
    expired = await client.get("/api/partner/v2/webhooks", headers=headers)
    assert expired.status_code == 401
    assert "expired" in expired.json()["message"]


async def test_applicant_tokens_expire_when_expiry_is_on(make_client: Callable[..., Any]) -> None:
    async with make_client(applicant_token_ttl=24 * 3600) as (client, _):
        token = await make_token(client)
        await advance(client, "23h")
        assert (await client.get("/auth/demo-widget", params={"token": token})).status_code == 200
        await advance(client, "1h")
        assert (await client.get("/auth/demo-widget", params={"token": token})).status_code == 410


async def test_applicant_tokens_do_not_expire_by_default(client: httpx.AsyncClient) -> None:
    token = await make_token(client)
    await advance(client, "999d")
    assert (await client.get("/auth/demo-widget", params={"token": token})).status_code == 200


async def test_requests_expire_after_48h_with_their_webhook(client: httpx.AsyncClient, receiver: Receiver) -> None:
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    await client.post("/api/partner/v2/webhooks", json={"url": "http://receiver.test/h"}, headers=headers)
    created = await create(client, headers)
    assert (await advance(client, "47h"))["ran"] == 0
    assert receiver.requests == []
    moved = await advance(client, "1h")
    assert moved["ran"] == 2  # the expiry, then the delivery it queued
    [event] = [json.loads(request.content) for request in receiver.requests]
    assert (event["type"], event["request_id"]) == ("vwsp_request.canceled", created["request_id"])


async def test_the_applicant_cache_period_runs_on_the_clock(client: httpx.AsyncClient) -> None:
    await submit(client)  # demo-widget: a one-week cache
    await advance(client, "6d")
    assert "Welcome back" in (await submit(client)).text
    await advance(client, "1d")
    assert "Welcome back" not in (await submit(client)).text


async def test_webhook_retries_follow_the_clock(client: httpx.AsyncClient, receiver: Receiver) -> None:
    receiver.responses = [500, 500]
    await client.put("/_sandbox/verifypass/accounts/passbox-demo-account/webhook", json={"url": "http://r.test/v"})
    await submit(client)
    await client.post(CLOCK, json={"action": "advance", "by": "0s"})  # runs the first attempt
    assert len(receiver.requests) == 1
    await advance(client, "2s")  # the retry after ~1 s
    assert len(receiver.requests) == 2
    await advance(client, "12s")  # the one after ~10 s, which succeeds
    assert len(receiver.requests) == 3
    [delivery] = (await client.get("/_sandbox/deliveries")).json()
    assert [attempt["status_code"] for attempt in delivery["attempts"]] == [500, 500, 200]
    assert delivery["status"] == "delivered"


async def test_a_slow_job_does_not_hold_the_answer(sandbox: Sandbox, clock: Clock) -> None:
    """settle() answers after its wait even when due work is stuck (a receiver that hangs),
    and lets that work finish in the background."""
    context = sandbox.context
    release = asyncio.Event()
    sandbox.core.scheduler.handle("test.wait", lambda timer: release.wait())
    sandbox.core.scheduler.call_at(clock.now(), "test.wait", "tenant", "stuck")
    assert await context.settle(wait=0.01) is None
    [stuck] = context.background
    release.set()
    await stuck
    assert stuck.result() == 1
    assert context.background == set()
    assert await context.settle() == 0


async def test_releasing_the_clock_keeps_the_time_scheduled_work_had_left(
    client: httpx.AsyncClient, receiver: Receiver, sandbox: Sandbox, clock: Clock
) -> None:
    """A retry scheduled 1 s after an attempt made 100 days ahead comes about 1 s after the
    release, not when real time catches up with the jump."""
    await advance(client, "100d")  # past the test clock's wall time
    receiver.responses = [500]
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    await client.post("/api/partner/v2/webhooks", json={"url": "http://receiver.test/h"}, headers=headers)
    await create(client, headers, request_id="sandbox:verified")
    await sandbox.core.scheduler.drain()
    [retry] = [timer for timer in sandbox.core.store.timers() if timer.job == "outbox.attempt"]
    assert 0 < retry.due - clock.timestamp() <= 1.2
    await client.post("/_sandbox/clock", json={"action": "release"})
    [after] = [timer for timer in sandbox.core.store.timers() if timer.job == "outbox.attempt"]
    assert 0 < after.due - clock.timestamp() <= 1.2
    expiry = [timer for timer in sandbox.core.store.timers() if timer.job == "seekpass.expire"]
    assert expiry == []  # the magic request finished at once
