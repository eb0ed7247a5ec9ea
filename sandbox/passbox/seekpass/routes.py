"""SEEK Pass partner API over HTTP: parse, call the backend, render. Nothing else.

Under ``/api/partner``. Every path answers with and without a ``.json`` suffix: a route
strips exactly one before matching (``JsonRoute``). A request id may be any string (``/`` and
``.`` included): it takes the rest of the path, percent-decoded, and an id that itself ends in
``.json`` is addressed with one more ``.json``.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from passbox.core.errors import SandboxError
from passbox.core.http import (
    base_url,
    header,
    is_json_media_type,
    media_type,
    parse_form,
    parse_json,
    read_body,
    read_json,
)
from passbox.core.journal import tag
from passbox.core.responses import RailsJSONResponse
from passbox.core.routing import Route
from passbox.seekpass import oauth
from passbox.seekpass.backend import SeekPassBackend
from passbox.seekpass.errors import OAuthError
from passbox.seekpass.models import READ_SCOPE, WRITE_SCOPE, Partner

PREFIX = "/api/partner"
SUFFIX = ".json"
FORM = "application/x-www-form-urlencoded"


class JsonRoute(Route):
    """A partner API route: it matches ``/x.json`` as it matches ``/x`` (the URL the client
    sees is unchanged; only the match, and so the path parameters, see the path without it)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path: str = scope["path"]
        if path.endswith(SUFFIX):
            scope = {**scope, "path": path[: -len(SUFFIX)]}
        return super().matches(scope)

    def literal(self) -> tuple[tuple[str, ...], str]:
        paths, start = super().literal()
        return tuple(variant for path in paths for variant in (path, path + SUFFIX)), start


def backend_of(request: Request) -> SeekPassBackend:
    """The SEEK Pass backend of the app serving this request."""
    backend: SeekPassBackend = request.app.state["seekpass"]  # as .seekpass, without a failed lookup first
    return backend


def authorized(request: Request, backend: SeekPassBackend, scope: str | None = None) -> Partner:
    """The partner behind the bearer token (named as the tenant in the journal)."""
    partner = backend.authorize(oauth.bearer_token(header(request.scope, b"authorization")), scope)
    tag(request.scope, tenant=partner.tenant)
    return partner


def token_params(body: bytes, kind: str) -> dict[str, str]:
    """The token request's parameters from a form or a JSON body (Rails reads both alike)."""
    if not body:
        return {}
    if kind == FORM:
        return parse_form(body)
    if is_json_media_type(kind):
        payload = parse_json(body)
        if not isinstance(payload, dict):
            raise OAuthError("A JSON token request must be an object of parameters")
        params: dict[str, str] = {}
        for key, value in payload.items():
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise OAuthError(f"The token request parameter {key!r} must be a string")
            params[key] = str(value)
        return params
    raise OAuthError(f"The token request must be {FORM} or application/json, not {kind or 'untyped'}")


async def token(request: Request) -> Response:
    backend = backend_of(request)
    try:
        form = token_params(await read_body(request, backend.settings.max_body_bytes), media_type(request))
    except OAuthError:
        raise
    except SandboxError as exc:
        raise OAuthError(exc.message, status=exc.status) from exc
    partner, issued = backend.issue_token(oauth.token_request(form, header(request.scope, b"authorization")))
    tag(request.scope, tenant=partner.tenant)
    return RailsJSONResponse(issued, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


async def create_request(request: Request) -> Response:
    backend = backend_of(request)
    partner = authorized(request, backend, WRITE_SCOPE)
    payload = await read_json(request, backend.settings.max_body_bytes)
    created, _ = backend.create_request(partner, payload, base_url(request, backend.settings.public_url))
    location = f"{PREFIX}/v2/verify/requests/{quote(created.request_id, safe='')}.json"
    return RailsJSONResponse(
        {"request_id": created.request_id, "redirect_uri": created.redirect_uri},
        status_code=201,
        headers={"Location": location},
    )


async def get_request(request: Request) -> Response:
    backend = backend_of(request)
    partner = authorized(request, backend, READ_SCOPE)
    found = backend.get_request(partner, request.path_params["request_id"])
    return RailsJSONResponse(found.to_dict())


async def webhooks(request: Request) -> Response:
    backend = backend_of(request)
    partner = authorized(request, backend)
    if request.method == "GET":
        listed = backend.list_webhooks(partner)
        shown = backend.settings.webhook_secret_on_read
        return RailsJSONResponse([hook.to_dict(with_secret=shown) for hook in listed])
    payload = await read_json(request, backend.settings.max_body_bytes)
    if request.method == "POST":
        return RailsJSONResponse(backend.create_webhook(partner, payload).to_dict(with_secret=True), status_code=201)
    updated = backend.update_webhook(partner, None, payload)
    return RailsJSONResponse(updated.to_dict(with_secret=backend.settings.webhook_secret_on_read))


async def webhook(request: Request) -> Response:
    backend = backend_of(request)
    partner = authorized(request, backend)
    webhook_id = request.path_params["webhook_id"]
    if request.method == "GET":
        found = backend.get_webhook(partner, webhook_id)
        return RailsJSONResponse(found.to_dict(with_secret=backend.settings.webhook_secret_on_read))
    if request.method == "DELETE":
        backend.delete_webhook(partner, webhook_id)
        return Response(status_code=204)
    payload = await read_json(request, backend.settings.max_body_bytes)
    updated = backend.update_webhook(partner, webhook_id, payload)
    return RailsJSONResponse(updated.to_dict(with_secret=backend.settings.webhook_secret_on_read))


async def rotate_secret(request: Request) -> Response:
    backend = backend_of(request)
    partner = authorized(request, backend)
    rotated = backend.rotate_webhook_secret(partner, request.path_params["webhook_id"])
    return RailsJSONResponse(rotated.to_dict(with_secret=True))


def routes() -> list[BaseRoute]:
    """The partner API's routes (a new table per app; the endpoints are shared functions)."""
    return [
        JsonRoute(f"{PREFIX}/v1/oauth/token", token, methods=["POST"]),
        JsonRoute(f"{PREFIX}/v2/verify/requests/digital_identity", create_request, methods=["POST"]),
        JsonRoute(f"{PREFIX}/v2/verify/requests/{{request_id:path}}", get_request, methods=["GET"]),
        JsonRoute(f"{PREFIX}/v2/webhooks", webhooks, methods=["GET", "POST", "PUT"]),
        JsonRoute(f"{PREFIX}/v2/webhooks/{{webhook_id}}", webhook, methods=["GET", "PUT", "DELETE"]),
        JsonRoute(f"{PREFIX}/v2/webhooks/{{webhook_id}}/secret", rotate_secret, methods=["PUT"]),
    ]
