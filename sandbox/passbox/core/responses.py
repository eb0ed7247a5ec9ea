"""JSON responses shared by the vendors."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from starlette.responses import Response

# msgspec writes what json.dumps(separators=(",", ":"), ensure_ascii=False) writes, several
# times faster; the standard library remains for what msgspec would write differently
# (NaN, which JSON cannot hold, and anything msgspec does not know how to encode).
_ENCODE = msgspec.json.Encoder().encode

# Each of these characters, as its UTF-8 bytes, and its escape. In UTF-8 no character's bytes
# occur inside another's, so replacing the bytes replaces exactly these characters.
_RAILS_ESCAPES = tuple((character.encode(), f"\\u{ord(character):04x}".encode()) for character in "&<>\u2028\u2029")


def compact_json(data: Any) -> bytes:
    try:
        return _ENCODE(data)
    except (TypeError, msgspec.EncodeError):
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


class JSONResponse(Response):
    """Compact JSON (no spaces), UTF-8."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return compact_json(content)


def rails_json(content: Any) -> bytes:
    """JSON as Rails renders it: ``&``, ``<``, ``>`` (and U+2028/9) escaped as ``\\uXXXX``.

    Those characters can only occur inside JSON strings, so escaping the serialised text is
    exact; every JSON parser reads the escapes back as the original characters.
    """
    data = compact_json(content)
    for raw, escaped in _RAILS_ESCAPES:
        if raw in data:
            data = data.replace(raw, escaped)
    return data


class RailsJSONResponse(JSONResponse):
    """JSON as Rails renders it (``rails_json``)."""

    def render(self, content: Any) -> bytes:
        return rails_json(content)


def laravel_json(data: Any) -> bytes:
    """JSON as PHP's json_encode writes it by default (Laravel responses, Guzzle bodies):
    compact, ``/`` escaped as ``\\/`` and non-ASCII as ``\\uXXXX``. Parsers read it back unchanged."""
    encoded = compact_json(data)
    if not encoded.isascii():
        encoded = json.dumps(data, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()
    return encoded.replace(b"/", b"\\/")


class LaravelJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return laravel_json(content)
