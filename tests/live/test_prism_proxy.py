"""The README's happy paths through Stoplight Prism's validating proxy (``prism proxy --errors``)
in front of a live passbox: every request and response must satisfy the specs as a validating
proxy resolves them (the ``.json`` suffix included)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from passbox.app import create_app
from passbox.core.resources import specs_dir
from passbox.settings import Settings
from tests.helpers import free_port, live_server

pytestmark = pytest.mark.live

DEMO_FORM = {
    "grant_type": "client_credentials",
    "client_id": "passbox-demo-client",
    "client_secret": "passbox-demo-secret",
}


def prism_executable() -> str | None:
    """$PASSBOX_PRISM, or prism on PATH; CI installs it (npm) and requires the test to run."""
    found = os.environ.get("PASSBOX_PRISM") or shutil.which("prism")
    if found is None and os.environ.get("PASSBOX_REQUIRE_PRISM") == "1":
        pytest.fail("Prism is required (PASSBOX_REQUIRE_PRISM=1) but PASSBOX_PRISM is not set and prism is not on PATH")
    return found


@contextmanager
def prism_proxy(prism: str, spec: Path, upstream: str) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [prism, "proxy", str(spec), upstream, "--errors", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    killer = threading.Timer(60, process.kill)  # a Prism that never starts fails the test, not the suite
    killer.start()
    seen: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if "Prism is listening" in line:
                break
        killer.cancel()
        if process.poll() is not None:
            raise AssertionError("prism did not start:\n" + "".join(seen))
        threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
        yield f"http://127.0.0.1:{port}"
    finally:
        killer.cancel()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(scope="module")
def prism() -> str:
    found = prism_executable()
    if found is None:
        pytest.skip("Prism is not installed (npm install @stoplight/prism-cli; set PASSBOX_PRISM)")
    return found


def checked(response: httpx.Response, status: int) -> httpx.Response:
    """Prism answers a contract violation itself (a problem+json with a 4xx/5xx)."""
    assert response.status_code == status, f"{response.status_code} {response.text[:600]}"
    assert "sl-violations" not in response.headers, response.headers["sl-violations"]
    return response


def test_the_seekpass_happy_path_passes_a_validating_proxy(prism: str) -> None:
    with (
        live_server(create_app(Settings(seed=31))) as upstream,
        prism_proxy(prism, specs_dir() / "seekpass.openapi.yaml", upstream) as base,
        httpx.Client(base_url=base, trust_env=False, timeout=30) as client,
    ):
        token = checked(
            client.post("/api/partner/v1/oauth/token.json", data=DEMO_FORM, headers={"Accept": "application/json"}),
            200,
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        checked(client.post("/api/partner/v2/webhooks", headers=auth, json={"name": "local", "url": upstream}), 201)
        request_id = "7cbc7e51-82f5-43ec-8d63-b7cdf1170425"
        created = checked(
            client.post(
                "/api/partner/v2/verify/requests/digital_identity.json",
                headers=auth,
                json={
                    "request_id": request_id,
                    "callback_url": "http://127.0.0.1:9000/callback",
                    "display_options": {"partner_name": "Acme Recruiting"},
                    "metadata": {"job_categories": "Logistics", "applied_on_seek": True},
                },
            ),
            201,
        ).json()
        assert created["request_id"] == request_id
        checked(httpx.post(f"{upstream}/_sandbox/seekpass/requests/passbox-demo-client/{request_id}/complete"), 200)
        result = checked(client.get(f"/api/partner/v2/verify/requests/{request_id}.json", headers=auth), 200)
        assert result.json()["status"] == "verified"
        checked(client.get(f"/api/partner/v2/verify/requests/{request_id}", headers=auth), 200)
        checked(client.get("/api/partner/v2/webhooks", headers=auth), 200)


def test_the_verifypass_happy_path_passes_a_validating_proxy(prism: str) -> None:
    with (
        live_server(create_app(Settings(seed=32))) as upstream,
        prism_proxy(prism, specs_dir() / "verifypass.openapi.yaml", upstream) as base,
        httpx.Client(base_url=base, trust_env=False, timeout=30) as client,
    ):
        key = {"key": "passbox-demo-key"}
        token = checked(
            client.post(
                "/api/v2/token",
                headers=key,
                json={"first_name": "John", "last_name": "Smith", "dob": "1990-01-01",
                      "email": "john.smith@gmail.com", "lock_email": True},
            ),
            200,
        ).json()["token"]  # fmt: skip
        page = httpx.post(
            f"{upstream}/auth/demo-widget",
            params={"token": token},
            data={"first_name": "John", "last_name": "Smith", "email": "john.smith@gmail.com", "dob": "1990-01-01",
                  "community": "mil"},
        )  # fmt: skip
        assert page.status_code == 200 and "HEROES15" in page.text
        report = checked(client.get("/api/v2/reporting", headers=key, params={"search": "smith"}), 200).json()
        assert report["count"] == 1
