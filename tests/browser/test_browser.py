"""In a real headless browser (Debian's chromium, driven by playwright): the hosted pages and
the dashboard, the way a person uses them.

When chromium is missing the tests skip, unless PASSBOX_REQUIRE_BROWSER=1 (as .ci/run sets),
which makes a missing browser a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Page

from passbox.app import create_app
from passbox.settings import Settings
from tests.helpers import live_server, receiver_server

pytestmark = [pytest.mark.live, pytest.mark.browser]


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    with live_server(create_app(Settings(seed=606))) as url:
        yield url


@contextmanager
def partner(url: str) -> Iterator[httpx.Client]:
    """An httpx client authenticated as the demo SEEK Pass partner."""
    with httpx.Client(base_url=url, trust_env=False) as client:
        token = client.post(
        "/api/partner/v1/oauth/token.json",
        data={"grant_type": "client_credentials", "client_id": "passbox-demo-client",
              "client_secret": "passbox-demo-secret"},
        ).json()["access_token"]  # fmt: skip
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def test_a_seekpass_verification_through_the_redirect_uri(page: Page, sandbox_url: str) -> None:
    with receiver_server() as (partner_site, inbox), partner(sandbox_url) as api:
        created = api.post(
            "/api/partner/v2/verify/requests/digital_identity.json",
            json={"request_id": "browser-1", "callback_url": f"{partner_site}/return?order=9",
                  "display_options": {"partner_name": "Browser Partner"}},
        ).json()  # fmt: skip
        assert "#clientId=" in created["redirect_uri"]
        page.goto(created["redirect_uri"])  # the fragment stays in the browser; the page's script reads it
        page.wait_for_selector("text=Browser Partner wants to verify your identity")
        page.check("input[value=drivers_licence]")
        page.click("#verify")
        page.wait_for_url(f"{partner_site}/return?order=9&request_id=browser-1")
        landed = inbox.get(timeout=10)
        assert landed.method == "GET"
        assert landed.path == "/return?order=9&request_id=browser-1"
        result = api.get("/api/partner/v2/verify/requests/browser-1").json()
        assert result["status"] == "verified"
        assert result["credential"]["document_type"] == "drivers_licence"


def test_a_locked_email_widget_verification(page: Page, sandbox_url: str) -> None:
    token = httpx.post(
        f"{sandbox_url}/api/v2/token",
        headers={"key": "passbox-demo-key"},
        json={"first_name": "Ines", "email": "ines.ruiz@example.com", "lock_email": True},
        trust_env=False,
    ).json()["token"]
    page.goto(f"{sandbox_url}/auth/demo-widget?token={quote(token, safe='')}")
    email = page.locator("#email")
    assert email.get_attribute("readonly") is not None
    assert email.input_value() == "ines.ruiz@example.com"
    assert page.locator("#first_name").input_value() == "Ines"
    # A user who removes readonly in the browser still cannot change the locked e-mail.
    page.evaluate("document.getElementById('email').removeAttribute('readonly')")
    email.fill("someone.else@example.com")
    page.fill("#last_name", "Ruiz")
    page.fill("#dob", "1992-08-15")
    page.select_option("#community", "fir")
    page.click("#verify")
    page.wait_for_selector("#email-error")
    assert "set by the business and cannot be changed" in page.inner_text("#email-error")
    assert page.locator("#email").input_value() == "ines.ruiz@example.com"
    page.fill("#last_name", "Ruiz")
    page.fill("#dob", "1992-08-15")
    page.select_option("#community", "fir")
    page.click("#verify")
    page.wait_for_selector("#result")
    assert page.inner_text("#result") == "You're verified as First Responder!"
    assert page.inner_text("#code") == "HEROES15"


def test_the_dashboard_shows_both_and_acts(page: Page, sandbox_url: str) -> None:
    with partner(sandbox_url) as api:
        api.post("/api/partner/v2/webhooks", json={"url": f"{sandbox_url}/nowhere"})
        for request_id in ("dash-a", "dash-b"):
            api.post("/api/partner/v2/verify/requests/digital_identity.json",
                     json={"request_id": request_id, "display_options": {"partner_name": "P"}})  # fmt: skip
    httpx.post(f"{sandbox_url}/_sandbox/verifypass/verifications", json={"widget_key": "demo-widget",
               "email": "vera@example.com", "first_name": "Vera", "last_name": "Lund"}, trust_env=False)  # fmt: skip

    page.goto(f"{sandbox_url}/_sandbox/")
    assert "passbox-demo-client" in page.inner_text("#partners")
    page.click("text=SEEK Pass requests")
    row = page.locator("tr[data-request-id=dash-a]")
    row.locator("select[name=persona]").select_option("alex-teacher")
    row.locator("button.complete").click()
    page.wait_for_selector("#notice")
    assert page.inner_text("#notice") == "Request dash-a verified"
    assert "verified" in page.inner_text("tr[data-request-id=dash-a]")
    assert "Alex Papadopoulos, passport" in page.inner_text("tr[data-request-id=dash-a]")
    page.locator("tr[data-request-id=dash-b] button.cancel").click()
    page.wait_for_selector("text=Request dash-b canceled")
    page.click("tr[data-request-id=dash-a] >> text=dash-a")  # the link to its JSON
    assert '"finished_via":"control"' in page.inner_text("body").replace(" ", "")
    page.go_back()

    page.click("text=VerifyPass activity")
    assert "Vera Lund <vera@example.com>" in page.inner_text("#activity")
    page.click("text=Webhook deliveries")
    assert page.locator("tr[data-delivery-id]").count() == 2
    page.locator("tr[data-delivery-id] button.redeliver").first.click()
    page.wait_for_selector("#notice")
    assert "sent again" in page.inner_text("#notice")
    page.click("text=Request journal")
    assert "/api/partner/v2/webhooks" in page.inner_text("#journal")


def test_the_dashboard_behind_an_admin_token(page: Page) -> None:
    with live_server(create_app(Settings(seed=1, admin_token="browser-admin-token"))) as url:
        page.goto(f"{url}/_sandbox/")
        page.wait_for_url(f"{url}/_sandbox/login")
        page.fill("#token", "browser-admin-token")
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/_sandbox/")
        assert "passbox-demo-account" in page.inner_text("#accounts")
