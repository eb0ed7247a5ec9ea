"""Every VerifyPass operation, built once and shared by the sync and the async client."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from passbox_clients._http import Call
from passbox_clients._parse import json_object, text
from passbox_clients.errors import APIError
from passbox_clients.verifypass.types import ActivityPage

VENDOR = "verifypass"
TOKEN_PATH = "/api/v2/token"  # noqa: S105 - a path, not a password
# The real reporting path is not public (see the README); passbox serves this one.
REPORTING_PATH = "/api/v2/reporting"
PREFILL = ("first_name", "last_name", "dob", "email", "lock_email")


def _day(value: date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def create_token(
    *,
    first_name: str | None = None,
    last_name: str | None = None,
    dob: date | str | None = None,
    email: str | None = None,
    lock_email: bool | None = None,
    uid: str | None = None,
) -> Call[str]:
    fields = {
        "first_name": first_name,
        "last_name": last_name,
        "dob": _day(dob),
        "email": email,
        "lock_email": lock_email,
        "uid": uid,
    }
    body = {key: value for key, value in fields.items() if value is not None}

    def parse(response: httpx.Response) -> str:
        try:
            return text(json_object(response, VENDOR), "token")
        except ValueError as exc:
            raise APIError(f"unexpected response: {exc}", response=response, vendor=VENDOR) from exc

    return Call("POST", TOKEN_PATH, parse, json=body)


def get_activity(
    path: str,
    *,
    page: int = 1,
    widget_key: str | None = None,
    community_key: str | None = None,
    search: str | None = None,
    start_date: date | str | None = None,
    end_date: date | str | None = None,
) -> Call[ActivityPage]:
    given = {
        "page": str(page),
        "widget_key": widget_key,
        "community_key": community_key,
        "search": search,
        "startDate": _day(start_date),
        "endDate": _day(end_date),
    }
    params = {key: value for key, value in given.items() if value is not None}

    def parse(response: httpx.Response) -> ActivityPage:
        try:
            return ActivityPage.from_dict(json_object(response, VENDOR), page)
        except ValueError as exc:
            raise APIError(f"unexpected response: {exc}", response=response, vendor=VENDOR) from exc

    return Call("GET", path, parse, params=params)


def widget_url(base_url: str, widget_key: str, token: str | None, uid: str | None, prefill: dict[str, Any]) -> str:
    unknown = set(prefill) - set(PREFILL)
    if unknown:
        raise TypeError(f"unknown prefill parameters: {', '.join(sorted(unknown))}")
    query: dict[str, str] = {}
    if token is not None:
        query["token"] = token
    if uid is not None:
        query["uid"] = uid
    for name in PREFILL:
        value = prefill.get(name)
        if value is None:
            continue
        if isinstance(value, bool):
            query[name] = "true" if value else "false"
        else:
            query[name] = _day(value) or ""
    url = f"{base_url}/auth/{quote(widget_key, safe='')}"
    # quote_via=quote with safe="" encodes the token's + / = (a + left alone would read as a space).
    return f"{url}?{urlencode(query, quote_via=quote, safe='')}" if query else url
