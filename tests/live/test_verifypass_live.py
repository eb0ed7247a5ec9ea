"""End to end on a real socket: token with a locked e-mail, the widget, the webhook, reporting."""

from __future__ import annotations

import httpx
import pytest

from passbox.app import create_app
from passbox.settings import Settings
from tests.helpers import live_server, receiver_server

pytestmark = pytest.mark.live


def test_token_widget_webhook_reporting() -> None:
    app = create_app(Settings(seed=77))
    with (
        receiver_server() as (receiver_url, inbox),
        live_server(app) as base,
        httpx.Client(base_url=base, trust_env=False) as client,
    ):
        configured = client.put(
            "/_sandbox/verifypass/widgets/demo-widget/webhook", json={"url": f"{receiver_url}/verifypass"}
        )
        assert configured.status_code == 200

        token = client.post(
            "/api/v2/token",
            headers={"key": "passbox-demo-key", "Content-Type": "application/json"},
            json={"first_name": "Sam", "last_name": "Rivera", "email": "sam.rivera@example.com", "lock_email": True,
                  "uid": "shop-customer-19"},
        ).json()["token"]  # fmt: skip

        page = client.get("/auth/demo-widget", params={"token": token})
        assert page.status_code == 200
        assert 'value="sam.rivera@example.com"' in page.text and "readonly" in page.text

        result = client.post(
            "/auth/demo-widget",
            params={"token": token},
            data={"first_name": "Sam", "last_name": "Rivera", "email": "sam.rivera@example.com", "dob": "1985-06-30",
                  "community": "fir", "outcome": "positive"},
        )  # fmt: skip
        assert result.status_code == 200
        assert "HEROES15" in result.text

        delivery = inbox.get(timeout=10)
        assert delivery.method == "POST"
        assert delivery.path == "/verifypass"
        assert delivery.headers["x-vfyps-key"] == "passbox-demo-key"
        record = delivery.json()["data"][0]
        assert record["email"] == "sam.rivera@example.com"
        assert record["discount_code"] == "HEROES15"
        assert record["group_short"] == "fir"
        assert record["group"] == "First Responder"
        assert record["widget_key"] == "demo-widget"
        assert record["uid"] == "shop-customer-19"

        report = client.get(
            "/api/v2/reporting", params={"search": "sam.rivera@example.com"}, headers={"key": "passbox-demo-key"}
        ).json()
        assert report["count"] == 1
        assert report["data"][0]["uid"] == "shop-customer-19"
        assert report["data"][0]["data"] == "HEROES15"


def test_a_form_encoded_token_request_from_requests() -> None:
    """Laravel reads form bodies like JSON: a partner posting a form (requests' data=) gets a token."""
    import requests

    with live_server(create_app(Settings(seed=78))) as base:
        response = requests.post(
            f"{base}/api/v2/token",
            headers={"key": "passbox-demo-key"},
            data={"first_name": "John", "email": "john.smith@gmail.com", "lock_email": "true"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        token = response.json()["token"]
        page = requests.get(f"{base}/auth/demo-widget", params={"token": token}, timeout=10)
        assert page.status_code == 200
        assert 'value="john.smith@gmail.com"' in page.text and "readonly" in page.text
