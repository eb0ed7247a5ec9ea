"""Off-the-shelf OAuth2 clients get a SEEK Pass token from a live server, every way they offer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from authlib.integrations.httpx_client import OAuth2Client
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import BackendApplicationClient
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from passbox.app import create_app
from passbox.settings import Settings
from tests.conftest import DEMO_CLIENT
from tests.helpers import live_server

pytestmark = pytest.mark.live

CLIENT_ID, SECRET = DEMO_CLIENT
SCOPE = "read.digital_identity"


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with live_server(create_app(Settings(seed=11))) as url:
        yield url


def usable(base: str, token: dict[str, Any]) -> None:
    """The token works on the partner API."""
    assert token["token_type"].lower() == "bearer"
    response = httpx.get(
        f"{base}/api/partner/v2/webhooks", headers={"Authorization": f"Bearer {token['access_token']}"}, trust_env=False
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
def test_authlib_with_requests(base: str, method: str) -> None:
    with AuthlibSession(CLIENT_ID, SECRET, token_endpoint_auth_method=method, scope=SCOPE) as session:
        session.trust_env = False
        token = session.fetch_token(f"{base}/api/partner/v1/oauth/token.json", grant_type="client_credentials")
    assert token["scope"] == SCOPE
    usable(base, token)


@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
def test_authlib_with_httpx(base: str, method: str) -> None:
    with OAuth2Client(CLIENT_ID, SECRET, token_endpoint_auth_method=method, scope=SCOPE, trust_env=False) as client:
        token = client.fetch_token(f"{base}/api/partner/v1/oauth/token.json", grant_type="client_credentials")
    assert token["scope"] == SCOPE
    usable(base, token)


@pytest.mark.parametrize("way", ["auth", "body", "auth-and-client-id"])
def test_requests_oauthlib_backend_application_client(base: str, way: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # oauthlib refuses plain http unless told otherwise: a local sandbox is plain http.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    session = OAuth2Session(client=BackendApplicationClient(client_id=CLIENT_ID))
    session.trust_env = False
    url = f"{base}/api/partner/v1/oauth/token.json"
    options: dict[str, Any] = {
        "auth": {"auth": HTTPBasicAuth(CLIENT_ID, SECRET)},
        "body": {"client_id": CLIENT_ID, "client_secret": SECRET, "include_client_id": True},
        "auth-and-client-id": {"auth": HTTPBasicAuth(CLIENT_ID, SECRET), "include_client_id": True},
    }[way]
    with session:
        token = session.fetch_token(url, **options)
    assert token["scope"] == ["write.digital_identity", "read.digital_identity"]  # all of the client's
    usable(base, token)


def test_a_mismatched_client_id_next_to_basic_is_refused(base: str) -> None:
    response = requests.post(
        f"{base}/api/partner/v1/oauth/token.json",
        data={"grant_type": "client_credentials", "client_id": "passbox-other-client"},
        auth=HTTPBasicAuth(CLIENT_ID, SECRET),
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
