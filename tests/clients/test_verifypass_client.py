"""The VerifyPass reference client, on every target (see conftest.py), every exchange checked
against the spec; and its webhook helpers against real deliveries."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from passbox.core.clock import Clock
from passbox.verifypass.backend import WidgetVisit
from passbox_clients.errors import WebhookVerificationError
from passbox_clients.verifypass import (
    AuthenticationError,
    RateLimitedError,
    ValidationError,
    VerifyPassClient,
    WebhookRecord,
    parse_webhook,
    verify_webhook,
)
from tests.clients.conftest import NoSleep, Target, browse, collect, run
from tests.conftest import Receiver
from tests.contract.spec_check import ContractChecker
from tests.verifypass.helpers import backend_of, submit

pytestmark = pytest.mark.usefixtures("target")


async def test_a_token_prefills_and_locks_the_widget(verifypass: Any, target: Target) -> None:
    token = await run(
        verifypass.create_token(
            first_name="Ana", last_name="Lima", dob=date(1991, 5, 17), email="ana.lima@example.com", lock_email=True,
            uid="crm:88",
        )
    )  # fmt: skip
    assert token.startswith("eyJpdiI6")
    payload = json.loads(base64.b64decode(token))
    assert list(payload) == ["iv", "value", "mac", "tag"]
    target.needs_sandbox()
    url = verifypass.widget_url("demo-widget", token=token)
    page = await browse(target, "GET", url)
    assert page.status_code == 200
    assert 'value="ana.lima@example.com"' in page.text and "readonly" in page.text
    assert 'value="1991-05-17"' in page.text


async def test_an_empty_token_is_allowed(verifypass: Any) -> None:
    assert (await run(verifypass.create_token())).startswith("eyJpdiI6")


async def test_the_vendors_error_strings_come_through(make_verifypass: Any, target: Target) -> None:
    client = make_verifypass()
    with target.checker.invalid_on_purpose(), pytest.raises(ValidationError) as info:
        await run(client.create_token(lock_email=True))
    assert info.value.status_code == 422
    assert info.value.message == "E-mail appears to be invalid."
    assert info.value.vendor == "verifypass"
    with target.checker.invalid_on_purpose(), pytest.raises(ValidationError) as too_long:
        await run(client.create_token(uid="u" * 65))
    assert too_long.value.message == "The uid field must not be greater than 64 characters."


async def test_a_wrong_key_is_an_authentication_error(make_verifypass: Any) -> None:
    client = make_verifypass("definitely-not-a-key")
    with pytest.raises(AuthenticationError) as token_error:
        await run(client.create_token(email="a@example.com"))
    assert token_error.value.message == "Invalid API key."
    with pytest.raises(AuthenticationError) as report_error:
        await run(client.get_activity())
    assert report_error.value.message == "Invalid auth credentials."


def test_widget_urls_encode_the_token_and_the_prefill() -> None:
    client = VerifyPassClient("k", base_url="https://verifypass.com")
    token = "eyJpdiI6Ik+/=="
    url = client.widget_url("my widget", token=token, uid="a:1,b:2", email="j+s@example.com", lock_email=True,
                            dob=date(1990, 1, 1))  # fmt: skip
    parts = urlsplit(url)
    assert parts.path == "/auth/my%20widget"
    assert "token=eyJpdiI6Ik%2B%2F%3D%3D" in parts.query
    assert dict(parse_qsl(parts.query)) == {
        "token": token,
        "uid": "a:1,b:2",
        "dob": "1990-01-01",
        "email": "j+s@example.com",
        "lock_email": "true",
    }
    assert client.widget_url("w") == "https://verifypass.com/auth/w"
    with pytest.raises(TypeError, match="unknown prefill parameters: colour"):
        client.widget_url("w", colour="blue")
    assert (
        VerifyPassClient("k", base_url="https://api.example", widget_base_url="https://w.example").widget_url("w")
        == "https://w.example/auth/w"
    )
    client.close()


async def test_reporting_finds_what_the_widget_recorded(verifypass: Any, target: Target) -> None:
    target.needs_sandbox()
    token = await run(verifypass.create_token(email="rep@example.com", lock_email=True, uid="crm:1"))
    done = await browse(
        target, "POST", "/auth/demo-widget", params={"token": token},
        data={"first_name": "Rae", "last_name": "Porter", "email": "rep@example.com", "dob": "1979-09-09",
              "community": "mil"},
    )  # fmt: skip
    assert "HEROES15" in done.text
    page = await run(verifypass.get_activity(search="crm:1"))
    assert (page.count, page.max_page, page.page) == (1, 1, 1)
    [record] = page.records
    assert (record.email, record.community_key, record.widget_key, record.data, record.uid) == (
        "rep@example.com", "mil", "demo-widget", "HEROES15", "crm:1",
    )  # fmt: skip
    assert await run(verifypass.get_activity(widget_key="demo-unique-codes")) == type(page)(0, 1, 1, [])


async def test_iter_activity_walks_every_page(verifypass: Any, target: Target, clock: Clock) -> None:
    sandbox = target.needs_sandbox()
    backend = backend_of(sandbox)
    for n in range(255):
        backend.verify(
            backend.session("demo-private", WidgetVisit(uid=f"it-{n}")),
            {"first_name": "It", "last_name": f"Er{n}", "email": f"it{n}@example.com", "dob": "1980-01-01",
             "community": "stu"},
        )  # fmt: skip
        clock.advance(1)
    records = await collect(verifypass.iter_activity(widget_key="demo-private", start_date=date(2026, 3, 2)))
    assert len(records) == 255
    assert len({record.uid for record in records}) == 255
    pages = [e for e in target.checker.exchanges if e.operation_id == "getActivity"]
    assert len(pages) == 2


async def test_bad_reporting_parameters_are_refused(verifypass: Any, target: Target) -> None:
    with target.checker.invalid_on_purpose(), pytest.raises(ValidationError) as info:
        await run(verifypass.get_activity(page=0))
    assert info.value.message == "The page field must be at least 1."
    with target.checker.invalid_on_purpose(), pytest.raises(ValidationError) as bad_date:
        await run(verifypass.get_activity(start_date="01/02/2024"))
    assert bad_date.value.message == "The start date field must match the format Y-m-d."


async def test_a_token_request_is_retried_after_429(make_verifypass: Any, target: Target, no_sleep: NoSleep) -> None:
    if target.name == "sync-remote":
        pytest.skip("scripted transport: runs locally only")
    answers = [
        httpx.Response(429, json={"error": "Too many requests."}),
        httpx.Response(200, json={"token": "eyJpdiI6AA=="}),
    ]
    client = make_verifypass(transport=httpx.MockTransport(lambda request: answers.pop(0)))
    assert await run(client.create_token()) == "eyJpdiI6AA=="
    assert no_sleep.delays == [0.5]
    always_limited = make_verifypass(
        transport=httpx.MockTransport(lambda request: httpx.Response(429, json={"error": "Too many requests."}))
    )
    with pytest.raises(RateLimitedError, match=r"Too many requests\."):
        await run(always_limited.create_token())


def test_verify_webhook_compares_the_key() -> None:
    verify_webhook({"X-VFYPS-Key": "k3y"}, "k3y")
    verify_webhook({"x-vfyps-key": "k3y"}, "k3y")
    for headers, reason in [({}, "missing X-VFYPS-Key"), ({"X-VFYPS-Key": "nope"}, "not your API key")]:
        with pytest.raises(WebhookVerificationError, match=reason):
            verify_webhook(headers, "k3y")
    with pytest.raises(WebhookVerificationError):
        verify_webhook({"X-VFYPS-Key": ""}, "")


def test_parse_webhook() -> None:
    body = b'{"data":[{"first_name":"T","last_name":"U","email":"t@v.co","time":"2024-07-26 22:23:44",' \
           b'"group_short":"mil","group":"Military","widget_key":"w"}]}'  # fmt: skip
    assert parse_webhook(body) == [
        WebhookRecord("T", "U", "t@v.co", "2024-07-26 22:23:44", "mil", "Military", "w", None, None)
    ]
    for bad in (b"[]", b'{"data": 1}', b"nope"):
        with pytest.raises(WebhookVerificationError, match="not a VerifyPass webhook"):
            parse_webhook(bad)


async def test_real_deliveries_verify_parse_and_match_the_spec(
    client: httpx.AsyncClient, receiver: Receiver, drain: Callable[..., Any], checker: ContractChecker
) -> None:
    await client.put("/_sandbox/verifypass/accounts/passbox-demo-account/webhook", json={"url": "http://r.test/vp"})
    await submit(client, query={"uid": "u/1"}, first_name="José")
    await drain()
    [delivery] = receiver.requests
    verify_webhook(delivery.headers, "passbox-demo-key")
    with pytest.raises(WebhookVerificationError):
        verify_webhook(delivery.headers, "passbox-other-key")
    [record] = parse_webhook(delivery.content)
    assert (record.first_name, record.uid, record.discount_code) == ("José", "u/1", "HEROES15")
    assert b"Jos\\u00e9" in delivery.content and b"u\\/1" in delivery.content  # PHP-style escaping
    checker.check_webhook("verifypass", "verification", delivery)


async def test_the_client_recovers_from_a_cloudflare_block_injected_in_the_sandbox(
    make_verifypass: Any, target: Target, no_sleep: NoSleep
) -> None:
    target.needs_sandbox()
    rule = {"kind": "cloudflare", "operation": "createApplicantToken", "retry_after": 3, "remaining": 1}
    assert (await browse(target, "POST", "/_sandbox/faults", json=rule)).status_code == 201
    client = make_verifypass()
    assert (await run(client.create_token())).startswith("eyJpdiI6")
    assert [e.status for e in target.checker.exchanges if e.operation_id == "createApplicantToken"] == [429, 200]
    assert no_sleep.delays == [3.0]
