"""What every control-plane endpoint shares: its context, JSON bodies checked by the control
plane's own spec (specs/sandbox.openapi.yaml), and bounded query parameters."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from passbox.control.context import ControlContext
from passbox.core.errors import UnsupportedMediaType, ValidationFailed
from passbox.core.http import is_json_media_type, media_type, parse_json, read_body

VENDORS = ("seekpass", "verifypass")


def context_of(request: Request) -> ControlContext:
    """The control context of the app serving this request."""
    context: ControlContext = request.app.state.control
    return context


async def body_of(request: Request, schema: str, *, optional: bool = False) -> dict[str, Any]:
    """The JSON body, validated against ``schema``; only its declared fields."""
    context = context_of(request)
    body = await read_body(request, context.settings.max_body_bytes)
    if optional and not body.strip():
        return {}
    kind = media_type(request)
    if kind and not is_json_media_type(kind):
        raise UnsupportedMediaType(f"Content-Type must be application/json, not {kind}")
    payload = parse_json(body)
    context.spec.validators.require(schema, payload)
    assert isinstance(payload, dict)
    return declared_fields(context, payload, schema)


def declared_fields(context: ControlContext, payload: dict[str, Any], schema: str) -> dict[str, Any]:
    """The schema's own properties only (extras are ignored, as the spec allows), with an
    integral number given for an integer field turned into an int (JSON has one number)."""
    properties = context.spec.document["components"]["schemas"][schema].get("properties", {})
    picked: dict[str, Any] = {}
    for key, definition in properties.items():
        if key in payload:
            value = payload[key]
            types = definition.get("type", [])
            if "integer" in ([types] if isinstance(types, str) else types) and isinstance(value, float):
                value = int(value)
            picked[key] = value
    return picked


def query_text(request: Request, name: str, longest: int, allowed: tuple[str, ...] = ()) -> str | None:
    value = request.query_params.get(name)
    if value is not None and (len(value) > longest or (allowed and value not in allowed)):
        expected = f"one of {', '.join(allowed)}" if allowed else f"at most {longest} characters"
        raise ValidationFailed(f"{name} must be {expected}")
    return value


def query_int(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18 or not low <= int(raw) <= high:
        raise ValidationFailed(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def page_of(request: Request) -> tuple[int, int]:
    """(limit, offset) of a list request: 100 items by default, at most 1000 a page."""
    limit = query_int(request, "limit", 100, 1, 1000) or 100
    offset = query_int(request, "offset", 0, 0, 1_000_000) or 0
    return limit, offset
