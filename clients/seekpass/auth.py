"""OAuth2 client credentials as an httpx.Auth flow: fetch, cache, refresh, retry once on 401.

The token is fetched on first use and cached. It is refreshed ``leeway`` seconds before it
expires by the client's own clock, and once more whenever the API answers 401 anyway (the
server may disagree about time, or have rotated keys): the request is then sent again with
the new token, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator

import httpx

from clients._parse import json_object
from clients.errors import error_for
from clients.seekpass.types import AccessToken

VENDOR = "seekpass"
TOKEN_PATH = "/api/partner/v1/oauth/token.json"  # noqa: S105 - a path, not a password


class ClientCredentials(httpx.Auth):
    requires_response_body = True

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        leeway: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._scope = scope
        self._leeway = leeway
        self._clock = clock
        self.token: AccessToken | None = None
        self._expires_at = 0.0
        self.fetches = 0

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._client_secret}
        if self._scope:
            form["scope"] = self._scope
        return httpx.Request("POST", self.token_url, data=form, headers={"Accept": "application/json"})

    def _store(self, response: httpx.Response) -> None:
        if response.status_code != 200:
            raise error_for(response, VENDOR)
        try:
            token = AccessToken.from_dict(json_object(response, VENDOR))
        except ValueError as exc:
            raise error_for(response, VENDOR) from exc
        self.token = token
        self._expires_at = self._clock() + token.expires_in
        self.fetches += 1

    def needs_token(self) -> bool:
        return self.token is None or self._clock() >= self._expires_at - self._leeway

    def _authorize(self, request: httpx.Request) -> None:
        assert self.token is not None
        request.headers["Authorization"] = f"Bearer {self.token.access_token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.needs_token():
            self._store((yield self._token_request()))
        self._authorize(request)
        response = yield request
        if response.status_code == 401:
            # The token was refused although we thought it valid: fetch a new one, retry once.
            self._store((yield self._token_request()))
            self._authorize(request)
            yield request
