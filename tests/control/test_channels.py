"""Forcing an outcome three ways gives identical results: the same status, records, webhook
payloads and redirects, whether by a magic value, on the hosted page, or by the control API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from passbox.app import Sandbox
from passbox.core.clock import Clock
from tests.conftest import Receiver
from tests.seekpass.helpers import create, open_app, submit
from tests.verifypass.helpers import make_token

CALLBACK = "https://partner.example/done?session=s1"


async def seekpass_headers(client: httpx.AsyncClient) -> dict[str, str]:
    from tests.conftest import get_token

    return {"Authorization": f"Bearer {await get_token(client)}"}


def without_ids(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key not in ("event_id", "created_at", "request_id")}


async def seekpass_outcome(
    channel: str, outcome: str, client: httpx.AsyncClient, clock: Clock, drain: Callable[..., Any]
) -> dict[str, Any]:
    """Force ``outcome`` on a new request through ``channel``; report what a partner observes."""
    headers = await seekpass_headers(client)
    magic = {"verified": "sandbox:verified:drivers_licence:jane-citizen", "canceled": "sandbox:canceled",
             "expired": "sandbox:incomplete"}[outcome]  # fmt: skip
    request_id = f"{magic}:{channel}" if channel == "magic" else f"{channel}-{outcome}"
    created = await create(client, headers, request_id=request_id, callback_url=CALLBACK)
    redirect: str | None = None
    if channel == "page":
        await open_app(client, created["redirect_uri"])
        decision = {"verified": "verify", "canceled": "cancel", "expired": "leave"}[outcome]
        answer = await submit(client, created["redirect_uri"], decision, "drivers_licence", persona="jane-citizen")
        redirect = answer.headers.get("location") if answer.status_code == 303 else None
    elif channel == "control":
        action = {"verified": "complete", "canceled": "cancel", "expired": "expire"}[outcome]
        body = {"document_type": "drivers_licence", "persona": "jane-citizen"} if action == "complete" else None
        answer = await client.post(f"/_sandbox/seekpass/requests/passbox-demo-client/{request_id}/{action}", json=body)
        assert answer.status_code == 200, answer.text
        redirect = answer.json()["redirect_to"]
    else:
        opened = await open_app(client, created["redirect_uri"])  # the user lands after the fact
        redirect = opened.headers.get("location") if opened.status_code == 303 else None
    if outcome == "expired" and channel != "control":
        clock.advance(timedelta(hours=48))
        headers = await seekpass_headers(client)
    await drain()
    result = (await client.get(f"/api/partner/v2/verify/requests/{request_id}", headers=headers)).json()
    return {"status": result["status"], "credential": result["credential"], "redirect": anonymous(redirect)}


def anonymous(redirect: str | None) -> str | None:
    """The redirect with the (per channel) request id replaced, to compare channels."""
    if redirect is None:
        return None
    parts = urlsplit(redirect)
    query = [(k, "<id>" if k == "request_id" else v) for k, v in parse_qsl(parts.query)]
    return parts._replace(query="&".join(f"{k}={v}" for k, v in query)).geturl()


@pytest.mark.parametrize("outcome", ["verified", "canceled", "expired"])
async def test_seekpass_outcomes_are_identical_through_all_three_channels(
    outcome: str, client: httpx.AsyncClient, receiver: Receiver, clock: Clock, drain: Callable[..., Any]
) -> None:
    await client.post(
        "/api/partner/v2/webhooks", json={"url": "http://receiver.test/sp"}, headers=await seekpass_headers(client)
    )
    observed = {}
    for channel in ("magic", "page", "control"):
        before = len(receiver.requests)
        observed[channel] = await seekpass_outcome(channel, outcome, client, clock, drain)
        events = [json.loads(r.content) for r in receiver.requests[before:]]
        observed[channel]["events"] = [without_ids(event) for event in events]
    assert observed["magic"] == observed["page"] == observed["control"], observed
    expected_status = {"verified": "verified", "canceled": "canceled", "expired": "canceled"}[outcome]
    assert observed["magic"]["status"] == expected_status
    expected_type = "vwsp_request.verified" if outcome == "verified" else "vwsp_request.canceled"
    assert observed["magic"]["events"] == [{"type": expected_type}]
    if outcome == "verified":
        credential = observed["magic"]["credential"]
        assert credential["full_name"] == "Jane Citizen"
        assert credential["document_type"] == "drivers_licence"
        assert credential["document_number"] == "12345678"
        assert credential["issuing_state"] == "NSW"
        assert observed["magic"]["redirect"] == "https://partner.example/done?session=s1&request_id=<id>"
    elif outcome == "canceled":
        assert observed["magic"]["redirect"] == "https://partner.example/done?session=s1&request_id=<id>"
    else:
        assert observed["magic"]["redirect"] is None


VERIFYPASS_OUTCOMES = {
    # outcome -> (magic e-mail tag, page form fields, control API fields)
    "positive": ("+sandbox-positive", {}, {"outcome": "positive"}),
    "negative": ("+sandbox-negative", {"outcome": "negative"}, {"outcome": "negative"}),
    "first-responder": ("+sandbox-fir", {"community": "fir"}, {"community": "fir"}),
    "not-eligible": ("+sandbox-nur", None, {"community": "nur", "outcome": "negative"}),
}


async def verifypass_outcome(
    channel: str, outcome: str, client: httpx.AsyncClient, sandbox: Sandbox, drain: Callable[..., Any]
) -> dict[str, Any]:
    tag, page_fields, control_fields = VERIFYPASS_OUTCOMES[outcome]
    base_email = f"{channel}.{outcome}@example.com"
    email = base_email.replace("@", f"{tag}@") if channel == "magic" else base_email
    applicant = {"first_name": "Casey", "last_name": "Jones", "dob": "1987-03-14", "email": email}
    if channel == "control":
        answer = await client.post(
            "/_sandbox/verifypass/verifications", json={"widget_key": "demo-widget", **applicant, **control_fields}
        )
        assert answer.status_code == 200, answer.text
        result = answer.json()
        shown = {"outcome": result["outcome"], "code": result["code"]}
    else:
        token = await make_token(client, email=email, lock_email=True)
        form = {**applicant, "community": "mil", "outcome": "positive", **(page_fields or {})}
        page = await client.post("/auth/demo-widget", params={"token": token}, data=form)
        assert page.status_code == 200, page.text
        positive = "You're verified" in page.text
        code = "HEROES15" if 'id="code">HEROES15<' in page.text else None
        shown = {"outcome": "positive" if positive else "negative", "code": code}
    await drain()
    [activity] = [a for a in sandbox.vendors["verifypass"].backend.activity("passbox-demo-account") if a.email == email]
    record = {k: getattr(activity, k) for k in ("outcome", "community_key", "data", "first_name", "last_name")}
    return {**shown, "record": record}


@pytest.mark.parametrize("outcome", list(VERIFYPASS_OUTCOMES))
async def test_verifypass_outcomes_are_identical_through_all_three_channels(
    outcome: str, client: httpx.AsyncClient, sandbox: Sandbox, receiver: Receiver, drain: Callable[..., Any]
) -> None:
    await client.put("/_sandbox/verifypass/accounts/passbox-demo-account/webhook", json={"url": "http://r.test/vp"})
    channels = ["magic", "control"] if VERIFYPASS_OUTCOMES[outcome][1] is None else ["magic", "page", "control"]
    observed = {}
    for channel in channels:
        before = len(receiver.requests)
        observed[channel] = await verifypass_outcome(channel, outcome, client, sandbox, drain)
        records = [json.loads(r.content)["data"][0] for r in receiver.requests[before:]]
        observed[channel]["webhooks"] = [{k: v for k, v in r.items() if k != "email"} for r in records]
    first = observed[channels[0]]
    assert all(observed[channel] == first for channel in channels), observed
    expected = {
        "positive": ("positive", "mil", "HEROES15"),
        "negative": ("negative", "mil", None),
        "first-responder": ("positive", "fir", "HEROES15"),
        "not-eligible": ("negative", "nur", None),
    }[outcome]
    assert (first["record"]["outcome"], first["record"]["community_key"], first["record"]["data"]) == expected
    assert len(first["webhooks"]) == (1 if expected[0] == "positive" else 0)
    if first["webhooks"]:
        assert first["webhooks"][0]["group_short"] == expected[1]


async def test_a_persona_is_the_same_person_in_every_channel(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    # demo-private has no applicant cache, so each channel records its own verification; it
    # accepts teachers and students, so the first responder Sam is recorded as not eligible.
    form = {"first_name": "x", "last_name": "y", "dob": "1990-01-01", "community": "tea"}
    query = {"uid": "u1"}
    # Magic: the persona's own e-mail.
    await client.post("/auth/demo-private", params=query, data={**form, "email": "sam.nguyen@personas.passbox.test"})
    # Page: the sandbox control.
    await client.post(
        "/auth/demo-private", params=query, data={**form, "email": "z@example.com", "persona": "sam-responder"}
    )
    # Control API.
    await client.post(
        "/_sandbox/verifypass/verifications", json={"widget_key": "demo-private", **query, "persona": "sam-responder"}
    )
    people = [
        (a.first_name, a.last_name, a.dob, a.email, a.community_key, a.outcome)
        for a in sandbox.vendors["verifypass"].backend.activity("passbox-demo-account")
    ]
    assert people == [("Sam", "Nguyen", "1984-11-03", "sam.nguyen@personas.passbox.test", "fir", "negative")] * 3
