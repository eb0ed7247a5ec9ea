"""Control-plane errors: ``{"error": "<code>", "message": "<text>", "details": [...]}``."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from sandbox.core.errors import SandboxError
from sandbox.core.responses import JSONResponse


def render(exc: SandboxError) -> Response:
    body: dict[str, object] = {"error": exc.code, "message": exc.message}
    if exc.details:
        body["details"] = [detail.to_dict() for detail in exc.details]
    return JSONResponse(body, status_code=exc.status, headers=exc.headers)


def render_status(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    code = {404: "not_found", 405: "method_not_allowed", 500: "internal_error"}.get(status, "error")
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)
