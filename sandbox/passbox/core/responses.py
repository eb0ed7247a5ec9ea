"""JSON responses shared by the vendors."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

_RAILS_ESCAPES = str.maketrans(
    {"&": "\\u0026", "<": "\\u003c", ">": "\\u003e", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def compact_json(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


class JSONResponse(Response):
    """Compact JSON (no spaces), UTF-8."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return compact_json(content)


class RailsJSONResponse(JSONResponse):
    """JSON as Rails renders it: ``&``, ``<``, ``>`` (and U+2028/9) escaped as ``\\uXXXX``.

    Those characters can only occur inside JSON strings, so escaping the serialised text is
    exact; every JSON parser reads the escapes back as the original characters.
    """

    def render(self, content: Any) -> bytes:
        text = json.dumps(content, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.translate(_RAILS_ESCAPES).encode()


def laravel_json(data: Any) -> bytes:
    """JSON as PHP's json_encode writes it by default (Laravel responses, Guzzle bodies):
    compact, ``/`` escaped as ``\\/`` and non-ASCII as ``\\uXXXX``. Parsers read it back unchanged."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True, allow_nan=False).replace("/", "\\/").encode()


class LaravelJSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return laravel_json(content)
