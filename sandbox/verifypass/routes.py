"""VerifyPass API over HTTP: the applicant token and reporting endpoints. Parse, call, render."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.core.errors import UnsupportedMediaType
from sandbox.core.http import is_json_media_type, media_type, parse_json, read_body
from sandbox.core.journal import tag
from sandbox.core.responses import LaravelJSONResponse
from sandbox.settings import Settings
from sandbox.verifypass.backend import INVALID_CREDENTIALS, VerifyPassBackend

PREFIX = "/api/v2"


def build_routes(backend: VerifyPassBackend, settings: Settings) -> list[Route]:
    limit = settings.max_body_bytes

    async def token(request: Request) -> Response:
        account = backend.require_account(request.headers.get("key"))
        tag(request.state, tenant=account.tenant)
        body = await read_body(request, limit)
        # Every field is optional: no body at all is an empty token.
        payload: object = {}
        if body.strip():
            kind = media_type(request)
            if kind and not is_json_media_type(kind):
                raise UnsupportedMediaType(f"Content-Type must be application/json, not {kind}")
            payload = parse_json(body)
        return LaravelJSONResponse({"token": backend.create_token(account, payload)})

    async def reporting(request: Request) -> Response:
        account = backend.require_account(request.headers.get("key"), INVALID_CREDENTIALS)
        tag(request.state, tenant=account.tenant)
        return LaravelJSONResponse(backend.report(account, request.query_params))

    return [
        Route(f"{PREFIX}/token", token, methods=["POST"]),
        Route(f"{PREFIX}/reporting", reporting, methods=["GET"]),
        Route(f"{PREFIX}/activity", reporting, methods=["GET"]),
    ]
