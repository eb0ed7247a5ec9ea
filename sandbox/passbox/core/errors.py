"""Error base classes. Backends raise these; each vendor renders them in its own envelope.

Errors are data: a status, a machine code, a human message, optional field details and
headers. The HTTP layer of each vendor maps them to the vendor's shape in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import msgspec


class FieldError(msgspec.Struct, frozen=True):
    """One problem with one field of a request: ``field`` is a dotted path (``a.b[0].c``).

    ``kind`` names the rule that failed (``required``, ``type``, ``maxLength``, ``format``,
    ``pattern``, ...) and ``limit`` its parameter (the type, the length, the format), so a
    vendor can word the message in its own style.
    """

    field: str
    message: str
    kind: str = ""
    limit: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class SandboxError(Exception):
    """Base of every error the sandbox answers with on purpose."""

    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.details = tuple(details)
        self.headers = dict(headers or {})


ROUTING_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    429: "rate_limited",
    431: "request_header_fields_too_large",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def error_body(exc: SandboxError) -> dict[str, object]:
    """The ``{"error": <code>, "message": ..., "details": [...]}`` envelope (details only when any)."""
    body: dict[str, object] = {"error": exc.code, "message": exc.message}
    if exc.details:
        body["details"] = [detail.to_dict() for detail in exc.details]
    return body


def routing_error_body(status: int, message: str) -> dict[str, object]:
    """The same envelope for errors raised by routing itself (unknown path, wrong method)."""
    return {"error": ROUTING_CODES.get(status, "error"), "message": message}


class BadRequest(SandboxError):
    status = 400
    code = "bad_request"


class NotFound(SandboxError):
    status = 404
    code = "not_found"


class Conflict(SandboxError):
    status = 409
    code = "conflict"


class ValidationFailed(SandboxError):
    status = 422
    code = "validation_error"


class PayloadTooLarge(SandboxError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(SandboxError):
    status = 415
    code = "unsupported_media_type"
