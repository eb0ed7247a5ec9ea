"""VerifyPassClient and AsyncVerifyPassClient: applicant tokens, widget URLs, reporting.

    client = VerifyPassClient("my-api-key")
    token = client.create_token(email="jane@example.com", lock_email=True, uid="customer:42")
    url = client.widget_url("my-widget", token=token)   # send the applicant here
    for record in client.iter_activity(start_date="2024-01-01"):
        ...

``base_url`` defaults to https://verifypass.com; point it at passbox to test. The reporting
path is configurable because the vendor's is not public.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date
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
from passbox_clients.verifypass import _operations as ops
from passbox_clients.verifypass.types import ActivityPage, ActivityRecord

T = TypeVar("T")
VENDOR = ops.VENDOR
DEFAULT_BASE_URL = "https://verifypass.com"


def _headers(api_key: str) -> dict[str, str]:
    return {"key": api_key, "Accept": "application/json", "User-Agent": "passbox-reference-client/0.1 (verifypass)"}


class _Base:
    def __init__(self, api_key: str, base_url: str, widget_base_url: str | None, reporting_path: str) -> None:
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.widget_base_url = (widget_base_url or self.base_url).rstrip("/")
        self.reporting_path = reporting_path

    def widget_url(
        self, widget_key: str, token: str | None = None, uid: str | None = None, **prefill: str | bool | date
    ) -> str:
        """The hosted widget URL, with the token URL-encoded (it may contain + / =).

        Prefill parameters: first_name, last_name, dob, email, lock_email. They are a
        convenience the applicant can edit; use a token when it matters.
        """
        return ops.widget_url(self.widget_base_url, widget_key, token, uid, prefill)

    def _url(self, call: Call[Any]) -> str:
        return self.base_url + call.path


class VerifyPassClient(_Base):
    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        widget_base_url: str | None = None,
        reporting_path: str = ops.REPORTING_PATH,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(api_key, base_url, widget_base_url, reporting_path)
        self._http, self._owns_http = make_client(
            http_client, transport, retry or RetryPolicy(), timeout, sleep, _headers(api_key)
        )

    def _send(self, call: Call[T]) -> T:
        try:
            response = self._http.request(
                call.method, self._url(call), headers=_headers(self.api_key), **request_kwargs(call)
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, VENDOR) from exc
        return finish(call, response, VENDOR)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> VerifyPassClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def create_token(
        self,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        dob: date | str | None = None,
        email: str | None = None,
        lock_email: bool | None = None,
        uid: str | None = None,
    ) -> str:
        """An applicant token (opaque). With ``lock_email`` the e-mail must be valid."""
        return self._send(
            ops.create_token(
                first_name=first_name, last_name=last_name, dob=dob, email=email, lock_email=lock_email, uid=uid
            )
        )

    def get_activity(
        self,
        *,
        page: int = 1,
        widget_key: str | None = None,
        community_key: str | None = None,
        search: str | None = None,
        start_date: date | str | None = None,
        end_date: date | str | None = None,
    ) -> ActivityPage:
        """One page (up to 250 records) of activity."""
        return self._send(
            ops.get_activity(
                self.reporting_path,
                page=page,
                widget_key=widget_key,
                community_key=community_key,
                search=search,
                start_date=start_date,
                end_date=end_date,
            )
        )

    def iter_activity(
        self,
        *,
        widget_key: str | None = None,
        community_key: str | None = None,
        search: str | None = None,
        start_date: date | str | None = None,
        end_date: date | str | None = None,
    ) -> Iterator[ActivityRecord]:
        """Every matching record, page after page."""
        page = 1
        while True:
            result = self.get_activity(
                page=page,
                widget_key=widget_key,
                community_key=community_key,
                search=search,
                start_date=start_date,
                end_date=end_date,
            )
            yield from result.records
            if page >= result.max_page or not result.records:
                return
            page += 1


class AsyncVerifyPassClient(_Base):
    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        widget_base_url: str | None = None,
        reporting_path: str = ops.REPORTING_PATH,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(api_key, base_url, widget_base_url, reporting_path)
        self._http, self._owns_http = make_async_client(
            http_client, transport, retry or RetryPolicy(), timeout, sleep, _headers(api_key)
        )

    async def _send(self, call: Call[T]) -> T:
        try:
            response = await self._http.request(
                call.method, self._url(call), headers=_headers(self.api_key), **request_kwargs(call)
            )
        except httpx.HTTPError as exc:
            raise transport_error(exc, VENDOR) from exc
        return finish(call, response, VENDOR)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncVerifyPassClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def create_token(
        self,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        dob: date | str | None = None,
        email: str | None = None,
        lock_email: bool | None = None,
        uid: str | None = None,
    ) -> str:
        return await self._send(
            ops.create_token(
                first_name=first_name, last_name=last_name, dob=dob, email=email, lock_email=lock_email, uid=uid
            )
        )

    async def get_activity(
        self,
        *,
        page: int = 1,
        widget_key: str | None = None,
        community_key: str | None = None,
        search: str | None = None,
        start_date: date | str | None = None,
        end_date: date | str | None = None,
    ) -> ActivityPage:
        return await self._send(
            ops.get_activity(
                self.reporting_path,
                page=page,
                widget_key=widget_key,
                community_key=community_key,
                search=search,
                start_date=start_date,
                end_date=end_date,
            )
        )

    async def iter_activity(
        self,
        *,
        widget_key: str | None = None,
        community_key: str | None = None,
        search: str | None = None,
        start_date: date | str | None = None,
        end_date: date | str | None = None,
    ) -> AsyncIterator[ActivityRecord]:
        page = 1
        while True:
            result = await self.get_activity(
                page=page,
                widget_key=widget_key,
                community_key=community_key,
                search=search,
                start_date=start_date,
                end_date=end_date,
            )
            for record in result.records:
                yield record
            if page >= result.max_page or not result.records:
                return
            page += 1
