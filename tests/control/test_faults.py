"""/_sandbox/faults and /_sandbox/webhook-faults: each fault as a client sees it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from passbox.app import Sandbox
from passbox.core.clock import Clock
from passbox_clients.errors import WebhookVerificationError
from passbox_clients.seekpass import AsyncSeekPassClient, RetryPolicy
from passbox_clients.seekpass.webhooks import verify
from passbox_clients.verifypass import AsyncVerifyPassClient
from tests.clients.conftest import NoSleep
from tests.conftest import BASE_URL, DEMO_CLIENT, Receiver, get_token
from tests.seekpass.helpers import verified_with_webhook
from tests.verifypass.helpers import KEY, submit

FAULTS = "/_sandbox/faults"
WEBHOOK_FAULTS = "/_sandbox/webhook-faults"


async def add(client: httpx.AsyncClient, **rule: Any) -> dict[str, Any]:
    response = await client.post(FAULTS, json=rule)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_an_error_in_each_vendors_shape(client: httpx.AsyncClient) -> None:
    await add(client, kind="error", status=503, operation="createApplicantToken")
    await add(client, kind="error", status=500, vendor="seekpass")
    verifypass = await client.post("/api/v2/token", json={}, headers=KEY)
    assert verifypass.status_code == 503
    assert verifypass.json() == {"error": "Injected fault fault-1 (passbox control plane)"}
    seekpass = await client.post("/api/partner/v1/oauth/token.json", data={"grant_type": "client_credentials"})
    assert seekpass.status_code == 500
    assert seekpass.json() == {"error": "internal_error", "message": "Injected fault fault-2 (passbox control plane)"}
    # The reporting API of VerifyPass is not affected: the rule named one operation.
    assert (await client.get("/api/v2/reporting", headers=KEY)).status_code == 200


async def test_rate_limits_carry_retry_after(client: httpx.AsyncClient) -> None:
    await add(client, kind="rate_limit", vendor="verifypass", retry_after=7)
    response = await client.get("/api/v2/reporting", headers=KEY)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json()["error"].startswith("Injected fault")


async def test_a_cloudflare_style_block_page(client: httpx.AsyncClient) -> None:
    await add(client, kind="cloudflare", operation="openWidget", retry_after=30)
    page = await client.get("/auth/demo-widget")
    assert page.status_code == 429
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["server"] == "cloudflare"
    assert page.headers["cf-ray"].endswith("-SYD")
    assert page.headers["retry-after"] == "30"
    assert 'Error</span> <span class="cf-error-code">1015' in page.text
    assert "You are being rate limited" in page.text
    assert (await client.post("/api/v2/token", json={}, headers=KEY)).status_code == 200


async def test_latency_is_added_and_journaled(client: httpx.AsyncClient) -> None:
    await add(client, kind="latency", latency_ms=30, operation="listWebhooks")
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    response = await client.get("/api/partner/v2/webhooks", headers=headers)
    assert response.status_code == 200
    [entry] = (await client.get("/_sandbox/requests", params={"operation": "listWebhooks"})).json()["entries"]
    assert entry["fault"] == "fault-1 (latency)"
    assert entry["latency_ms"] >= 30


async def test_random_latency_stays_within_its_bounds(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    rule = await add(client, kind="latency", latency_ms=1, latency_max_ms=3)
    delays = [d.delay_ms for _ in range(20) for d in sandbox.faults.decide("verifypass", frozenset({"getActivity"}))]
    assert len(delays) == 20 and all(1 <= delay <= 3 for delay in delays) and len(set(delays)) > 1
    assert rule["latency_max_ms"] == 3


async def test_a_rule_can_be_limited_to_the_next_n_requests(client: httpx.AsyncClient) -> None:
    await add(client, kind="error", status=502, operation="getActivity", remaining=2)
    statuses = [(await client.get("/api/v2/reporting", headers=KEY)).status_code for _ in range(4)]
    assert statuses == [502, 502, 200, 200]
    assert (await client.get(FAULTS)).json() == []


async def test_error_rates_are_seeded_so_failures_replay(make_client: Callable[..., Any]) -> None:
    async def pattern(seed: int) -> list[int]:
        async with make_client(seed=seed) as (client, _):
            await add(client, kind="error", status=500, rate=0.5, vendor="verifypass")
            return [(await client.get("/api/v2/reporting", headers=KEY)).status_code for _ in range(16)]

    first = await pattern(7)
    assert first == await pattern(7)
    assert set(first) == {200, 500}
    assert first != await pattern(8)


async def test_rules_are_listed_and_removed(client: httpx.AsyncClient) -> None:
    one = await add(client, kind="error", status=500)
    two = await add(client, kind="latency", latency_ms=1, operation="createWebhook")
    assert two["vendor"] == "seekpass"  # the operation implies its vendor
    listed = (await client.get(FAULTS)).json()
    assert [rule["id"] for rule in listed] == [one["id"], two["id"]]
    assert (await client.delete(f"{FAULTS}/{one['id']}")).status_code == 204
    assert (await client.delete(f"{FAULTS}/{one['id']}")).status_code == 404
    assert (await client.delete(FAULTS)).status_code == 204
    assert (await client.get(FAULTS)).json() == []


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param({"kind": "explode"}, id="unknown-kind"),
        pytest.param({"kind": "error", "status": 200}, id="not-an-error-status"),
        pytest.param({"kind": "error", "rate": 1.5}, id="rate-above-1"),
        pytest.param({"kind": "latency", "latency_ms": 60_000}, id="too-slow"),
        pytest.param({"kind": "error", "operation": "noSuchOperation"}, id="unknown-operation"),
        pytest.param({"kind": "error", "remaining": 0}, id="zero-remaining"),
    ],
)
async def test_bad_rules_are_refused(client: httpx.AsyncClient, rule: dict[str, Any]) -> None:
    response = await client.post(FAULTS, json=rule)
    assert response.status_code == 422
    assert response.json()["error"] == "validation_error"
    assert (await client.get(FAULTS)).json() == []


async def test_the_control_plane_is_never_faulted(client: httpx.AsyncClient) -> None:
    await add(client, kind="error", status=500)
    assert (await client.get("/_sandbox/scenarios")).status_code == 200
    assert (await client.get(FAULTS)).status_code == 200


async def test_faults_from_a_file_at_startup_and_after_a_reset(tmp_path: Path, make_client: Callable[..., Any]) -> None:
    path = tmp_path / "faults.yaml"
    path.write_text(
        "faults:\n  - {kind: rate_limit, operation: createApplicantToken, retry_after: 3}\n"
        "webhook_faults:\n  - {kind: fail, remaining: 2}\n"
    )
    async with make_client(faults_file=path) as (client, _):
        assert (await client.post("/api/v2/token", json={}, headers=KEY)).status_code == 429
        assert len((await client.get(WEBHOOK_FAULTS)).json()) == 1
        await client.delete(FAULTS)
        assert (await client.post("/api/v2/token", json={}, headers=KEY)).status_code == 200
        await client.post("/_sandbox/reset")
        assert (await client.post("/api/v2/token", json={}, headers=KEY)).status_code == 429


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("faults:\n  - {kind: explode}\n", r"faults\[0\]: kind", id="unknown-kind"),
        pytest.param("faults: [\n  - kind: error\n", r"cannot be read: while parsing", id="not-yaml"),
        pytest.param("faults: {kind: error}\n", r"faults must be a list", id="not-a-list"),
        pytest.param("rules: []\n", r"must hold 'faults' and/or 'webhook_faults'", id="unknown-key"),
        pytest.param(None, r"is missing", id="missing"),
    ],
)
def test_a_bad_fault_file_stops_startup_with_one_clear_line(tmp_path: Path, text: str | None, message: str) -> None:
    from passbox.app import create_app
    from passbox.core.fixtures import FixtureError
    from passbox.settings import Settings

    path = tmp_path / "faults.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(FixtureError, match=message) as info:
        create_app(Settings(seed=1, faults_file=path))
    assert "\n" not in str(info.value) and str(path) in str(info.value)


async def test_clients_recover_from_injected_429s_and_5xx(client: httpx.AsyncClient, app: Starlette) -> None:
    await add(client, kind="rate_limit", operation="listWebhooks", retry_after=2, remaining=2)
    await add(client, kind="error", status=503, operation="createApplicantToken", remaining=1)
    await add(client, kind="error", status=500, operation="getActivity", remaining=2)
    sleep = NoSleep()
    seekpass = AsyncSeekPassClient(
        BASE_URL, *DEMO_CLIENT, transport=httpx.ASGITransport(app=app), sleep=sleep.asleep, retry=RetryPolicy(jitter=0)
    )
    verifypass = AsyncVerifyPassClient(
        "passbox-demo-key", base_url=BASE_URL, transport=httpx.ASGITransport(app=app), sleep=sleep.asleep,
        retry=RetryPolicy(jitter=0),
    )  # fmt: skip
    assert await seekpass.list_webhooks() == []
    assert (await verifypass.create_token()).startswith("eyJpdiI6")
    assert (await verifypass.get_activity()).count == 0
    assert sleep.delays == [2.0, 2.0, 0.5, 0.5, 1.0]
    statuses = [e["status"] for e in reversed((await client.get("/_sandbox/requests")).json()["entries"])]
    assert statuses == [200, 429, 429, 200, 503, 200, 500, 500, 200]


# -- webhook faults ----------------------------------------------------------------------------


async def test_fail_the_next_deliveries(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any], clock: Clock
) -> None:
    await client.post(WEBHOOK_FAULTS, json={"kind": "fail", "url": "http://receiver.test/h", "remaining": 2})
    await verified_with_webhook(client, drain)
    assert receiver.requests == []
    clock.advance(2)
    await drain()
    assert receiver.requests == []
    clock.advance(12)
    await drain()
    assert len(receiver.requests) == 1
    [delivery] = (await client.get("/_sandbox/deliveries")).json()
    assert [(a["status_code"], a["fault"]) for a in delivery["attempts"]] == [
        (None, "webhook-fault-1: fail"),
        (None, "webhook-fault-1: fail"),
        (200, None),
    ]
    assert delivery["faults"] == ["webhook-fault-1: fail", "webhook-fault-1: fail"]
    assert (await client.get(WEBHOOK_FAULTS)).json() == []


async def test_deliver_an_event_twice(client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any]) -> None:
    await client.post(WEBHOOK_FAULTS, json={"kind": "duplicate"})
    await verified_with_webhook(client, drain)
    first, second = receiver.requests
    assert first.content == second.content
    assert json.loads(first.content)["event_id"] == json.loads(second.content)["event_id"]
    [delivery] = (await client.get("/_sandbox/deliveries")).json()
    assert [a["fault"] for a in delivery["attempts"]] == ["webhook-fault-1: duplicate"] * 2


async def test_deliver_out_of_order(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any], clock: Clock
) -> None:
    await client.put("/_sandbox/verifypass/accounts/passbox-demo-account/webhook", json={"url": "http://r.test/vp"})
    await client.post(WEBHOOK_FAULTS, json={"kind": "reorder", "delay_seconds": 30})
    await submit(client, email="first@example.com")
    await drain()
    await submit(client, email="second@example.com")
    await drain()
    clock.advance(30)
    await drain()
    emails = [json.loads(r.content)["data"][0]["email"] for r in receiver.requests]
    assert emails == ["second@example.com", "first@example.com"]
    held = next(d for d in (await client.get("/_sandbox/deliveries")).json() if "first@" in d["body"])
    assert held["faults"] == ["webhook-fault-1: held back 30 s to arrive out of order"]


async def test_a_stale_timestamp_fails_a_receivers_tolerance(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any], clock: Clock
) -> None:
    await client.post(WEBHOOK_FAULTS, json={"kind": "stale_timestamp", "vendor": "seekpass"})
    _, hook = await verified_with_webhook(client, drain)
    [delivery] = receiver.requests
    assert int(delivery.headers["x-timestamp"]) == int(clock.wall()) - 960
    # The signature is genuine; only the timestamp is out of tolerance.
    assert verify(delivery.content, delivery.headers, hook["secret"], tolerance=10**6, now=clock.wall())
    with pytest.raises(WebhookVerificationError, match="more than 900 seconds"):
        verify(delivery.content, delivery.headers, hook["secret"], now=clock.unix())
    [record] = (await client.get("/_sandbox/deliveries")).json()
    assert record["attempts"][0]["fault"] == "webhook-fault-1: stale_timestamp"


async def test_webhook_faults_are_listed_removed_and_validated(client: httpx.AsyncClient) -> None:
    created = (await client.post(WEBHOOK_FAULTS, json={"kind": "fail", "url": "https://x.example/h"})).json()
    assert created["remaining"] == 1
    assert [f["id"] for f in (await client.get(WEBHOOK_FAULTS)).json()] == [created["id"]]
    assert (await client.delete(f"{WEBHOOK_FAULTS}/{created['id']}")).status_code == 204
    assert (await client.delete(f"{WEBHOOK_FAULTS}/{created['id']}")).status_code == 404
    for bad in ({"kind": "vanish"}, {"kind": "fail", "url": "ftp://x"}, {"kind": "fail", "remaining": 0}):
        assert (await client.post(WEBHOOK_FAULTS, json=bad)).status_code == 422
    assert (await client.delete(WEBHOOK_FAULTS)).status_code == 204


async def test_limited_rules_take_effect_one_after_another(client: httpx.AsyncClient) -> None:
    await add(client, kind="rate_limit", operation="getActivity", remaining=1)
    await add(client, kind="error", status=503, operation="getActivity", remaining=1)
    await add(client, kind="latency", latency_ms=1, operation="getActivity", remaining=2)
    statuses = [(await client.get("/api/v2/reporting", headers=KEY)).status_code for _ in range(3)]
    assert statuses == [429, 503, 200]
    entries = (await client.get("/_sandbox/requests")).json()["entries"]
    assert [e["fault"] for e in reversed(entries)] == [
        "fault-1 (rate_limit), fault-3 (latency)",
        "fault-2 (error), fault-3 (latency)",
        None,
    ]


@pytest.mark.parametrize("operation", ["getVerificationRequest", "getVerificationRequestWithoutSuffix"])
async def test_a_rule_hits_its_operation_whichever_spelling_the_client_uses(
    client: httpx.AsyncClient, operation: str
) -> None:
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    await add(client, kind="error", status=503, operation=operation, remaining=2)
    base = "/api/partner/v2/verify/requests/acme/orders/7"  # an id with slashes, too
    assert (await client.get(f"{base}.json", headers=headers)).status_code == 503
    assert (await client.get(base, headers=headers)).status_code == 503
    assert (await client.get(base, headers=headers)).status_code == 404  # the rule is used up
    token_twin = await client.post("/api/partner/v1/oauth/token", data={"grant_type": "client_credentials"})
    assert token_twin.status_code == 400  # other operations are not hit
