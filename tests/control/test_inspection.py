"""The journal, the deliveries listing, redelivery, and reset (everything or one tenant)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from passbox.app import Sandbox
from tests.conftest import OTHER_CLIENT, Receiver, get_token
from tests.seekpass.helpers import complete, create
from tests.verifypass.helpers import KEY, make_token, submit

JOURNAL = "/_sandbox/requests"


async def test_the_journal_records_vendor_traffic_with_secrets_redacted(client: httpx.AsyncClient) -> None:
    token = await get_token(client)
    await client.get("/api/partner/v2/webhooks", headers={"Authorization": f"Bearer {token}"})
    applicant = await make_token(client, email="a@example.com")
    await client.get("/auth/demo-widget", params={"token": applicant})
    await client.get("/_sandbox/scenarios")  # the control plane is not journaled
    entries = (await client.get(JOURNAL)).json()["entries"]
    assert [(e["method"], e["path"], e["operation"], e["status"]) for e in entries] == [
        ("GET", "/auth/demo-widget", "openWidget", 200),
        ("POST", "/api/v2/token", "createApplicantToken", 200),
        ("GET", "/api/partner/v2/webhooks", "listWebhooks", 200),
        ("POST", "/api/partner/v1/oauth/token.json", "createAccessToken", 200),
    ]
    widget, token_call, hooks, oauth = entries
    assert widget["query"] == "token=%5Bredacted%5D"
    assert widget["response_body"].startswith("<text/html")
    assert widget["tenant"] == "verifypass:passbox-demo-account"
    assert token_call["request_headers"]["key"] == "[redacted]"
    assert '"token":"[redacted]"' in token_call["response_body"]
    assert hooks["request_headers"]["authorization"] == "[redacted]"
    assert hooks["tenant"] == "seekpass:passbox-demo-client"
    assert "client_secret=%5Bredacted%5D" in oauth["request_body"]
    assert '"access_token":"[redacted]"' in oauth["response_body"]
    assert "passbox-demo-secret" not in str(entries) and token not in str(entries) and applicant not in str(entries)
    assert all(entry["latency_ms"] >= 0 for entry in entries)


async def test_the_journal_filters(client: httpx.AsyncClient) -> None:
    await client.get("/api/v2/reporting", headers=KEY)
    await client.get("/api/v2/reporting", headers={"key": "bad"})
    await client.post("/api/v2/token", json={}, headers=KEY)
    await client.get("/api/partner/v2/webhooks")

    async def paths(**params: Any) -> list[tuple[str, int]]:
        entries = (await client.get(JOURNAL, params=params)).json()["entries"]
        return [(e["path"], e["status"]) for e in entries]

    assert await paths(vendor="seekpass") == [("/api/partner/v2/webhooks", 401)]
    assert await paths(status=401) == [("/api/partner/v2/webhooks", 401), ("/api/v2/reporting", 401)]
    assert await paths(method="post") == [("/api/v2/token", 200)]
    assert await paths(operation="getActivity", tenant="verifypass:passbox-demo-account") == [
        ("/api/v2/reporting", 200)
    ]
    assert await paths(path="reporting", limit=1) == [("/api/v2/reporting", 401)]
    for bad in ({"limit": "0"}, {"limit": "many"}, {"status": "99"}):
        assert (await client.get(JOURNAL, params=bad)).status_code == 422


async def test_the_journal_stays_within_its_bound(make_client: Callable[..., Any]) -> None:
    async with make_client(journal_size=50) as (client, sandbox):
        for n in range(300):
            await client.post("/api/v2/token", json={"uid": f"u{n}", "first_name": "x" * 250}, headers=KEY)
        body = (await client.get(JOURNAL, params={"limit": "1000"})).json()
        assert body["capacity"] == 50
        assert body["size"] == 50
        assert len(body["entries"]) == 50
        assert body["entries"][0]["request_body"].startswith('{"uid":"u299"')
        assert len(sandbox.journal) == 50
        assert all(len(entry["request_body"]) <= 2049 for entry in body["entries"])


async def test_a_journal_of_size_zero_records_nothing(make_client: Callable[..., Any]) -> None:
    async with make_client(journal_size=0) as (client, sandbox):
        assert (await client.post("/api/v2/token", json={"uid": "u1"}, headers=KEY)).status_code == 200
        assert (await client.get("/api/v2/reporting", headers={"key": "bad"})).status_code == 401
        body = (await client.get(JOURNAL)).json()
        assert (body["capacity"], body["size"], body["entries"]) == (0, 0, [])
        assert len(sandbox.journal) == 0


async def test_long_headers_are_kept_cut_and_redacted_when_read(client: httpx.AsyncClient) -> None:
    long = "v" * 5000
    await client.get("/api/v2/reporting", headers={**KEY, "x-long": long, "x-" + "n" * 100: "short"})
    entry = (await client.get(JOURNAL)).json()["entries"][0]
    headers = entry["request_headers"]
    assert headers["x-long"] == "v" * 256 + "…"
    assert headers["key"] == "[redacted]"
    assert headers["x-" + "n" * 62] == "short"  # names are cut at 64 bytes


async def test_what_the_journal_holds_of_a_request_is_bounded_however_big_its_head(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    # Under the edge's 32 KiB limit, over what the journal keeps: 30 values of 1,000 bytes,
    # 60 headers in all, a path and a query of 6,000 characters.
    padding = {f"x-pad-{n}": "p" * 1000 for n in range(30)} | {f"x-n-{n}": "n" for n in range(30)}
    long_path = "/api/v2/reporting" + "/x" * 3000
    response = await client.get(long_path, params={"q": "y" * 6000}, headers={**KEY, **padding})
    assert response.status_code == 404
    (kept,) = sandbox.journal._local or ()  # what stays in memory, not only what is shown
    assert len(kept.headers) <= 40
    assert all(len(name) <= 64 and len(value) <= 257 for name, value in kept.headers)
    assert len(kept.path) <= 2048
    assert len(kept.query) <= 2048
    entry = (await client.get(JOURNAL)).json()["entries"][0]
    assert entry["path"] == long_path[:2048]
    assert entry["status"] == 404
    assert entry["request_headers"]["x-pad-0"] == "p" * 256 + "…"


async def test_deliveries_are_listed_filtered_and_redelivered(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    await client.post("/api/partner/v2/webhooks", json={"url": "http://receiver.test/sp"}, headers=headers)
    created = await create(client, headers)
    await complete(client, created["redirect_uri"])
    await client.put("/_sandbox/verifypass/accounts/passbox-demo-account/webhook", json={"url": "http://r.test/vp"})
    await submit(client)
    await drain()
    listed = (await client.get("/_sandbox/deliveries")).json()
    assert [(d["vendor"], d["event_type"], d["status"]) for d in listed] == [
        ("verifypass", "verification", "delivered"),
        ("seekpass", "vwsp_request.verified", "delivered"),
    ]
    seekpass_delivery = listed[1]
    assert seekpass_delivery["attempts"][0]["request_headers"]["X-Signature"]
    assert seekpass_delivery["attempts"][0]["status_code"] == 200
    only = (await client.get("/_sandbox/deliveries", params={"event": "vwsp_request.verified"})).json()
    assert [d["id"] for d in only] == [seekpass_delivery["id"]]
    assert (await client.get("/_sandbox/deliveries", params={"status": "failed"})).json() == []
    assert (await client.get("/_sandbox/deliveries", params={"tenant": "verifypass:passbox-demo-account"})).json()[0][
        "vendor"
    ] == "verifypass"
    one = (await client.get(f"/_sandbox/deliveries/{seekpass_delivery['id']}")).json()
    assert one == seekpass_delivery
    again = await client.post(f"/_sandbox/deliveries/{seekpass_delivery['id']}/redeliver")
    assert again.status_code == 202
    assert again.json()["status"] == "pending"
    await drain()
    assert len(receiver.requests) == 3
    assert receiver.requests[2].content == receiver.requests[0].content
    for path in ("/_sandbox/deliveries/nope", "/_sandbox/deliveries/nope/redeliver"):
        method = "POST" if path.endswith("redeliver") else "GET"
        response = await client.request(method, path)
        assert response.status_code == 404
        assert response.json()["error"] == "not_found"


async def test_a_full_reset_returns_to_fixtures_and_seed(
    client: httpx.AsyncClient, sandbox: Sandbox, make_client: Callable[..., Any]
) -> None:
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    first = await create(client, headers)
    await client.post("/_sandbox/faults", json={"kind": "latency", "latency_ms": 1})
    await client.put("/_sandbox/verifypass/accounts/passbox-demo-account/webhook", json={"url": "http://r.test/vp"})
    response = await client.post("/_sandbox/reset")
    assert response.status_code == 200
    assert response.json()["reset"] == "everything"
    assert response.json()["took_ms"] < 1000
    assert sandbox.core.store.tenants() == []
    assert (await client.get("/_sandbox/faults")).json() == []
    assert (await client.get(JOURNAL)).json()["entries"] == []
    assert (await client.get("/_sandbox/verifypass/accounts")).json()[0]["webhook_url"] is None
    # The seeded streams start over: the same calls give the same ids as before.
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    again = await create(client, headers)
    assert again == first


async def test_a_tenant_reset_leaves_other_tenants_alone(client: httpx.AsyncClient, drain: Callable[..., Any]) -> None:
    mine = {"Authorization": f"Bearer {await get_token(client)}"}
    theirs = {"Authorization": f"Bearer {await get_token(client, OTHER_CLIENT)}"}
    for headers in (mine, theirs):
        await client.post("/api/partner/v2/webhooks", json={"url": "http://receiver.test/h"}, headers=headers)
        await create(client, headers, request_id="kept-or-not")
    await submit(client)
    response = await client.post("/_sandbox/reset", json={"tenant": "seekpass:passbox-demo-client"})
    assert response.json()["reset"] == "seekpass:passbox-demo-client"
    tenants = {e["tenant"] for e in (await client.get(JOURNAL)).json()["entries"]}
    assert "seekpass:passbox-demo-client" not in tenants
    assert {"seekpass:passbox-other-client", "verifypass:passbox-demo-account"} <= tenants
    assert (await client.get("/api/partner/v2/webhooks", headers=mine)).json() == []
    assert (await client.get("/api/partner/v2/verify/requests/kept-or-not", headers=mine)).status_code == 404
    assert len((await client.get("/api/partner/v2/webhooks", headers=theirs)).json()) == 1
    assert (await client.get("/api/partner/v2/verify/requests/kept-or-not", headers=theirs)).status_code == 200
    assert (await client.get("/api/v2/reporting", headers=KEY)).json()["count"] == 1


async def test_a_tenant_reset_cancels_its_scheduled_work(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    mine = {"Authorization": f"Bearer {await get_token(client)}"}
    await client.post("/api/partner/v2/webhooks", json={"url": "http://receiver.test/h"}, headers=mine)
    await create(client, mine)
    await client.post("/_sandbox/reset", json={"tenant": "seekpass:passbox-demo-client"})
    await client.post("/_sandbox/clock", json={"action": "advance", "by": "49h"})
    assert receiver.requests == []  # its 48 h expiry (and the event) went with it


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({"tenant": "seekpass:nobody"}, 404, id="unknown-tenant"),
        pytest.param({"tenant": "stripe:acct"}, 422, id="unknown-vendor"),
        pytest.param({"tenant": 5}, 422, id="not-a-string"),
    ],
)
async def test_bad_resets_change_nothing(
    client: httpx.AsyncClient, sandbox: Sandbox, body: dict[str, Any], status: int
) -> None:
    await submit(client)
    response = await client.post("/_sandbox/reset", json=body)
    assert response.status_code == status
    assert len(sandbox.vendors["verifypass"].backend.activity("passbox-demo-account")) == 1
