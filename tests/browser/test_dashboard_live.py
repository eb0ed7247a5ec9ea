"""The dashboard as a demo surface, in headless Chromium: lists refresh in place, the journal
fits a 1280 px screen, persona names are shown whole."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page

from passbox.app import create_app
from passbox.settings import Settings
from tests.helpers import live_server

pytestmark = [pytest.mark.live, pytest.mark.browser]


def test_lists_refresh_without_a_reload_and_fit_1280_pixels(page: Page) -> None:
    with live_server(create_app(Settings(seed=12))) as url:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{url}/_sandbox/ui/requests")
        page.evaluate("window.loadedOnce = true")  # gone if the page reloads
        assert "No requests yet." in page.inner_text("#journal")
        with httpx.Client(base_url=url, trust_env=False) as client:
            client.get("/api/v2/reporting", headers={"key": "passbox-demo-key"})
        page.locator("#journal").get_by_text("/api/v2/reporting").wait_for(timeout=10_000)
        assert page.evaluate("window.loadedOnce") is True  # refreshed in place
        width = page.evaluate("document.querySelector('#journal').getBoundingClientRect().right")
        assert width <= 1280
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280

        page.goto(f"{url}/_sandbox/ui/seekpass")
        with httpx.Client(base_url=url, trust_env=False) as client:
            token = client.post(
                "/api/partner/v1/oauth/token.json",
                data={"grant_type": "client_credentials", "client_id": "passbox-demo-client",
                      "client_secret": "passbox-demo-secret"},
            ).json()["access_token"]  # fmt: skip
            client.post(
                "/api/partner/v2/verify/requests/digital_identity.json",
                headers={"Authorization": f"Bearer {token}"},
                json={"request_id": "live-1", "display_options": {"partner_name": "Acme"}},
            )
        page.wait_for_selector("tr[data-request-id='live-1']")
        select = page.locator("tr[data-request-id='live-1'] select[name=persona]")
        option_width = select.evaluate("element => element.scrollWidth <= element.clientWidth + 1")
        assert option_width, "the persona names are cut off"
