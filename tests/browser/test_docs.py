"""``/docs``: the interactive reference of the three specs, served fully offline (Swagger UI from
the installed wheel, no CDN), under a CSP that allows no inline script.

The routes are prepended to a fresh app here, so the test does not depend on how the app wires them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page

from passbox.app import create_app
from passbox.settings import Settings
from tests.helpers import live_server

pytestmark = [pytest.mark.live, pytest.mark.browser]


@pytest.fixture(scope="module")
def docs_url() -> Iterator[str]:
    with live_server(create_app(Settings(seed=1))) as url:
        yield url


def operation(page: Page, path: str) -> None:
    """Wait until Swagger UI shows an operation on ``path``."""
    page.locator(f'.opblock-summary-path[data-path="{path}"]').first.wait_for()


def test_the_reference_renders_each_spec_without_leaving_the_machine(page: Page, docs_url: str) -> None:
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("pageerror", lambda error: problems.append(str(error)))

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(message.text)

    page.on("console", on_console)

    page.goto(f"{docs_url}/docs")
    assert page.title() == "passbox API reference"
    assert page.locator('a[href="/"]').count() >= 1
    assert page.locator('a[href="/_sandbox/"]').count() >= 1

    operation(page, "/api/partner/v2/verify/requests/digital_identity.json")
    page.locator(".opblock-summary-operation-id", has_text="createVerificationRequest").first.wait_for()

    selector = page.locator(".topbar select")
    labels = [option.strip() for option in selector.locator("option").all_inner_texts()]
    assert labels == ["SEEK Pass", "VerifyPass", "Control plane"]

    selector.select_option(label="VerifyPass")
    operation(page, "/api/v2/token")

    selector.select_option(label="Control plane")
    operation(page, "/_sandbox/clock")

    # Expanding an operation renders its parameters and schemas (still nothing fetched from outside).
    page.locator('.opblock-summary-path[data-path="/_sandbox/clock"]').first.click()
    page.locator(".opblock.is-open").first.wait_for()

    assert requested, "the browser made no requests at all"
    outside = [url for url in requested if not url.startswith(f"{docs_url}/")]
    assert outside == [], f"requests left the machine: {outside}"
    assert f"{docs_url}/docs/assets/swagger-ui-bundle.js" in requested
    assert f"{docs_url}/specs/verifypass.openapi.json" in requested
    assert problems == [], problems


def test_the_page_init_script_and_assets_over_plain_http(docs_url: str) -> None:
    with httpx.Client(base_url=docs_url, trust_env=False) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "<title>passbox API reference</title>" in page.text
        assert 'href="/_sandbox/"' in page.text
        # Every <script> loads a same-origin file and has no body: the CSP allows no inline script.
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page.text, flags=re.S)
        assert len(scripts) == 3
        for attributes, body in scripts:
            assert body.strip() == ""
            assert re.search(r'src="/docs/', attributes)
        policy = page.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "unsafe-eval" not in policy
        assert "frame-ancestors 'none'" in policy

        init = client.get("/docs/init.js")
        assert init.status_code == 200
        assert init.headers["content-type"].startswith("text/javascript")
        for name in ("seekpass", "verifypass", "sandbox"):
            assert f"/specs/{name}.openapi.json" in init.text
        assert "SwaggerUIBundle(" in init.text

        bundle = client.get("/docs/assets/swagger-ui-bundle.js")
        assert bundle.status_code == 200
        assert bundle.headers["content-type"].startswith("text/javascript")
        assert "SwaggerUIBundle" in bundle.text

        css = client.get("/docs/assets/swagger-ui.css")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
        assert css.headers["x-content-type-options"] == "nosniff"

        # Only the files the page uses are served: not the rest of the wheel, nor anything outside it.
        assert client.get("/docs/assets/swagger-editor-bundle.js").status_code == 404
        assert client.get("/docs/assets/..%2F__init__.py").status_code == 404

        # And the specs the UI reads are there, as JSON.
        for name in ("seekpass", "verifypass", "sandbox"):
            spec = client.get(f"/specs/{name}.openapi.json")
            assert spec.status_code == 200
            assert spec.json()["openapi"].startswith("3.1")


def test_the_docs_are_linked_from_the_index_the_dashboard_and_the_banner(docs_url: str) -> None:
    from passbox.cli import banner

    assert httpx.get(f"{docs_url}/", trust_env=False).json()["docs"] == "/docs"
    assert 'href="/docs"' in httpx.get(f"{docs_url}/_sandbox/", trust_env=False).text
    assert "/docs" in banner(Settings(), 1, "127.0.0.1", 8000)
