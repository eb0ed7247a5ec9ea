"""The dashboard over HTTP: pages, actions, links to JSON, and the admin login."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import Receiver, get_token
from tests.seekpass.helpers import create
from tests.verifypass.helpers import submit


async def csrf(client: httpx.AsyncClient, page: str = "/_sandbox/ui/seekpass") -> dict[str, str]:
    """The CSRF field of this browser's dashboard forms (the page sets the cookie it is bound to)."""
    html = (await client.get(page)).text
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', html)
    assert match, "the page has no CSRF field"
    return {"csrf": match.group(1)}


async def test_the_overview_lists_partners_accounts_and_deliveries(client: httpx.AsyncClient) -> None:
    page = await client.get("/_sandbox/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    expected = [
        "passbox-demo-client",
        "passbox-readonly-client",
        "passbox-demo-account",
        "None yet.",
        ">demo-token-only</a> (token)",
        ">demo-private</a> (private)",
        'href="/_sandbox/seekpass/partners"',
    ]
    for text in expected:
        assert text in page.text


async def test_requests_can_be_completed_and_canceled_from_the_dashboard(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    await client.post("/api/partner/v2/webhooks", json={"url": "http://receiver.test/h"}, headers=headers)
    await create(client, headers, request_id="dash-1")
    await create(client, headers, request_id="dash-2")
    page = await client.get("/_sandbox/ui/seekpass")
    assert page.text.count('class="complete"') == 2
    assert 'href="/_sandbox/seekpass/requests/passbox-demo-client/dash-1"' in page.text
    done = await client.post(
        "/_sandbox/ui/seekpass/passbox-demo-client/dash-1/complete",
        data={"persona": "lee-nurse", "document_type": "passport", **await csrf(client)},
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/_sandbox/ui/seekpass?notice=Request+dash-1+verified"
    await client.post("/_sandbox/ui/seekpass/passbox-demo-client/dash-2/cancel", data=await csrf(client))
    await drain()
    json_view = (await client.get("/_sandbox/seekpass/requests/passbox-demo-client/dash-1")).json()
    assert json_view["status"] == "verified"
    assert json_view["credential"]["full_name"] == "Lee O'Brien"
    assert [json_ for json_ in receiver.bodies()] and {b["type"] for b in receiver.bodies()} == {
        "vwsp_request.verified",
        "vwsp_request.canceled",
    }
    page = await client.get("/_sandbox/ui/seekpass", params={"notice": "Request dash-1 verified"})
    assert 'id="notice">Request dash-1 verified' in page.text
    assert "Lee O&#39;Brien, passport" in page.text
    assert 'class="complete"' not in page.text
    again = await client.post("/_sandbox/ui/seekpass/passbox-demo-client/dash-1/complete", data=await csrf(client))
    assert "already+verified" in again.headers["location"]


async def test_activity_deliveries_and_redelivery(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    await client.put("/_sandbox/verifypass/accounts/passbox-demo-account/webhook", json={"url": "http://r.test/vp"})
    receiver.responses = [500]
    await submit(client, email="dash@example.com")
    await submit(client, widget="demo-private", query={"uid": "u"}, community="tea", outcome="negative")
    await drain()
    activity = await client.get("/_sandbox/ui/verifypass")
    assert "dash@example.com" in activity.text and 'status-negative">negative' in activity.text
    newest, oldest = re.findall(r'href="/_sandbox/verifypass/activity/([0-9a-f-]+)"', activity.text)
    assert (await client.get(f"/_sandbox/verifypass/activity/{newest}")).json()["outcome"] == "negative"
    activity_id = oldest
    assert (await client.get(f"/_sandbox/verifypass/activity/{activity_id}")).json()["email"] == "dash@example.com"
    deliveries = await client.get("/_sandbox/ui/deliveries")
    assert "attempt 1 at" in deliveries.text and "receiver answered 500" in deliveries.text
    [delivery_id] = re.findall(r'data-delivery-id="([0-9a-f-]+)"', deliveries.text)
    sent = await client.post(f"/_sandbox/ui/deliveries/{delivery_id}/redeliver", data=await csrf(client))
    assert sent.status_code == 303
    assert len(receiver.requests) == 2
    assert "attempt 2 at" in (await client.get("/_sandbox/ui/deliveries")).text
    missing = await client.post("/_sandbox/ui/deliveries/nope/redeliver", data=await csrf(client))
    assert missing.headers["location"].endswith("No+delivery+nope")


async def test_the_journal_page_links_each_entry(client: httpx.AsyncClient) -> None:
    await client.get("/api/v2/reporting", headers={"key": "passbox-demo-key"})
    page = await client.get("/_sandbox/ui/requests")
    [entry_id] = re.findall(r'href="/_sandbox/requests/(\d+)"', page.text)
    entry = (await client.get(f"/_sandbox/requests/{entry_id}")).json()
    assert entry["path"] == "/api/v2/reporting"
    assert (await client.get("/_sandbox/requests/999999")).status_code == 404
    assert (await client.get("/_sandbox/requests/abc")).status_code == 404


async def test_partners_and_missing_items_as_json(client: httpx.AsyncClient) -> None:
    partners = (await client.get("/_sandbox/seekpass/partners")).json()
    assert [p["client_id"] for p in partners] == [
        "passbox-demo-client",
        "passbox-readonly-client",
        "passbox-other-client",
    ]
    assert "client_secret" not in partners[0]
    assert (await client.get("/_sandbox/seekpass/requests/passbox-demo-client/nope")).status_code == 404
    assert (await client.get("/_sandbox/seekpass/requests/nobody/nope")).status_code == 404
    assert (await client.get("/_sandbox/verifypass/activity/nope")).status_code == 404


async def test_with_an_admin_token_the_browser_logs_in(make_client: Callable[..., Any]) -> None:
    async with make_client(admin_token="dash-admin-token") as (client, _):
        browser = {"Accept": "text/html,application/xhtml+xml"}
        redirected = await client.get("/_sandbox/", headers=browser)
        assert redirected.status_code == 303 and redirected.headers["location"] == "/_sandbox/login"
        assert (await client.get("/_sandbox/login")).status_code == 200
        wrong = await client.post("/_sandbox/login", data={"token": "guess"})
        assert wrong.status_code == 401 and "not the admin token" in wrong.text
        right = await client.post("/_sandbox/login", data={"token": "dash-admin-token"})
        assert right.status_code == 303
        cookie = right.headers["set-cookie"]
        assert "passbox_admin=" in cookie and "SameSite=strict" in cookie and "HttpOnly" in cookie
        assert "dash-admin-token" not in cookie  # a session id, never the token
        assert (await client.get("/_sandbox/", headers=browser)).status_code == 200  # the cookie now opens it
        client.cookies.clear()
        assert (await client.get("/_sandbox/scenarios")).status_code == 401


async def test_broken_forms_get_a_clear_error_not_a_500(make_client: Callable[..., Any]) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    async with make_client(admin_token="dash-admin-token") as (client, sandbox):
        oversized = await client.post("/_sandbox/login", content=b"token=" + b"x" * 5000, headers=form)
        assert oversized.status_code == 413
        assert oversized.json()["error"] == "payload_too_large"
        not_utf8 = await client.post("/_sandbox/login", content=b"token=\xff\xfe", headers=form)
        assert not_utf8.status_code == 400
        assert not_utf8.json() == {"error": "bad_request", "message": "Form body is not valid UTF-8"}
        admin = {**form, "Authorization": "Bearer dash-admin-token"}
        action = "/_sandbox/ui/seekpass/passbox-demo-client/dash-1/complete"
        assert (await client.post(action, content=b"persona=\xff", headers=admin)).status_code == 400
        no_csrf = await client.post(action, content=b"persona=lee-nurse", headers=admin)
        assert no_csrf.status_code == 403 and "CSRF" in no_csrf.json()["message"]
        too_big = b"persona=" + b"x" * (sandbox.settings.max_body_bytes + 1)
        assert (await client.post(action, content=too_big, headers=admin)).status_code == 413
