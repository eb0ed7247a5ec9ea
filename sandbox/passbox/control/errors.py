"""Control-plane errors: ``{"error": "<code>", "message": "<text>", "details": [...]}``."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from passbox.core.errors import SandboxError, error_body, routing_error_body
from passbox.core.responses import JSONResponse


def render(exc: SandboxError) -> Response:
    return JSONResponse(error_body(exc), status_code=exc.status, headers=exc.headers)


def render_status(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(routing_error_body(status, message), status_code=status, headers=headers)
