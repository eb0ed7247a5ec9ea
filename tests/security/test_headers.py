"""Pages a browser renders: no script but our own, no framing, no sniffing, nothing echoed raw."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import get_token
from tests.seekpass.helpers import create

PAGES = ["/auth/demo-widget", "/partner/verify/digital_identity", "/_sandbox/", "/_sandbox/ui/seekpass"]


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_sends_a_content_security_policy(client: httpx.AsyncClient, path: str) -> None:
    page = await client.get(path)
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text  # no inline script for the policy to allow


@pytest.mark.parametrize("path", ["/api/v2/token", "/api/partner/v2/webhooks", "/health", "/_sandbox/clock"])
async def test_api_answers_are_not_sniffed(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_hosted_app_script_is_served_as_a_file(client: httpx.AsyncClient) -> None:
    script = await client.get("/partner/verify/bootstrap.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "u0026" in script.text  # it also undoes a pasted Rails "\\u0026"


async def test_the_block_page_escapes_the_host_header(client: httpx.AsyncClient) -> None:
    await client.post("/_sandbox/faults", json={"kind": "cloudflare", "operation": "openWidget"})
    page = await client.get("/auth/demo-widget", headers={"Host": '<img src=x onerror="alert(1)">'})
    assert page.status_code == 429
    assert "<img" not in page.text
    assert "&lt;img src=x onerror=" in page.text
    assert "content-security-policy" in page.headers


async def test_a_request_id_with_markup_is_escaped_on_the_dashboard(
    client: httpx.AsyncClient, bearer: Callable[..., Any]
) -> None:
    await create(client, {"Authorization": f"Bearer {await get_token(client)}"}, request_id="<script>x</script>")
    page = await client.get("/_sandbox/ui/seekpass")
    assert "<script>x</script>" not in page.text
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text
