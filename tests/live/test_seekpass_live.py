"""End to end on a real socket: uvicorn serving the app, a real local webhook receiver."""

from __future__ import annotations

import hmac
import queue
import time
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from passbox.app import create_app
from passbox.seekpass.signing import signature
from passbox.settings import Settings
from tests.helpers import Received, live_server, receiver_server

pytestmark = pytest.mark.live


def next_matching(inbox: queue.Queue[Received], method: str, path_prefix: str) -> Received:
    """Block (up to 10 s) until a request matching method and path arrives; others are kept."""
    skipped: list[Received] = []
    try:
        while True:
            item = inbox.get(timeout=10)
            if item.method == method and item.path.startswith(path_prefix):
                return item
            skipped.append(item)
    finally:
        for item in skipped:
            inbox.put(item)


def test_create_complete_receive_verify_fetch() -> None:
    app = create_app(Settings(seed=2024))
    with (
        receiver_server() as (receiver_url, inbox),
        live_server(app) as base,
        httpx.Client(base_url=base, trust_env=False) as client,
    ):
        token = client.post(
            "/api/partner/v1/oauth/token.json",
            data={
                "grant_type": "client_credentials",
                "client_id": "passbox-demo-client",
                "client_secret": "passbox-demo-secret",
                "scope": "write.digital_identity read.digital_identity",
            },
            headers={"Accept": "application/json"},
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        hook = client.post("/api/partner/v2/webhooks", json={"url": f"{receiver_url}/webhook"}, headers=auth)
        assert hook.status_code == 201
        secret = hook.json()["secret"]

        created = client.post(
            "/api/partner/v2/verify/requests/digital_identity.json",
            json={
                "callback_url": f"{receiver_url}/callback?session=s1",
                "display_options": {"partner_name": "Live Partner"},
            },
            headers=auth,
        )
        assert created.status_code == 201
        request_id = created.json()["request_id"]
        redirect_uri = created.json()["redirect_uri"]
        assert redirect_uri.startswith(f"{base}/partner/verify/digital_identity#clientId=passbox-demo-client&")

        # A browser loads the page (the fragment stays in the browser) ...
        bootstrap = client.get(redirect_uri)
        assert "/partner/verify/bootstrap.js" in bootstrap.text
        assert "window.location.hash" in client.get("/partner/verify/bootstrap.js").text
        # ... whose script moves the fragment into the query.
        page = client.get("/partner/verify/digital_identity", params=dict(parse_qsl(urlsplit(redirect_uri).fragment)))
        assert "Live Partner wants to verify your identity" in page.text
        params = dict(parse_qsl(urlsplit(redirect_uri).fragment))
        landed = client.post(
            "/partner/verify/digital_identity",
            data={**params, "decision": "verify", "document_type": "drivers_licence"},
            follow_redirects=True,
        )
        assert landed.status_code == 200
        assert str(landed.url) == f"{receiver_url}/callback?session=s1&request_id={request_id}"

        event = next_matching(inbox, "POST", "/webhook")
        assert abs(int(event.headers["x-timestamp"]) - time.time()) < 60
        expected = signature(secret, event.headers["x-timestamp"], event.body)
        assert hmac.compare_digest(expected, event.headers["x-signature"])
        assert event.json()["type"] == "vwsp_request.verified"
        assert event.json()["request_id"] == request_id

        result = client.get(f"/api/partner/v2/verify/requests/{request_id}.json", headers=auth).json()
        assert result["status"] == "verified"
        assert result["credential"]["document_type"] == "drivers_licence"
        assert result["credential"]["full_name"]


def bearer(client: httpx.Client) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": "passbox-demo-client",
        "client_secret": "passbox-demo-secret",
    }
    return {
        "Authorization": f"Bearer {client.post('/api/partner/v1/oauth/token.json', data=form).json()['access_token']}"
    }


def test_after_time_travel_a_receiver_checking_freshness_by_its_own_clock_accepts_the_webhook() -> None:
    """X-Timestamp is the wall-clock time of the attempt (as Stripe signs test-clock events);
    the event body keeps sandbox time. The reference receiver applies the documented 900 s
    check against the real clock."""
    from passbox_clients.seekpass.webhooks import verify

    app = create_app(Settings(seed=606))
    with (
        receiver_server() as (receiver_url, inbox),
        live_server(app) as base,
        httpx.Client(base_url=base, trust_env=False) as client,
    ):
        hook = client.post("/api/partner/v2/webhooks", headers=bearer(client), json={"url": f"{receiver_url}/hook"})
        secret = hook.json()["secret"]
        assert client.post("/_sandbox/clock", json={"action": "advance", "by": "2d"}).status_code == 200
        auth = bearer(client)  # a token of the new sandbox time (the old one expired in the jump)
        created = client.post(
            "/api/partner/v2/verify/requests/digital_identity.json",
            headers=auth,
            json={"request_id": "sandbox:verified", "display_options": {"partner_name": "Acme"}},
        )
        assert created.status_code == 201
        event = next_matching(inbox, "POST", "/hook")
        verified = verify(event.body, event.headers, secret)  # tolerance 900 s against time.time()
        assert verified.type == "vwsp_request.verified"
        created_at = event.json()["created_at"]
        assert created_at.startswith(time.strftime("%Y-%m-%d", time.gmtime(time.time() + 2 * 86400)))
