"""The hosted VerifyPass widget: ``/auth/{widget_key}``.

GET shows the form, prefilled from the applicant token (token values win) and the URL's
prefill parameters. The form posts back to the same URL, query string included, so the
server rebuilds prefill, e-mail lock and uid from the token exactly as the GET did: the lock
is enforced on submit, not only by ``readonly`` in the browser.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passbox.core.errors import NotFound, SandboxError
from passbox.core.http import parse_form, read_body
from passbox.core.journal import tag
from passbox.core.routing import Route
from passbox.verifypass.backend import FormInvalid, VerifyPassBackend, WidgetRefusal, WidgetSession, WidgetVisit

PATH = "/auth/{widget_key}"
# The older form the vendor's own plugin code still links to: the same widget.
LEGACY_PATH = "/auth/mil/{widget_key}"


def backend_of(request: Request) -> VerifyPassBackend:
    backend: VerifyPassBackend = request.app.state.verifypass
    return backend


def problem(backend: VerifyPassBackend, exc: SandboxError) -> Response:
    if isinstance(exc, WidgetRefusal):
        heading, account = exc.heading, exc.account
    else:
        heading, account = ("Page not found" if isinstance(exc, NotFound) else "Something is wrong"), None
    return backend.core.pages.render(
        "verifypass/problem.html",
        status=exc.status,
        title=heading,
        heading=heading,
        message=exc.message,
        account=account,
    )


def form_page(
    request: Request,
    session: WidgetSession,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    backend = backend_of(request)
    shown = dict(session.prefill) if values is None else dict(values)
    if session.locked_email is not None:
        shown["email"] = session.locked_email
    action = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return backend.core.pages.render(
        "verifypass/widget.html",
        status=status,
        title=session.widget.name,
        session=session,
        widget=session.widget,
        account=session.account,
        values=shown,
        errors=errors or {},
        action=action,
        codes_left=backend.codes_left(session.widget),
        personas=list(backend.personas.items()),
    )


async def widget(request: Request) -> Response:
    backend = backend_of(request)
    pages = backend.core.pages
    try:
        session = backend.session(request.path_params["widget_key"], WidgetVisit.parse(request.query_params))
    except SandboxError as exc:
        return problem(backend, exc)
    tag(request.scope, tenant=session.account.tenant)
    if session.gate is not None:
        return pages.render(
            "verifypass/gate.html",
            status=403,
            title=session.widget.name,
            session=session,
            widget=session.widget,
            account=session.account,
        )
    if request.method == "GET":
        return form_page(request, session)

    try:
        form = parse_form(await read_body(request, backend.settings.max_body_bytes))
    except SandboxError as exc:
        return problem(backend, exc)
    try:
        outcome = backend.verify(session, form)
    except FormInvalid as exc:
        errors = {detail.field: detail.message for detail in exc.details}
        names = ("first_name", "last_name", "dob", "email", "community", "persona")
        values = {name: form.get(name, "") for name in names}
        values["outcome"] = form.get("outcome", "positive")
        return form_page(request, session, values=values, errors=errors, status=422)
    except SandboxError as exc:
        return problem(backend, exc)
    community = session.widget.community(outcome.activity.community_key) if outcome.activity else None
    return pages.render(
        "verifypass/result.html",
        title=session.widget.name,
        session=session,
        widget=session.widget,
        account=session.account,
        outcome=outcome,
        community=community,
    )


def routes() -> list[BaseRoute]:
    return [Route(PATH, widget, methods=["GET", "POST"]), Route(LEGACY_PATH, widget, methods=["GET", "POST"])]
