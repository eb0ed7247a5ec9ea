"""VerifyPass API over HTTP: the applicant token and reporting endpoints. Parse, call, render."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.core.errors import UnsupportedMediaType
from sandbox.core.http import is_json_media_type, media_type, parse_json, read_body
from sandbox.core.journal import tag
from sandbox.core.responses import LaravelJSONResponse
from sandbox.verifypass.backend import INVALID_CREDENTIALS, ReportFilters, VerifyPassBackend

PREFIX = "/api/v2"


def backend_of(request: Request) -> VerifyPassBackend:
    backend: VerifyPassBackend = request.app.state.verifypass
    return backend


async def token(request: Request) -> Response:
    backend = backend_of(request)
    account = backend.require_account(request.headers.get("key"))
    tag(request.state, tenant=account.tenant)
    body = await read_body(request, backend.settings.max_body_bytes)
    # Every field is optional: no body at all is an empty token.
    payload: object = {}
    if body.strip():
        kind = media_type(request)
        if kind and not is_json_media_type(kind):
            raise UnsupportedMediaType(f"Content-Type must be application/json, not {kind}")
        payload = parse_json(body)
    return LaravelJSONResponse({"token": backend.create_token(account, payload)})


async def reporting(request: Request) -> Response:
    backend = backend_of(request)
    account = backend.require_account(request.headers.get("key"), INVALID_CREDENTIALS)
    tag(request.state, tenant=account.tenant)
    return LaravelJSONResponse(backend.report(account, ReportFilters.parse(request.query_params)))


def routes() -> list[BaseRoute]:
    return [
        Route(f"{PREFIX}/token", token, methods=["POST"]),
        Route(f"{PREFIX}/reporting", reporting, methods=["GET"]),
        Route(f"{PREFIX}/activity", reporting, methods=["GET"]),
    ]
