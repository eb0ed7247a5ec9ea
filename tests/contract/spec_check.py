"""Validate real HTTP traffic against the specs with openapi-core.

``ValidatingTransport`` / ``AsyncValidatingTransport`` wrap any httpx transport: every request
a client sends and every response it receives on a vendor path is checked against that
vendor's spec, and a violation fails the call with a SpecViolation naming the problem. Webhook
deliveries can be checked against the spec's ``webhooks`` section with ``check_webhook``.
Each checked exchange is recorded as (spec, operationId, status), so tests can see which
operations were exercised.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import parse_qs

import httpx
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from passbox.core.resources import load_yaml, specs_dir

PREFIXES = {"/api/partner/": "seekpass", "/api/v2/": "verifypass", "/_sandbox/": "sandbox"}


class SpecViolation(AssertionError):
    """A request or response that the spec does not allow."""


@cache
def load_spec(name: str) -> OpenAPI:
    document = load_yaml((specs_dir() / f"{name}.openapi.yaml").read_bytes())
    assert isinstance(document, dict)
    return OpenAPI.from_dict(document)


def spec_name_for(path: str) -> str | None:
    return next((name for prefix, name in PREFIXES.items() if path.startswith(prefix)), None)


class _OpenAPIRequest:
    def __init__(self, request: httpx.Request) -> None:
        self._request = request
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qs(request.url.query.decode(), keep_blank_values=True)),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return f"{self._request.url.scheme}://{self._request.url.netloc.decode()}"

    @property
    def path(self) -> str:
        return self._request.url.path

    @property
    def method(self) -> str:
        return self._request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self._request.content or None

    @property
    def content_type(self) -> str:
        return self._request.headers.get("content-type", "").lower()


class _OpenAPIWebhookRequest(_OpenAPIRequest):
    def __init__(self, request: httpx.Request, name: str) -> None:
        super().__init__(request)
        self.name = name


class _OpenAPIResponse:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def data(self) -> bytes:
        return self._response.content

    @property
    def status_code(self) -> int:
        return self._response.status_code

    @property
    def content_type(self) -> str:
        return self._response.headers.get("content-type", "")

    @property
    def headers(self) -> Headers:
        return Headers(dict(self._response.headers))


def _describe(errors: list[Exception]) -> str:
    lines = []
    for error in errors:
        line = f"{type(error).__name__}: {error}"
        cause = error.__cause__
        while cause is not None:
            line += f" <- {type(cause).__name__}: {cause}"
            details = getattr(cause, "schema_errors", None)
            if details:
                line += " [" + "; ".join(str(getattr(d, "message", d)) for d in details) + "]"
            cause = cause.__cause__
        lines.append(line)
    return "\n  ".join(lines)


@dataclass
class Exchange:
    spec: str
    method: str
    path: str
    status: int
    operation_id: str | None


@dataclass
class ContractChecker:
    """Checks exchanges against the specs and remembers what it checked."""

    exchanges: list[Exchange] = field(default_factory=list)
    allow_invalid: bool = False

    @contextmanager
    def invalid_on_purpose(self) -> Iterator[None]:
        """Inside this block a test may send requests the spec forbids (to see them refused);
        the server must still refuse them, and its answers are still checked."""
        self.allow_invalid = True
        try:
            yield
        finally:
            self.allow_invalid = False

    def check(self, request: httpx.Request, response: httpx.Response) -> None:
        name = spec_name_for(request.url.path)
        if name is None:
            return  # hosted pages and other non-API paths are not in any spec
        spec = load_spec(name)
        wrapped = _OpenAPIRequest(request)
        request_errors = list(spec.iter_request_errors(wrapped))
        # A request the client sent must be allowed by the spec, even if the server refused it.
        if request_errors and response.status_code < 400:
            raise SpecViolation(
                f"{request.method} {request.url.path}: the spec does not allow this request, yet the server "
                f"answered {response.status_code}:\n  {_describe(request_errors)}"
            )
        if request_errors and not self.allow_invalid:
            raise SpecViolation(
                f"{request.method} {request.url.path}: the spec does not allow this request:\n"
                f"  {_describe(request_errors)}"
            )
        response_errors = list(spec.iter_response_errors(wrapped, _OpenAPIResponse(response)))
        if response_errors:
            raise SpecViolation(
                f"{request.method} {request.url.path} -> {response.status_code}: the spec does not allow this "
                f"response:\n  {_describe(response_errors)}\n  body: {response.text[:500]}"
            )
        self.exchanges.append(
            Exchange(name, request.method, request.url.path, response.status_code, _operation_id(spec, wrapped))
        )

    def check_webhook(self, spec_name: str, event_name: str, request: httpx.Request) -> None:
        """A delivery the sandbox sent, against ``webhooks.<event_name>`` of the spec."""
        errors = list(load_spec(spec_name).iter_request_errors(_OpenAPIWebhookRequest(request, event_name)))
        if errors:
            raise SpecViolation(f"webhook {event_name} does not match the spec:\n  {_describe(errors)}")

    def operations(self, spec: str) -> set[str]:
        return {e.operation_id for e in self.exchanges if e.spec == spec and e.operation_id}


def _operation_id(spec: OpenAPI, request: _OpenAPIRequest) -> str | None:
    try:
        result = spec.request_validator._find_path(request)  # type: ignore[attr-defined]
    except Exception:
        return None
    operation = getattr(result, "operation", None)
    if operation is None:
        return None
    value = operation.get("operationId") if hasattr(operation, "get") else None
    return str(value) if value else None


class ValidatingTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, checker: ContractChecker) -> None:
        self._inner = inner
        self.checker = checker

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        response = self._inner.handle_request(request)
        response.read()
        self.checker.check(request, response)
        return response

    def close(self) -> None:
        self._inner.close()


class AsyncValidatingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, checker: ContractChecker) -> None:
        self._inner = inner
        self.checker = checker

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        response = await self._inner.handle_async_request(request)
        await response.aread()
        self.checker.check(request, response)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
