"""VerifyPass API over HTTP: the applicant token and reporting endpoints. Parse, call, render."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passbox.core.errors import BadRequest, UnsupportedMediaType
from passbox.core.http import header, is_json_media_type, media_type, parse_form, parse_json, read_body
from passbox.core.journal import tag
from passbox.core.responses import LaravelJSONResponse
from passbox.core.routing import Route
from passbox.verifypass.backend import INVALID_CREDENTIALS, ReportFilters, VerifyPassBackend, VerifyPassError

PREFIX = "/api/v2"
FORM = "application/x-www-form-urlencoded"


def backend_of(request: Request) -> VerifyPassBackend:
    backend: VerifyPassBackend = request.app.state["verifypass"]  # as .verifypass, without a failed lookup first
    return backend


async def token(request: Request) -> Response:
    backend = backend_of(request)
    account = backend.require_account(header(request.scope, b"key"))
    tag(request.scope, tenant=account.tenant)
    body = await read_body(request, backend.settings.max_body_bytes)
    return LaravelJSONResponse({"token": backend.create_token(account, token_input(body, media_type(request)))})


BOOLEANS = {"1": True, "true": True, "on": True, "yes": True, "0": False, "false": False, "off": False, "no": False}


def token_input(body: bytes, kind: str) -> object:
    """The token request's fields from JSON or a form, as Laravel's input() reads either; every
    field is optional, so no body at all is an empty token."""
    if not body.strip():
        return {}
    if kind == FORM:
        try:
            fields: dict[str, object] = dict(parse_form(body))
        except BadRequest as exc:
            raise VerifyPassError("The request body is not a valid form.", status=400) from exc
        fields = {name: value for name, value in fields.items() if value != ""}  # as Laravel: "" is null
        lock = fields.get("lock_email")
        if isinstance(lock, str) and lock.strip().lower() in BOOLEANS:
            fields["lock_email"] = BOOLEANS[lock.strip().lower()]  # a form has no booleans, only "1"/"true"...
        return fields
    if kind and not is_json_media_type(kind):
        raise UnsupportedMediaType(f"Content-Type must be application/json or {FORM}, not {kind}")
    return parse_json(body)


async def reporting(request: Request) -> Response:
    backend = backend_of(request)
    account = backend.require_account(header(request.scope, b"key"), INVALID_CREDENTIALS)
    tag(request.scope, tenant=account.tenant)
    return LaravelJSONResponse(backend.report(account, ReportFilters.parse(request.query_params)))


def routes() -> list[BaseRoute]:
    return [
        Route(f"{PREFIX}/token", token, methods=["POST"]),
        Route(f"{PREFIX}/reporting", reporting, methods=["GET"]),
        Route(f"{PREFIX}/activity", reporting, methods=["GET"]),
    ]
