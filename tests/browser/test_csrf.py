"""Cross-site request forgery, in real headless Chromium: pages on another origin and on
another port of the same host (same-site, so SameSite cookies do not help) try to drive the
control plane of a browser that has the dashboard open, with and without ``--admin-token``.
Every write must be refused and leave the sandbox as it was."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import Page

from passbox.app import create_app
from passbox.settings import Settings
from tests.browser.test_browser import partner
from tests.helpers import live_server

pytestmark = [pytest.mark.live, pytest.mark.browser]

ADMIN = "browser-admin-token-1"


def attacks(target: str) -> dict[str, str]:
    """Attack pages (served by the attacker), each ending by setting the title to "done"."""
    form = (
        '<form method="post" action="{action}" enctype="{enctype}">{fields}</form>'
        "<script>document.forms[0].submit()</script>"
    )
    return {
        "/form-reset": form.format(action=f"{target}/_sandbox/reset", enctype="text/plain", fields=""),
        "/form-complete": form.format(
            action=f"{target}/_sandbox/ui/seekpass/passbox-demo-client/csrf-1/complete",
            enctype="application/x-www-form-urlencoded",
            fields='<input name="csrf" value="' + "0" * 64 + '"><input name="document_type" value="passport">',
        ),
        "/fetch-freeze": (
            "<script>fetch('" + target + "/_sandbox/clock', {method: 'POST', mode: 'no-cors', credentials: 'include',"
            " body: new Blob(['{\"action\": \"freeze\"}'])}).finally(() => { document.title = 'done'; });</script>"
        ),
        "/fetch-fault": (
            "<script>fetch('" + target + "/_sandbox/faults', {method: 'POST', mode: 'no-cors', credentials: 'include',"
            " headers: {'Content-Type': 'text/plain'}, body: '{\"kind\": \"error\"}'})"
            ".finally(() => { document.title = 'done'; });</script>"
        ),
    }


@contextmanager
def attacker(pages: dict[str, str]) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "not here").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def sandbox_state(url: str, admin: str | None) -> tuple[object, ...]:
    headers = {"Authorization": f"Bearer {admin}"} if admin else {}
    with httpx.Client(base_url=url, headers=headers, trust_env=False) as client:
        clock = client.get("/_sandbox/clock").json()
        requests = client.get("/_sandbox/seekpass/requests").json()
        faults = client.get("/_sandbox/faults").json()
    return clock["frozen"], [(r["request_id"], r["status"]) for r in requests], faults


def run_attack(page: Page, url: str) -> None:
    if "/form-" in url:
        with page.expect_navigation():
            page.goto(url)
    else:
        page.goto(url)
        page.wait_for_function("document.title === 'done'")


@pytest.mark.parametrize("admin", [None, ADMIN], ids=["open", "admin-token"])
@pytest.mark.parametrize("where", ["another-origin", "another-port"])
def test_no_page_elsewhere_can_drive_the_control_plane(page: Page, admin: str | None, where: str) -> None:
    with live_server(create_app(Settings(seed=8, admin_token=admin))) as url, partner(url) as api:
        created = api.post(
            "/api/partner/v2/verify/requests/digital_identity.json",
            json={"request_id": "csrf-1", "display_options": {"partner_name": "Acme"}},
        )
        assert created.status_code == 201
        # The victim has the dashboard open (and, with a token, is logged in).
        page.goto(f"{url}/_sandbox/ui/seekpass")
        if admin:
            page.fill("#token", admin)
            with page.expect_navigation():
                page.click("button[type=submit]")
            page.goto(f"{url}/_sandbox/ui/seekpass")
        assert "csrf-1" in page.content()
        before = sandbox_state(url, admin)
        with attacker(attacks(url)) as port:
            # "localhost" is another site than "127.0.0.1"; another port of 127.0.0.1 is the same site.
            host = "localhost" if where == "another-origin" else "127.0.0.1"
            for path in attacks(url):
                run_attack(page, f"http://{host}:{port}{path}")
                assert sandbox_state(url, admin) == before, f"{path} from {where} changed the sandbox"
        # The dashboard itself still works for its own user.
        page.goto(f"{url}/_sandbox/ui/seekpass")
        with page.expect_navigation():
            page.click("button.complete")
        assert sandbox_state(url, admin)[1] == [("csrf-1", "verified")]
