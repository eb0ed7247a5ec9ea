"""SeekPassClient and AsyncSeekPassClient: every partner operation, typed, with OAuth handled.

    client = SeekPassClient("https://app.seekpass-staging.com", "my-client-id", "my-secret")
    created = client.create_verification_request("Acme Recruiting", callback_url="https://acme.example/cb")
    # send the user to created.redirect_uri; later:
    result = client.get_verification_request(created.request_id)

Pass ``transport=`` (e.g. ``httpx.ASGITransport(app)`` for the async client) or a ready
``http_client=`` to control how requests travel; retries on 429/5xx and timeouts are set with
``retry=`` and ``timeout=``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import httpx

from passbox_clients._http import (
    Call,
    RetryPolicy,
    finish,
    make_async_client,
    make_client,
    request_kwargs,
    transport_error,
)
from passbox_clients.seekpass import _operations as ops
from passbox_clients.seekpass.auth import TOKEN_PATH, VENDOR, ClientCredentials
from passbox_clients.seekpass.types import VerificationRequest, VerificationRequestCreated, Webhook, WebhookWithSecret

T = TypeVar("T")
HEADERS = {"Accept": "application/json", "User-Agent": "passbox-reference-client/0.1 (seekpass)"}


class _Base:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None,
        token_leeway: float,
        clock: Callable[[], float],
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = ClientCredentials(
            self.base_url + TOKEN_PATH, client_id, client_secret, scope=scope, leeway=token_leeway, clock=clock
        )

    def _url(self, call: Call[Any]) -> str:
        return self.base_url + call.path


class SeekPassClient(_Base):
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        token_leeway: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(base_url, client_id, client_secret, scope=scope, token_leeway=token_leeway, clock=clock)
        self._http, self._owns_http = make_client(
            http_client, transport, retry or RetryPolicy(), timeout, sleep, HEADERS
        )

    def _send(self, call: Call[T]) -> T:
        try:
            response = self._http.request(call.method, self._url(call), auth=self.auth, **request_kwargs(call))
        except httpx.HTTPError as exc:
            raise transport_error(exc, VENDOR) from exc
        return finish(call, response, VENDOR)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> SeekPassClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_verification_request(
        self,
        partner_name: str,
        *,
        request_id: str | None = None,
        callback_url: str | None = None,
        partner_logo_url: str | None = None,
        request_source: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> VerificationRequestCreated:
        """Start a verification; send the user to ``redirect_uri`` of the result."""
        return self._send(
            ops.create_verification_request(
                partner_name,
                request_id=request_id,
                callback_url=callback_url,
                partner_logo_url=partner_logo_url,
                request_source=request_source,
                metadata=metadata,
            )
        )

    def get_verification_request(self, request_id: str) -> VerificationRequest:
        return self._send(ops.get_verification_request(request_id))

    def create_webhook(self, url: str, *, name: str | None = None, description: str | None = None) -> WebhookWithSecret:
        return self._send(ops.create_webhook(url, name=name, description=description))

    def list_webhooks(self) -> list[Webhook]:
        return self._send(ops.list_webhooks())

    def get_webhook(self, webhook_id: str) -> Webhook:
        return self._send(ops.get_webhook(webhook_id))

    def update_webhook(
        self,
        webhook_id: str,
        *,
        url: str = ops.UNSET,
        name: str | None = ops.UNSET,
        description: str | None = ops.UNSET,
    ) -> Webhook:
        return self._send(ops.update_webhook(webhook_id, url=url, name=name, description=description))

    def rotate_webhook_secret(self, webhook_id: str) -> WebhookWithSecret:
        return self._send(ops.rotate_webhook_secret(webhook_id))

    def delete_webhook(self, webhook_id: str) -> None:
        self._send(ops.delete_webhook(webhook_id))


class AsyncSeekPassClient(_Base):
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        token_leeway: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(base_url, client_id, client_secret, scope=scope, token_leeway=token_leeway, clock=clock)
        self._http, self._owns_http = make_async_client(
            http_client, transport, retry or RetryPolicy(), timeout, sleep, HEADERS
        )

    async def _send(self, call: Call[T]) -> T:
        try:
            response = await self._http.request(call.method, self._url(call), auth=self.auth, **request_kwargs(call))
        except httpx.HTTPError as exc:
            raise transport_error(exc, VENDOR) from exc
        return finish(call, response, VENDOR)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncSeekPassClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def create_verification_request(
        self,
        partner_name: str,
        *,
        request_id: str | None = None,
        callback_url: str | None = None,
        partner_logo_url: str | None = None,
        request_source: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> VerificationRequestCreated:
        return await self._send(
            ops.create_verification_request(
                partner_name,
                request_id=request_id,
                callback_url=callback_url,
                partner_logo_url=partner_logo_url,
                request_source=request_source,
                metadata=metadata,
            )
        )

    async def get_verification_request(self, request_id: str) -> VerificationRequest:
        return await self._send(ops.get_verification_request(request_id))

    async def create_webhook(
        self, url: str, *, name: str | None = None, description: str | None = None
    ) -> WebhookWithSecret:
        return await self._send(ops.create_webhook(url, name=name, description=description))

    async def list_webhooks(self) -> list[Webhook]:
        return await self._send(ops.list_webhooks())

    async def get_webhook(self, webhook_id: str) -> Webhook:
        return await self._send(ops.get_webhook(webhook_id))

    async def update_webhook(
        self,
        webhook_id: str,
        *,
        url: str = ops.UNSET,
        name: str | None = ops.UNSET,
        description: str | None = ops.UNSET,
    ) -> Webhook:
        return await self._send(ops.update_webhook(webhook_id, url=url, name=name, description=description))

    async def rotate_webhook_secret(self, webhook_id: str) -> WebhookWithSecret:
        return await self._send(ops.rotate_webhook_secret(webhook_id))

    async def delete_webhook(self, webhook_id: str) -> None:
        await self._send(ops.delete_webhook(webhook_id))
