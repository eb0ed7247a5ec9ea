"""The hosted SEEK Pass app page a redirect URI opens.

``GET /partner/verify/digital_identity`` carries its parameters in the URL fragment, which
browsers never send: a few lines of script move ``clientId`` and ``content`` into the query
and reload. With them in the query (the plain, script-free path a test can drive) the page
shows the partner and lets the user choose a credential, then verify or cancel by a form
POST. Verifying or canceling redirects to the callback URL with ``request_id`` added.

The first browser to open a link owns it (a cookie identifies the browser), as the vendor
binds a request to the user who signs in first.
"""

from __future__ import annotations

from typing import Literal, cast

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from passbox.core.errors import SandboxError, ValidationFailed
from passbox.core.http import parse_form, read_body
from passbox.core.journal import tag
from passbox.core.routing import Route
from passbox.seekpass.backend import (
    APP_PATH,
    SeekPassBackend,
    SessionFinished,
    SessionFinishedElsewhere,
    SessionLeftIncomplete,
    SessionNotFound,
    SessionOwnedByOther,
)
from passbox.seekpass.models import DOCUMENT_LABELS, DOCUMENT_TYPES, VerifyRequest, tenant_of

USER_COOKIE = "passbox_seekpass_user"


def backend_of(request: Request) -> SeekPassBackend:
    backend: SeekPassBackend = request.app.state.seekpass
    return backend


def user_of(request: Request) -> tuple[str, bool]:
    """The browser's user id, and whether it is new (so the cookie must be set)."""
    current = request.cookies.get(USER_COOKIE, "")
    if current.isalnum() and 16 <= len(current) <= 64:
        return current, False
    return backend_of(request).users.alnum(32), True


def with_user(response: Response, user: str, new: bool) -> Response:
    if new:
        response.set_cookie(USER_COOKIE, user, path=APP_PATH, httponly=True, samesite="lax")
    return response


def session_page(
    backend: SeekPassBackend,
    request: VerifyRequest,
    *,
    status: int = 200,
    error: str | None = None,
    chosen: str | None = None,
) -> Response:
    return backend.core.pages.render(
        "seekpass/session.html",
        status=status,
        title=f"Verify with SEEK Pass for {request.partner_name}",
        request=request,
        documents=[(value, DOCUMENT_LABELS[value]) for value in DOCUMENT_TYPES],
        chosen=chosen or DOCUMENT_TYPES[0],
        personas=[(key, person.full_name) for key, person in backend.personas.items()],
        error=error,
    )


def done_or_back(backend: SeekPassBackend, request: VerifyRequest) -> Response:
    """Where the app sends a user whose request is finished: the callback, or a done page."""
    location = backend.callback_location(request)
    if location is not None:
        return RedirectResponse(location, status_code=303)
    return backend.core.pages.render("seekpass/done.html", title="All done", request=request)


HEADINGS: tuple[tuple[type[SandboxError], str], ...] = (
    (SessionNotFound, "This link is not valid"),
    (SessionFinished, "This request is already finished"),
    (SessionOwnedByOther, "This link belongs to someone else"),
    (SessionLeftIncomplete, "This request stays incomplete"),
)


def problem_page(backend: SeekPassBackend, exc: SandboxError) -> Response:
    if isinstance(exc, SessionFinishedElsewhere):
        return done_or_back(backend, exc.request)
    request = exc.request if isinstance(exc, SessionFinished | SessionLeftIncomplete) else None
    heading = next((text for kind, text in HEADINGS if isinstance(exc, kind)), "Something is wrong")
    return backend.core.pages.render(
        "seekpass/problem.html",
        status=exc.status,
        title=heading,
        heading=heading,
        message=exc.message,
        request=request,
    )


async def app_page(request: Request) -> Response:
    backend = backend_of(request)
    client_id = request.query_params.get("clientId")
    content = request.query_params.get("content")
    if not client_id or not content:
        # The parameters are in the fragment: let the browser move them into the query.
        return backend.core.pages.render("seekpass/bootstrap.html", title="SEEK Pass")
    user, new = user_of(request)
    tag(request.scope, tenant=tenant_of(client_id))
    try:
        found = backend.open_session(client_id, content, user)
    except SandboxError as exc:
        return with_user(problem_page(backend, exc), user, new)
    return with_user(session_page(backend, found), user, new)


async def app_submit(request: Request) -> Response:
    backend = backend_of(request)
    user, new = user_of(request)
    try:
        form = parse_form(await read_body(request, backend.settings.max_body_bytes))
        decision = form.get("decision")
        document_type = form.get("document_type") or None
        persona = form.get("persona") or None
        if decision not in ("verify", "cancel", "leave"):
            raise ValidationFailed("Choose Verify or Cancel")
        if document_type is not None and document_type not in DOCUMENT_TYPES:
            raise ValidationFailed("Choose a passport or a driver's licence")
        client_id, content = form.get("clientId", ""), form.get("content", "")
        tag(request.scope, tenant=tenant_of(client_id))
        try:
            finished = backend.finish_session(
                client_id,
                content,
                user,
                cast(Literal["verify", "cancel", "leave"], decision),
                document_type,
                persona,
            )
        except ValidationFailed as exc:
            current = backend.open_session(client_id, content, user)
            return with_user(session_page(backend, current, status=exc.status, error=exc.message), user, new)
    except SandboxError as exc:
        return with_user(problem_page(backend, exc), user, new)
    if decision == "leave":
        page = backend.core.pages.render("seekpass/left.html", title="You left", request=finished)
        return with_user(page, user, new)
    return with_user(done_or_back(backend, finished), user, new)


async def app_endpoint(request: Request) -> Response:
    if request.method == "POST":
        return await app_submit(request)
    return await app_page(request)


# Moves the redirect URI's fragment into the query (browsers never send fragments). Served as a
# file so the pages' Content-Security-Policy can forbid inline scripts. A URI copied from raw JSON
# may still hold Rails' "\u0026" for "&" (or "%5Cu0026" once the browser escaped it): undo that.
BOOTSTRAP_JS = """(function () {
  var hash = window.location.hash.slice(1).replace(/(%5C|\\\\)u0026/gi, "&");
  var params = new URLSearchParams(hash);
  if (params.get("clientId") && params.get("content")) {
    window.location.replace(window.location.pathname + "?" + params.toString());
  } else {
    document.getElementById("no-link").hidden = false;
  }
})();
"""


async def bootstrap_js(request: Request) -> Response:
    return Response(BOOTSTRAP_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


def routes() -> list[BaseRoute]:
    return [
        Route(APP_PATH, app_endpoint, methods=["GET", "POST"]),
        Route("/partner/verify/bootstrap.js", bootstrap_js, methods=["GET"]),
    ]
