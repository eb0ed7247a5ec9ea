"""VerifyPass errors and their one renderer: ``{"error": "<message>"}``.

The vendor's documented strings (``Invalid API key.``, ``Invalid auth credentials.``,
``E-mail appears to be invalid.``) are kept exactly; the sandbox's own errors are worded in
the same style (Laravel's validation sentences).
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from passbox.core.errors import BadRequest, PayloadTooLarge, SandboxError, UnsupportedMediaType
from passbox.core.responses import LaravelJSONResponse

# Core errors (raised while reading a body) in the vendor's words.
CORE_MESSAGES: dict[type[SandboxError], str] = {
    PayloadTooLarge: "The request body is too large.",
    UnsupportedMediaType: "The Content-Type must be application/json or application/x-www-form-urlencoded.",
    BadRequest: "The request body is not valid JSON.",
}


def render(exc: SandboxError) -> Response:
    message = next((text for kind, text in CORE_MESSAGES.items() if type(exc) is kind), exc.message)
    return LaravelJSONResponse({"error": message}, status_code=exc.status, headers=exc.headers)


def render_status(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return LaravelJSONResponse({"error": message}, status_code=status, headers=headers)
