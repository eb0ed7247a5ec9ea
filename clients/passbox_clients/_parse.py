"""Reading JSON answers into typed results, with a clear error when the shape is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from passbox_clients.errors import APIError


def json_object(response: httpx.Response, vendor: str) -> Mapping[str, Any]:
    try:
        body = response.json()
    except ValueError as exc:
        raise APIError("the response is not JSON", response=response, vendor=vendor) from exc
    if not isinstance(body, dict):
        raise APIError("the response is not a JSON object", response=response, vendor=vendor)
    return body


def json_list(response: httpx.Response, vendor: str) -> list[Mapping[str, Any]]:
    try:
        body = response.json()
    except ValueError as exc:
        raise APIError("the response is not JSON", response=response, vendor=vendor) from exc
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise APIError("the response is not a JSON array of objects", response=response, vendor=vendor)
    return body


def text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key!r} is missing or not a string")
    return value


def optional_text(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key!r} is not a string")
    return value


def integer(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{key!r} is missing or not an integer")
    return value
