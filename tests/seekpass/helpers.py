"""Helpers for SEEK Pass tests: create a request, walk the hosted app without a browser."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.conftest import get_token

CREATE = "/api/partner/v2/verify/requests/digital_identity.json"
APP = "/partner/verify/digital_identity"


def payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "callback_url": "https://partner.example/seekpass/callback?session=abc",
        "display_options": {"partner_name": "Acme Recruiting"},
    }
    body.update(overrides)
    return body


async def create(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await client.post(CREATE, json=payload(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def fragment(redirect_uri: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(redirect_uri).fragment))


async def open_app(client: httpx.AsyncClient, redirect_uri: str) -> httpx.Response:
    """What the page's script does: move the fragment into the query and load the page."""
    return await client.get(APP, params=fragment(redirect_uri))


async def submit(
    client: httpx.AsyncClient,
    redirect_uri: str,
    decision: str = "verify",
    document_type: str | None = "passport",
    **extra: str,
) -> httpx.Response:
    params = fragment(redirect_uri)
    form = {"clientId": params["clientId"], "content": params["content"], "decision": decision, **extra}
    if document_type is not None:
        form["document_type"] = document_type
    return await client.post(APP, data=form)


async def complete(
    client: httpx.AsyncClient, redirect_uri: str, decision: str = "verify", document_type: str = "passport"
) -> httpx.Response:
    opened = await open_app(client, redirect_uri)
    assert opened.status_code == 200, opened.text
    return await submit(client, redirect_uri, decision, document_type)


async def verified_with_webhook(
    client: httpx.AsyncClient, drain: Callable[[], Awaitable[Any]], url: str = "http://receiver.test/h"
) -> tuple[dict[str, str], dict[str, Any]]:
    """Registers a webhook at ``url``, verifies a request and delivers the event; returns (headers, webhook)."""
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    hook = (await client.post("/api/partner/v2/webhooks", json={"url": url}, headers=headers)).json()
    created = await create(client, headers)
    await complete(client, created["redirect_uri"])
    await drain()
    return headers, hook
