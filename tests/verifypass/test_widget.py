"""The hosted widget /auth/{widget_key}: prefill, e-mail lock, communities, gates, tokens."""

from __future__ import annotations

import base64
import json
import re
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from passbox.app import Sandbox, create_app
from passbox.core.clock import Clock
from passbox.core.resources import default_fixtures_dir
from passbox.settings import Settings
from tests.conftest import BASE_URL
from tests.verifypass.helpers import APPLICANT, OTHER_KEY, backend_of, make_token, submit


def field_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None


def is_readonly(html: str, name: str) -> bool:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    return bool(match and "readonly" in match.group(0))


async def test_the_form_shows_the_widget(client: httpx.AsyncClient) -> None:
    page = await client.get("/auth/demo-widget")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Heroes discount" in page.text
    assert "Military and first responders save 15% on every order." in page.text
    assert '<select id="community" name="community">' in page.text
    assert '<option value="mil"' in page.text and '<option value="fir"' in page.text
    assert "Sandbox control (passbox only, not part of VerifyPass)" in page.text
    assert not is_readonly(page.text, "email")


async def test_one_community_is_hidden_from_the_applicant(client: httpx.AsyncClient) -> None:
    page = await client.get("/auth/other-widget")
    assert '<input type="hidden" name="community" value="mil">' in page.text
    assert '<select id="community"' not in page.text
    assert '<option value="mil"' not in page.text
    assert "I am a" not in page.text


async def test_query_parameters_prefill_the_form(client: httpx.AsyncClient) -> None:
    page = await client.get("/auth/demo-widget", params={"email": "john.smith@gmail.com", "dob": "1990-01-01"})
    assert field_value(page.text, "email") == "john.smith@gmail.com"
    assert field_value(page.text, "dob") == "1990-01-01"
    assert field_value(page.text, "first_name") == ""


async def test_token_values_win_over_query_values(client: httpx.AsyncClient) -> None:
    token = await make_token(client, first_name="Token", last_name="Person", email="token@example.com")
    page = await client.get(
        "/auth/demo-widget", params={"token": token, "first_name": "Query", "dob": "1970-01-01", "email": "q@x.co"}
    )
    assert field_value(page.text, "first_name") == "Token"
    assert field_value(page.text, "last_name") == "Person"
    assert field_value(page.text, "email") == "token@example.com"
    assert field_value(page.text, "dob") == "1970-01-01"  # the token had none


async def test_a_token_locked_email_is_read_only_and_enforced_on_submit(
    client: httpx.AsyncClient, sandbox: Sandbox, drain: object
) -> None:
    token = await make_token(client, email="locked@example.com", lock_email=True)
    page = await client.get("/auth/demo-widget", params={"token": token, "email": "other@example.com"})
    assert is_readonly(page.text, "email")
    assert field_value(page.text, "email") == "locked@example.com"
    # A browser-side edit (or a forged form) is refused by the server, and nothing is recorded.
    response = await submit(client, query={"token": token}, email="someone.else@example.com")
    assert response.status_code == 422
    assert "This e-mail address was set by the business and cannot be changed." in response.text
    assert field_value(response.text, "email") == "locked@example.com"
    assert backend_of(sandbox).activity("passbox-demo-account") == []
    ok = await submit(client, query={"token": token}, email="LOCKED@example.com")
    assert ok.status_code == 200
    assert "You're verified as Military!" in ok.text


async def test_a_query_lock_works_only_with_a_valid_email(client: httpx.AsyncClient) -> None:
    locked = await client.get("/auth/demo-widget", params={"email": "a@example.com", "lock_email": "true"})
    assert is_readonly(locked.text, "email")
    invalid = await client.get("/auth/demo-widget", params={"email": "nope", "lock_email": "true"})
    assert not is_readonly(invalid.text, "email")
    off = await client.get("/auth/demo-widget", params={"email": "a@example.com", "lock_email": "false"})
    assert not is_readonly(off.text, "email")


async def test_an_unknown_widget_is_a_404_page(client: httpx.AsyncClient) -> None:
    page = await client.get("/auth/no-such-widget")
    assert page.status_code == 404
    assert "Page not found" in page.text
    assert (await submit(client, widget="no-such-widget")).status_code == 404


