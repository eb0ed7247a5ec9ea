"""SEEK Pass errors and their one renderer.

Partner API errors: ``{"error": "<code>", "message": "<text>", "details": [...]}`` (details
only for validation). OAuth token endpoint errors follow RFC 6749:
``{"error": "<code>", "error_description": "<text>"}``. Bearer failures carry the RFC 6750
``WWW-Authenticate`` challenge.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from passbox.core.errors import SandboxError, error_body, routing_error_body
from passbox.core.responses import RailsJSONResponse

REALM = "SEEK Pass"


class OAuthError(SandboxError):
    """An RFC 6749 token endpoint error."""

    status = 400
    code = "invalid_request"


class InvalidClient(OAuthError):
    status = 401
    code = "invalid_client"


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class InvalidToken(SandboxError):
    status = 401
    code = "invalid_token"

    def __init__(self, message: str) -> None:
        challenge = f'Bearer realm="{REALM}", error="invalid_token", error_description="{_quote(message)}"'
        super().__init__(message, headers={"WWW-Authenticate": challenge})


class InsufficientScope(SandboxError):
    status = 403
    code = "insufficient_scope"

    def __init__(self, scope: str) -> None:
        message = f"This operation needs the {scope} scope"
        challenge = (
            f'Bearer realm="{REALM}", error="insufficient_scope", '
            f'error_description="{_quote(message)}", scope="{scope}"'
        )
        super().__init__(message, headers={"WWW-Authenticate": challenge})


def render(exc: SandboxError) -> Response:
    if isinstance(exc, OAuthError):
        body: dict[str, object] = {"error": exc.code, "error_description": exc.message}
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache", **exc.headers}
        return RailsJSONResponse(body, status_code=exc.status, headers=headers)
    return RailsJSONResponse(error_body(exc), status_code=exc.status, headers=exc.headers)


def render_status(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """Errors raised by routing itself (unknown path, wrong method)."""
    return RailsJSONResponse(routing_error_body(status, message), status_code=status, headers=headers)
