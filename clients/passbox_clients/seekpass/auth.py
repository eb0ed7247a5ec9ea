"""OAuth2 client credentials as an httpx.Auth flow: fetch, cache, refresh, retry once on 401.

The token is fetched on first use and cached. It is refreshed ``leeway`` seconds before it
expires by the client's own clock, and once more whenever the API answers 401 anyway (the
server may disagree about time, or have rotated keys): the request is then sent again with
the new token, once.

The cached token is shared by every request of the client, concurrent ones included: a lock
(a ``threading.Lock`` for the sync client, an ``asyncio.Lock`` for the async one) is held
while a token is fetched, and whoever waited on it uses the token just fetched instead of
fetching another. Ten concurrent first calls make one token request; ten calls refused with
the same stale token make one more.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator

import httpx

from passbox_clients._parse import json_object
from passbox_clients.errors import error_for
from passbox_clients.seekpass.types import AccessToken

VENDOR = "seekpass"
TOKEN_PATH = "/api/partner/v1/oauth/token.json"  # noqa: S105 - a path, not a password


class ClientCredentials(httpx.Auth):
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
        # The token and when it expires (by ``clock``), replaced together so a reader never
        # pairs a new token with an old expiry or the other way round.
        self._cached: tuple[AccessToken | None, float] = (None, 0.0)
        self.fetches = 0
        self._sync_lock = threading.Lock()
        # An asyncio.Lock belongs to one event loop: it is made inside the running loop on first
        # use, and made again if the client is later used from another loop.
        self._async_lock: asyncio.Lock | None = None
        self._async_lock_loop: asyncio.AbstractEventLoop | None = None

    @property
    def token(self) -> AccessToken | None:
        """The cached token (None before the first fetch)."""
        return self._cached[0]

    def needs_token(self) -> bool:
        return self._usable() is None

    def _usable(self, refused: AccessToken | None = None) -> AccessToken | None:
        """The cached token if it is still valid by our clock and is not ``refused``, else None."""
        token, expires_at = self._cached
        if token is None or token is refused or self._clock() >= expires_at - self._leeway:
            return None
        return token

    def _token_request(self) -> httpx.Request:
        form = {"grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._client_secret}
        if self._scope:
            form["scope"] = self._scope
        return httpx.Request("POST", self.token_url, data=form, headers={"Accept": "application/json"})

    def _store(self, response: httpx.Response) -> AccessToken:
        """Cache the token of a token response (read already), or raise the error it carries."""
        if response.status_code != 200:
            raise error_for(response, VENDOR)
        try:
            token = AccessToken.from_dict(json_object(response, VENDOR))
        except ValueError as exc:
            raise error_for(response, VENDOR) from exc
        self._cached = (token, self._clock() + token.expires_in)
        self.fetches += 1
        return token

    @staticmethod
    def _authorize(request: httpx.Request, token: AccessToken) -> None:
        request.headers["Authorization"] = f"Bearer {token.access_token}"

    def _get_async_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._async_lock is None or self._async_lock_loop is not loop:
            self._async_lock = asyncio.Lock()
            self._async_lock_loop = loop
        return self._async_lock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The sync flow, for code that drives an httpx.Auth by hand (httpx itself calls the two below)."""
        yield from self.sync_auth_flow(request)

    # httpx drives these generators to the end, or closes them (which releases a lock held
    # across a yield) when sending fails; it never leaves one suspended.

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._usable()
        if token is None:
            with self._sync_lock:
                token = self._usable()  # another thread may have fetched one while we waited
                if token is None:
                    response = yield self._token_request()
                    response.read()
                    token = self._store(response)
        self._authorize(request, token)
        response = yield request
        if response.status_code != 401:
            return
        # The token was refused although we thought it valid: fetch a new one (unless another
        # thread already replaced it), and send the request again, once.
        with self._sync_lock:
            replacement = self._usable(refused=token)
            if replacement is None:
                response = yield self._token_request()
                response.read()
                replacement = self._store(response)
        self._authorize(request, replacement)
        yield request

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = self._usable()
        if token is None:
            async with self._get_async_lock():
                token = self._usable()  # another task may have fetched one while we waited
                if token is None:
                    response = yield self._token_request()
                    await response.aread()
                    token = self._store(response)
        self._authorize(request, token)
        response = yield request
        if response.status_code != 401:
            return
        async with self._get_async_lock():
            replacement = self._usable(refused=token)
            if replacement is None:
                response = yield self._token_request()
                await response.aread()
                replacement = self._store(response)
        self._authorize(request, replacement)
        yield request
