"""The exception hierarchy both reference clients raise.

::

    ClientError                      anything the client raises on purpose
    ├── TransportError               no HTTP response (connection refused, timeout, ...)
    ├── WebhookVerificationError     a webhook failed verification (message says why)
    └── APIError                     the API answered with an error status; .response is attached
        ├── AuthenticationError      401 (bad credentials, bad or expired token, bad API key)
        │   └── PermissionDeniedError  403 (e.g. a token without the scope)
        ├── ValidationError          400, 413, 415, 422: the request was refused; .message is the vendor's
        ├── NotFoundError            404
        ├── ConflictError            409
        ├── RateLimitedError         429; .retry_after in seconds when the server said
        └── ServerError              5xx

Each client module re-exports these names, so ``except clients.seekpass.NotFoundError`` reads
naturally; ``.vendor`` says which API raised.
"""

from __future__ import annotations

from typing import Any

import httpx


class ClientError(Exception):
    """Base of every error a reference client raises."""

    def __init__(self, message: str, *, vendor: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.vendor = vendor


class TransportError(ClientError):
    """The request got no HTTP response (connection refused, DNS, timeout...)."""


class WebhookVerificationError(ClientError):
    """A webhook failed verification; the message says which check failed."""


class APIError(ClientError):
    """The API answered with an error status. ``response`` is the httpx response."""

    def __init__(self, message: str, *, response: httpx.Response, code: str | None = None, vendor: str = "") -> None:
        super().__init__(message, vendor=vendor)
        self.response = response
        self.status_code = response.status_code
        self.code = code
        self.body = _json_or_none(response)

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        return f"{self.status_code}{code}: {self.message}"


class AuthenticationError(APIError):
    """401: credentials, token or API key refused."""


class PermissionDeniedError(AuthenticationError):
    """403: authenticated, but not allowed (e.g. a missing scope)."""


class ValidationError(APIError):
    """400/413/415/422: the request was refused; ``message`` is the vendor's own wording."""

    @property
    def details(self) -> list[dict[str, Any]]:
        """Per-field problems when the API lists them (SEEK Pass does)."""
        details = self.body.get("details") if isinstance(self.body, dict) else None
        return [item for item in details if isinstance(item, dict)] if isinstance(details, list) else []


class NotFoundError(APIError):
    """404."""


class ConflictError(APIError):
    """409."""


class RateLimitedError(APIError):
    """429. ``retry_after`` is the server's Retry-After in seconds, when given."""

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.response.headers.get("retry-after"))


class ServerError(APIError):
    """5xx."""


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:  # not JSON, or not UTF-8
        return None


def parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)


def error_for(response: httpx.Response, vendor: str) -> APIError:
    """The APIError subclass for an error response, with the vendor's message and code."""
    body = _json_or_none(response)
    code: str | None = None
    message = response.reason_phrase or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        error = body.get("error")
        detail = body.get("message") or body.get("error_description")
        if isinstance(detail, str) and detail:
            message = detail
            code = error if isinstance(error, str) else None
        elif isinstance(error, str) and error:
            message = error
    status = response.status_code
    kind: type[APIError]
    if status == 401:
        kind = AuthenticationError
    elif status == 403:
        kind = PermissionDeniedError
    elif status == 404:
        kind = NotFoundError
    elif status == 409:
        kind = ConflictError
    elif status == 429:
        kind = RateLimitedError
    elif status >= 500:
        kind = ServerError
    elif status in (400, 413, 415, 422):
        kind = ValidationError
    else:
        kind = APIError
    return kind(message, response=response, code=code, vendor=vendor)
