"""Every SEEK Pass operation, built once and shared by the sync and the async client."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from passbox_clients._http import Call
from passbox_clients._parse import json_list, json_object
from passbox_clients.errors import APIError
from passbox_clients.seekpass.types import VerificationRequest, VerificationRequestCreated, Webhook, WebhookWithSecret

VENDOR = "seekpass"
REQUESTS = "/api/partner/v2/verify/requests"
WEBHOOKS = "/api/partner/v2/webhooks"
UNSET: Any = object()


def _parsed(response: httpx.Response, build: Any) -> Any:
    try:
        return build(json_object(response, VENDOR))
    except ValueError as exc:
        raise APIError(f"unexpected response: {exc}", response=response, vendor=VENDOR) from exc


def create_verification_request(
    partner_name: str,
    *,
    request_id: str | None = None,
    callback_url: str | None = None,
    partner_logo_url: str | None = None,
    request_source: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Call[VerificationRequestCreated]:
    display: dict[str, Any] = {"partner_name": partner_name}
    if partner_logo_url is not None:
        display["partner_logo_url"] = partner_logo_url
    body: dict[str, Any] = {"display_options": display}
    if request_id is not None:
        body["request_id"] = request_id
    if callback_url is not None:
        body["callback_url"] = callback_url
    if request_source is not None:
        body["request_source"] = [{"name": name} for name in request_source]
    if metadata is not None:
        body["metadata"] = dict(metadata)
    return Call(
        "POST",
        f"{REQUESTS}/digital_identity.json",
        lambda r: _parsed(r, VerificationRequestCreated.from_dict),
        json=body,
        expected=(201,),
    )


def get_verification_request(request_id: str) -> Call[VerificationRequest]:
    return Call(
        "GET", f"{REQUESTS}/{quote(request_id, safe='')}.json", lambda r: _parsed(r, VerificationRequest.from_dict)
    )


def create_webhook(url: str, *, name: str | None = None, description: str | None = None) -> Call[WebhookWithSecret]:
    body: dict[str, Any] = {"url": url}
    if name is not None:
        body["name"] = name
    if description is not None:
        body["description"] = description
    return Call("POST", WEBHOOKS, lambda r: _parsed(r, WebhookWithSecret.from_dict), json=body, expected=(201,))


def list_webhooks() -> Call[list[Webhook]]:
    def parse(response: httpx.Response) -> list[Webhook]:
        try:
            return [Webhook.from_dict(item) for item in json_list(response, VENDOR)]
        except ValueError as exc:
            raise APIError(f"unexpected response: {exc}", response=response, vendor=VENDOR) from exc

    return Call("GET", WEBHOOKS, parse)


def get_webhook(webhook_id: str) -> Call[Webhook]:
    return Call("GET", f"{WEBHOOKS}/{quote(webhook_id, safe='')}", lambda r: _parsed(r, Webhook.from_dict))


def update_webhook(
    webhook_id: str, *, url: str = UNSET, name: str | None = UNSET, description: str | None = UNSET
) -> Call[Webhook]:
    """Change only the fields given (``None`` clears name or description)."""
    body = {
        key: value for key, value in (("url", url), ("name", name), ("description", description)) if value is not UNSET
    }
    return Call("PUT", f"{WEBHOOKS}/{quote(webhook_id, safe='')}", lambda r: _parsed(r, Webhook.from_dict), json=body)


def rotate_webhook_secret(webhook_id: str) -> Call[WebhookWithSecret]:
    return Call(
        "PUT", f"{WEBHOOKS}/{quote(webhook_id, safe='')}/secret", lambda r: _parsed(r, WebhookWithSecret.from_dict)
    )


def delete_webhook(webhook_id: str) -> Call[None]:
    return Call("DELETE", f"{WEBHOOKS}/{quote(webhook_id, safe='')}", lambda r: None, expected=(204, 200))
