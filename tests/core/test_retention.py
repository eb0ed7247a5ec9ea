"""Retention: finished records are retired after the retention period or beyond the count
cap; unfinished ones (and pending deliveries) never are."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from passbox.core.clock import Clock
from passbox.core.webhooks import DELIVERIES
from passbox.seekpass.backend import REQUESTS, SESSIONS
from tests.conftest import get_token
from tests.seekpass.helpers import create


async def test_finished_requests_beyond_the_cap_are_retired(make_client: Callable[..., Any], clock: Clock) -> None:
    async with make_client(max_records=5) as (client, sandbox):
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        await client.post("/api/partner/v2/webhooks", headers=headers, json={"url": "http://r.test/h"})
        for n in range(12):
            await create(client, headers, request_id=f"sandbox:verified:order-{n}")
        unfinished = await create(client, headers)
        await sandbox.core.scheduler.drain()
        store = sandbox.core.store
        assert store.count(REQUESTS) == 13
        retired = sandbox.context.retire()
        assert retired > 0
        requests = store.values(REQUESTS, "seekpass:passbox-demo-client")
        assert len(requests) == 5
        assert unfinished["request_id"] in [request.request_id for request in requests]  # never retired
        assert [r.request_id for r in requests if r.finished] == [f"sandbox:verified:order-{n}" for n in range(8, 12)]
        assert store.count(SESSIONS) <= 5
        assert store.count(DELIVERIES) == 5


async def test_finished_records_are_retired_after_the_retention_period(
    make_client: Callable[..., Any], clock: Clock
) -> None:
    async with make_client(retention_seconds=3600) as (client, sandbox):
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        await create(client, headers, request_id="sandbox:verified:old")
        clock.advance(timedelta(minutes=59))
        assert sandbox.context.retire() == 0
        await create(client, headers, request_id="sandbox:verified:new")
        clock.advance(timedelta(minutes=1))
        assert sandbox.context.retire() == 2  # the old request and its session
        response = await client.get("/api/partner/v2/verify/requests/sandbox:verified:old", headers=headers)
        assert response.status_code == 404
        response = await client.get("/api/partner/v2/verify/requests/sandbox:verified:new", headers=headers)
        assert response.status_code == 200