async def test_require_applicant_token_turns_away_applicants_without_one(
    client: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    page = await client.get("/auth/demo-token-only", params={"email": "a@example.com"})
    assert page.status_code == 403
    assert "contact Passbox Demo Store support" in page.text
    assert "support@passbox-demo.example" in page.text
    assert "<form" not in page.text
    posted = await submit(client, widget="demo-token-only")
    assert posted.status_code == 403
    assert backend_of(sandbox).activity("passbox-demo-account") == []


async def test_require_applicant_token_lets_a_token_through(client: httpx.AsyncClient) -> None:
    token = await make_token(client)
    page = await client.get("/auth/demo-token-only", params={"token": token})
    assert page.status_code == 200
    assert "<form" in page.text
    done = await submit(client, widget="demo-token-only", query={"token": token})
    assert "MEMBER10" in done.text


@pytest.mark.parametrize(
    ("query", "status"),
    [
        pytest.param({}, 403, id="no-token-no-uid"),
        pytest.param({"uid": "customer-7"}, 200, id="uid"),
        pytest.param({"token": None}, 200, id="token"),
    ],
)
async def test_private_mode_needs_an_entry_from_the_business(
    client: httpx.AsyncClient, query: dict[str, str | None], status: int
) -> None:
    if "token" in query:
        query = {"token": await make_token(client)}
    page = await client.get("/auth/demo-private", params=query)
    assert page.status_code == status
    if status == 403:
        assert "This verification is private" in page.text
        assert "<form" not in page.text


def _flip_mac(token: str) -> str:
    payload = json.loads(base64.b64decode(token))
    payload["mac"] = ("0" if payload["mac"][0] != "0" else "1") + payload["mac"][1:]
    return base64.b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()


async def test_a_tampered_token_is_refused_with_a_clear_page(client: httpx.AsyncClient) -> None:
    token = await make_token(client, email="a@example.com", lock_email=True)
    for bad in (_flip_mac(token), "garbage", token[:-8]):
        page = await client.get("/auth/demo-widget", params={"token": bad})
        assert page.status_code == 400
        assert "This link is not valid" in page.text
        assert "<form" not in page.text


async def test_a_token_from_another_sandbox_is_refused(client: httpx.AsyncClient, clock: Clock) -> None:
    other_app = create_app(Settings(seed=999, clock=clock))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other_app), base_url=BASE_URL) as other:
        foreign = await make_token(other)
    page = await client.get("/auth/demo-widget", params={"token": foreign})
    assert page.status_code == 400


async def test_another_accounts_token_never_works(client: httpx.AsyncClient, sandbox: Sandbox) -> None:
    theirs = await make_token(client, key=OTHER_KEY, email="x@example.com")
    page = await client.get("/auth/demo-widget", params={"token": theirs})
    assert page.status_code == 403
    assert "made for another business" in page.text
    posted = await submit(client, query={"token": theirs})
    assert posted.status_code == 403
    assert backend_of(sandbox).activity("passbox-demo-account") == []
    # ...while it works on its own account's widget.
    assert (await client.get("/auth/other-widget", params={"token": theirs})).status_code == 200


async def test_a_token_works_on_every_widget_of_its_account(client: httpx.AsyncClient) -> None:
    token = await make_token(client)
    for widget in ("demo-widget", "demo-token-only", "demo-private", "demo-unique-codes"):
        assert (await client.get(f"/auth/{widget}", params={"token": token})).status_code == 200


async def test_tokens_never_expire_by_default(client: httpx.AsyncClient, clock: Clock) -> None:
    """ "Applicant tokens do not expire." (the vendor's Applicant Token API page)"""
    token = await make_token(client)
    clock.advance(timedelta(days=3650))
    page = await client.get("/auth/demo-widget", params={"token": token})
    assert page.status_code == 200
    assert "Heroes discount" in page.text


async def test_a_token_can_be_used_again_by_default(client: httpx.AsyncClient) -> None:
    token = await make_token(client)
    first = await submit(client, query={"token": token})
    assert first.status_code == 200 and "HEROES15" in first.text
    second = await submit(client, query={"token": token})
    assert second.status_code == 200 and "HEROES15" in second.text
    assert (await client.get("/auth/demo-widget", params={"token": token})).status_code == 200


async def test_expiry_can_be_turned_on_for_testing(make_client: Callable[..., Any], clock: Clock) -> None:
    async with make_client(applicant_token_ttl=24 * 3600) as (client, _):
        token = await make_token(client)
        clock.advance(timedelta(hours=24) - timedelta(seconds=1))
        assert (await client.get("/auth/demo-widget", params={"token": token})).status_code == 200
        clock.advance(timedelta(seconds=1))
        page = await client.get("/auth/demo-widget", params={"token": token})
    assert page.status_code == 410
    assert "This link has expired" in page.text


async def test_single_use_can_be_turned_on_for_testing(make_client: Callable[..., Any]) -> None:
    async with make_client(applicant_token_single_use=True) as (client, _):
        token = await make_token(client)
        negative = await submit(client, query={"token": token}, outcome="negative")
        assert "We couldn't verify your eligibility" in negative.text
        positive = await submit(client, query={"token": token})
        assert positive.status_code == 200 and "HEROES15" in positive.text
        again = await client.get("/auth/demo-widget", params={"token": token})
        resubmitted = await submit(client, query={"token": token})
    assert again.status_code == 409
    assert "already used" in again.text
    assert resubmitted.status_code == 409


