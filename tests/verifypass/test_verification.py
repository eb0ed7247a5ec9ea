"""Submitting the widget: outcomes, actions (codes), the applicant cache, and the webhook."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from passbox.app import Sandbox
from passbox.core.clock import Clock
from tests.conftest import Receiver
from tests.verifypass.helpers import DEMO_KEY, backend_of, make_token, submit

WIDGET_HOOK = "http://receiver.test/widget"
ACCOUNT_HOOK = "http://receiver.test/account"


def code_of(html: str) -> str | None:
    match = re.search(r'id="code">([^<]+)<', html)
    return match.group(1) if match else None


async def set_hook(client: httpx.AsyncClient, url: str | None, widget: str | None = None) -> httpx.Response:
    path = (
        f"/_sandbox/verifypass/widgets/{widget}/webhook"
        if widget
        else "/_sandbox/verifypass/accounts/passbox-demo-account/webhook"
    )
    return await client.put(path, json={"url": url})


async def test_a_positive_verification_shows_the_code_records_and_notifies(
    client: httpx.AsyncClient, sandbox: Sandbox, receiver: Receiver, drain: Callable[..., Any], clock: Clock
) -> None:
    await set_hook(client, ACCOUNT_HOOK)
    token = await make_token(client, uid="cust:42")
    response = await submit(client, query={"token": token}, community="fir")
    assert response.status_code == 200
    assert "You're verified as First Responder!" in response.text
    assert code_of(response.text) == "HEROES15"
    [activity] = backend_of(sandbox).activity("passbox-demo-account")
    assert (activity.outcome, activity.community_key, activity.data, activity.uid) == (
        "positive",
        "fir",
        "HEROES15",
        "cust:42",
    )
    assert receiver.requests == []  # in the background, not in the request
    await drain()
    [sent] = receiver.requests
    assert str(sent.url) == ACCOUNT_HOOK
    assert sent.method == "POST"
    assert sent.headers["x-vfyps-key"] == DEMO_KEY
    assert sent.headers["content-type"] == "application/json"
    assert "x-signature" not in sent.headers
    body = json.loads(sent.content)
    assert body == {
        "data": [
            {
                "first_name": "Jane",
                "last_name": "Doe",
                "email": "jane.doe@example.com",
                "discount_code": "HEROES15",
                "time": "2026-03-02 09:30:00",
                "group_short": "fir",
                "group": "First Responder",
                "widget_key": "demo-widget",
                "uid": "cust:42",
            }
        ]
    }
    assert list(body["data"][0]) == [
        "first_name", "last_name", "email", "discount_code", "time", "group_short", "group", "widget_key", "uid",
    ]  # fmt: skip


async def test_a_negative_verification_records_nothing_public_and_sends_nothing(
    client: httpx.AsyncClient, sandbox: Sandbox, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    await set_hook(client, ACCOUNT_HOOK)
    response = await submit(client, outcome="negative")
    assert response.status_code == 200
    assert "We couldn't verify your eligibility" in response.text
    assert code_of(response.text) is None
    await drain()
    assert receiver.requests == []
    report = (await client.get("/api/v2/reporting", headers={"key": DEMO_KEY})).json()
    assert report["count"] == 0


async def test_without_a_uid_the_webhook_has_none(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    await set_hook(client, ACCOUNT_HOOK)
    await submit(client)
    await drain()
    assert "uid" not in receiver.bodies()[0]["data"][0]


async def test_a_uid_from_the_url_is_passed_on(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    await set_hook(client, ACCOUNT_HOOK)
    await submit(client, query={"uid": "data1:x,data2:y"})
    await drain()
    assert receiver.bodies()[0]["data"][0]["uid"] == "data1:x,data2:y"


async def test_a_token_uid_wins_over_the_url(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    await set_hook(client, ACCOUNT_HOOK)
    token = await make_token(client, uid="trusted")
    await submit(client, query={"token": token, "uid": "forged"})
    await drain()
    assert receiver.bodies()[0]["data"][0]["uid"] == "trusted"


async def test_unique_codes_are_handed_out_in_order_until_they_run_out(
    client: httpx.AsyncClient, sandbox: Sandbox, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    await set_hook(client, ACCOUNT_HOOK)
    codes = []
    for n in range(4):
        response = await submit(client, widget="demo-unique-codes", email=f"nurse{n}@example.com", community="nur")
        assert response.status_code == 200
        codes.append(code_of(response.text))
    assert codes == ["NURSE-0001", "NURSE-0002", "NURSE-0003", None]
    assert "This offer has run out of codes" in response.text
    await drain()
    bodies = [body["data"][0] for body in receiver.bodies()]
    assert [body.get("discount_code") for body in bodies] == ["NURSE-0001", "NURSE-0002", "NURSE-0003", None]
    assert "discount_code" not in bodies[3]
    page = await client.get("/auth/demo-unique-codes")
    assert "Unique codes left: 0" in page.text


async def test_a_custom_action_shows_its_message_and_sends_no_code(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    await set_hook(client, ACCOUNT_HOOK)
    response = await submit(client, widget="demo-private", query={"uid": "acct-9"}, community="tea")
    assert "Your account has been tagged as verified." in response.text
    assert code_of(response.text) is None
    await drain()
    record = receiver.bodies()[0]["data"][0]
    assert "discount_code" not in record
    assert record["group"] == "Teacher"


async def test_a_returning_applicant_within_the_cache_period_gets_the_same_code(
    client: httpx.AsyncClient, sandbox: Sandbox, receiver: Receiver, drain: Callable[..., Any], clock: Clock
) -> None:
    await set_hook(client, ACCOUNT_HOOK)
    first = await submit(client, widget="demo-unique-codes", community="nur")
    clock.advance(timedelta(days=300))  # cache period "permanent"
    again = await submit(client, widget="demo-unique-codes", community="nur", email="JANE.DOE@example.com")
    assert code_of(first.text) == code_of(again.text) == "NURSE-0001"
    assert "Welcome back" in again.text
    await drain()
    assert len(receiver.requests) == 1
    assert len(backend_of(sandbox).activity("passbox-demo-account")) == 1
    other = await submit(client, widget="demo-unique-codes", community="nur", email="someone@example.com")
    assert code_of(other.text) == "NURSE-0002"


async def test_after_the_cache_period_a_new_verification_happens(
    client: httpx.AsyncClient, sandbox: Sandbox, clock: Clock
) -> None:
    await submit(client)  # demo-widget: one week
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert "Welcome back" in (await submit(client)).text
    clock.advance(timedelta(seconds=1))
    assert "Welcome back" not in (await submit(client)).text
    assert len(backend_of(sandbox).activity("passbox-demo-account")) == 2


async def test_without_a_cache_period_every_verification_counts(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    for _ in range(2):
        response = await submit(client, widget="demo-private", query={"uid": "u1"}, community="stu")
        assert "Welcome back" not in response.text
    assert len(backend_of(sandbox).activity("passbox-demo-account")) == 2


async def test_widget_and_account_urls_both_get_the_event(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    await set_hook(client, ACCOUNT_HOOK)
    await set_hook(client, WIDGET_HOOK, widget="demo-widget")
    await submit(client)
    await drain()
    assert sorted(str(request.url) for request in receiver.requests) == [ACCOUNT_HOOK, WIDGET_HOOK]
    assert receiver.requests[0].content == receiver.requests[1].content
    # Another widget of the account only notifies the account URL.
    receiver.requests.clear()
    await submit(client, widget="demo-unique-codes", community="nur")
    await drain()
    assert [str(request.url) for request in receiver.requests] == [ACCOUNT_HOOK]


async def test_identical_urls_get_the_event_once_and_a_query_makes_them_differ(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    await set_hook(client, ACCOUNT_HOOK)
    await set_hook(client, ACCOUNT_HOOK, widget="demo-widget")
    await submit(client)
    await drain()
    assert len(receiver.requests) == 1
    receiver.requests.clear()
    await set_hook(client, ACCOUNT_HOOK + "?source=widget", widget="demo-widget")
    await submit(client, email="another@example.com")
    await drain()
    assert sorted(str(request.url) for request in receiver.requests) == [ACCOUNT_HOOK, ACCOUNT_HOOK + "?source=widget"]


async def test_no_url_no_delivery(
    client: httpx.AsyncClient, sandbox: Sandbox, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    await submit(client)
    await drain()
    assert receiver.requests == []
    assert sandbox.core.outbox.list() == []


async def test_failed_deliveries_are_retried_with_the_same_body(
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    receiver: Receiver,
    drain: Callable[..., Any],
    clock: Clock,
) -> None:
    await set_hook(client, ACCOUNT_HOOK)
    receiver.responses = [500, httpx.ConnectError("refused")]
    await submit(client)
    await drain()
    clock.advance(2)
    await drain()
    clock.advance(12)
    await drain()
    assert len(receiver.requests) == 3
    assert len({request.content for request in receiver.requests}) == 1
    assert {request.headers["x-vfyps-key"] for request in receiver.requests} == {DEMO_KEY}
    [delivery] = sandbox.core.outbox.list()
    assert delivery.vendor == "verifypass"
    assert delivery.status == "delivered"
    assert [attempt.status_code for attempt in delivery.attempts] == [500, None, 200]


async def test_clearing_a_url_stops_deliveries(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    await set_hook(client, ACCOUNT_HOOK)
    await set_hook(client, None)
    await submit(client)
    await drain()
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        pytest.param("/accounts/passbox-demo-account/webhook", {"url": "ftp://x"}, 422, "validation_error", id="ftp"),
        pytest.param("/accounts/passbox-demo-account/webhook", {}, 422, "validation_error", id="no-url"),
        pytest.param("/accounts/passbox-demo-account/webhook", [], 422, "validation_error", id="array"),
        pytest.param("/accounts/nobody/webhook", {"url": None}, 404, "not_found", id="unknown-account"),
        pytest.param("/widgets/nothing/webhook", {"url": None}, 404, "not_found", id="unknown-widget"),
    ],
)
async def test_bad_webhook_configuration_is_refused(
    client: httpx.AsyncClient, path: str, body: object, status: int, error: str
) -> None:
    response = await client.put(f"/_sandbox/verifypass{path}", json=body)
    assert response.status_code == status
    assert response.json()["error"] == error
    accounts = (await client.get("/_sandbox/verifypass/accounts")).json()
    assert accounts[0]["webhook_url"] is None


async def test_the_configuration_lists_accounts_and_widgets(client: httpx.AsyncClient) -> None:
    await set_hook(client, WIDGET_HOOK, widget="demo-unique-codes")
    accounts = {account["id"]: account for account in (await client.get("/_sandbox/verifypass/accounts")).json()}
    assert set(accounts) == {"passbox-demo-account", "passbox-other-account"}
    widgets = {widget["key"]: widget for widget in accounts["passbox-demo-account"]["widgets"]}
    assert set(widgets) == {"demo-widget", "demo-token-only", "demo-private", "demo-unique-codes"}
    assert widgets["demo-token-only"]["require_token"] is True
    assert widgets["demo-private"]["mode"] == "private"
    assert widgets["demo-unique-codes"]["codes_left"] == 3
    assert widgets["demo-unique-codes"]["webhook_url"] == WIDGET_HOOK
    assert widgets["demo-widget"]["webhook_url"] is None
    assert [c["key"] for c in widgets["demo-widget"]["communities"]] == ["mil", "fir"]