async def test_expiry_and_single_use_are_per_account_settings(tmp_path: Path, clock: Clock) -> None:
    shutil.copytree(default_fixtures_dir(), tmp_path, dirs_exist_ok=True)
    text = (tmp_path / "verifypass.yaml").read_text()
    (tmp_path / "verifypass.yaml").write_text(
        text.replace(
            "    api_key: passbox-demo-key\n",
            "    api_key: passbox-demo-key\n    applicant_tokens: {expire_after: 60, single_use: true}\n",
        )
    )
    app = create_app(Settings(seed=1, clock=clock, fixtures_dir=tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        spent = await make_token(client)
        assert (await submit(client, query={"token": spent})).status_code == 200
        assert (await client.get("/auth/demo-widget", params={"token": spent})).status_code == 409
        expiring = await make_token(client)
        clock.advance(60)
        assert (await client.get("/auth/demo-widget", params={"token": expiring})).status_code == 410
        other = (await client.post("/api/v2/token", json={}, headers={"key": "passbox-other-key"})).json()["token"]
        assert (await client.get("/auth/other-widget", params={"token": other})).status_code == 200  # defaults


async def test_a_uid_over_64_characters_in_the_url_is_refused(client: httpx.AsyncClient) -> None:
    page = await client.get("/auth/demo-widget", params={"uid": "u" * 65})
    assert page.status_code == 400
    assert "at most 64 characters" in page.text


async def test_an_inactive_widget_is_not_available(tmp_path: Path, clock: Clock) -> None:
    shutil.copytree(default_fixtures_dir(), tmp_path, dirs_exist_ok=True)
    text = (tmp_path / "verifypass.yaml").read_text()
    (tmp_path / "verifypass.yaml").write_text(
        text.replace("cache_period: week\n", "cache_period: week\n        active: false\n")
    )
    app = create_app(Settings(seed=1, clock=clock, fixtures_dir=tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        page = await client.get("/auth/demo-widget")
        assert page.status_code == 403
        assert "not available right now" in page.text
        assert (await client.get("/auth/demo-unique-codes")).status_code == 200


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        pytest.param({"first_name": " "}, "first_name", "Enter your first name.", id="blank-first-name"),
        pytest.param({"last_name": ""}, "last_name", "Enter your last name.", id="no-last-name"),
        pytest.param({"email": "nope"}, "email", "E-mail appears to be invalid.", id="bad-email"),
        pytest.param({"dob": "12/04/1988"}, "dob", "Enter your date of birth as YYYY-MM-DD.", id="dob-format"),
        pytest.param({"dob": "2030-01-01"}, "dob", "Enter your date of birth as YYYY-MM-DD.", id="dob-future"),
        pytest.param({"community": "tea"}, "community", "Choose the community you belong to.", id="other-community"),
        pytest.param({"outcome": "maybe"}, "outcome", "Choose a positive or negative outcome.", id="bad-outcome"),
    ],
)
async def test_form_errors_are_shown_and_nothing_is_recorded(
    client: httpx.AsyncClient, sandbox: Sandbox, form: dict[str, str], field: str, message: str
) -> None:
    response = await submit(client, **form)
    assert response.status_code == 422
    assert f'id="{field}-error">{message}' in response.text or message in response.text
    assert field_value(response.text, "last_name") == (form.get("last_name", APPLICANT["last_name"]))
    assert backend_of(sandbox).activity("passbox-demo-account") == []


async def test_the_older_widget_url_form_is_the_same_widget(client: httpx.AsyncClient) -> None:
    """/auth/mil/{key}: the form the vendor's own plugin code links to."""
    token = await make_token(client, email="pat@example.com", lock_email=True)
    page = await client.get("/auth/mil/demo-widget", params={"token": token})
    assert page.status_code == 200
    assert "Heroes discount" in page.text and 'value="pat@example.com"' in page.text
    result = await submit(client, widget="mil/demo-widget", query={"token": token}, email="pat@example.com")
    assert result.status_code == 200 and "HEROES15" in result.text


@pytest.mark.parametrize("path", ["/auth/mil/no-such-widget", "/auth/a/b/c", "/partner/nothing-here"])
async def test_unknown_browser_paths_get_an_html_page(client: httpx.AsyncClient, path: str) -> None:
    page = await client.get(path)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>" in page.text and "not" in page.text.lower()


async def test_a_browser_asking_for_html_gets_html_and_an_api_client_json(client: httpx.AsyncClient) -> None:
    browser = await client.get("/nowhere", headers={"Accept": "text/html,application/xhtml+xml"})
    assert browser.status_code == 404 and browser.headers["content-type"].startswith("text/html")
    api = await client.get("/nowhere")
    assert api.status_code == 404 and api.json() == {"error": "GET /nowhere is not emulated by passbox"}
