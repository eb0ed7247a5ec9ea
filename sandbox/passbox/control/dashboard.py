"""The dashboard: ``/_sandbox/`` in a browser. Server-rendered pages over the same backends as
the control API, with forms for the actions (complete or cancel a request, redeliver a
webhook) and a link from every item to its JSON.

Every list is paginated (``?page=``, PAGE_SIZE rows, newest first). Every form carries a
CSRF token bound to the browser's admin session (or, without an admin token, to its own
cookie); the guard also refuses writes from other sites and ports.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute

from passbox.control import ADMIN_COOKIE, CSRF_COOKIE, PREFIX
from passbox.control.guard import SESSION_SECONDS, guard_of, refuse
from passbox.control.http import context_of
from passbox.control.views import activity_view, request_view
from passbox.core.clock import isoformat_z
from passbox.core.errors import SandboxError
from passbox.core.http import parse_form, read_body
from passbox.core.routing import Route

TEMPLATES = Path(__file__).resolve().parent / "templates"
PAGE_SIZE = 50
MAX_PAGE = 10_000


def page_of(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    if not raw.isascii() or not raw.isdigit() or len(raw) > 5:
        return 1
    return min(max(1, int(raw)), MAX_PAGE)


def csrf_for(request: Request) -> tuple[str, str | None]:
    """The CSRF token for this browser's forms, and a new cookie value to set (or None)."""
    guard = guard_of(request)
    binding = guard.csrf_binding(request.cookies)
    new_cookie = None
    if binding is None and guard.token is None:
        binding = new_cookie = secrets.token_urlsafe(24)
    return (guard.csrf_token(binding) if binding else ""), new_cookie


def render(request: Request, name: str, title: str, status: int = 200, **values: Any) -> Response:
    csrf, new_cookie = csrf_for(request)
    response = context_of(request).core.pages.render(
        f"dashboard/{name}.html",
        status=status,
        title=title,
        section=name,
        notice=request.query_params.get("notice"),
        csrf=csrf,
        **values,
    )
    # Same-origin referrers, so the browser sends this page's Origin with its forms (with
    # no-referrer it sends "Origin: null", which the guard refuses like any foreign origin).
    response.headers["Referrer-Policy"] = "same-origin"
    if new_cookie is not None:
        response.set_cookie(CSRF_COOKIE, new_cookie, path=PREFIX, httponly=True, samesite="strict")
    return response


def paged(request: Request, page: int, shown: int) -> dict[str, Any]:
    """What the page footer needs: this page, and the previous and next ones (if any)."""
    return {"page": page, "previous": page - 1 if page > 1 else None, "next": page + 1 if shown == PAGE_SIZE else None}


def back(to: str, notice: str) -> Response:
    return RedirectResponse(f"{PREFIX}/{to}?{urlencode({'notice': notice[:300]})}", status_code=303)


async def checked_form(request: Request) -> dict[str, str] | None:
    """The posted form, or None when its CSRF token is missing or not this browser's."""
    form = parse_form(await read_body(request, context_of(request).settings.max_body_bytes))
    guard = guard_of(request)
    binding = guard.csrf_binding(request.cookies)
    given = form.get("csrf", "")
    if binding is None or not hmac.compare_digest(given.encode(), guard.csrf_token(binding).encode()):
        return None
    return form


def csrf_refused() -> Response:
    return refuse(403, "forbidden", "This form is not from this dashboard (its CSRF token is missing or stale)")


async def overview(request: Request) -> Response:
    context = context_of(request)
    seekpass, verifypass, core = context.seekpass, context.verifypass, context.core
    partners = [
        (partner, seekpass.count_requests(partner.client_id), len(seekpass.list_webhooks(partner)))
        for partner in seekpass.partners.values()
    ]
    accounts = [
        (account, verifypass.webhook_url(account), verifypass.count_activity(account.id))
        for account in verifypass.directory.accounts.values()
    ]
    statuses: dict[str, int] = {}
    for delivery in core.outbox.list(newest_first=True, limit=1000):
        statuses[delivery.status] = statuses.get(delivery.status, 0) + 1
    return render(
        request,
        "overview",
        "passbox dashboard",
        partners=partners,
        accounts=accounts,
        widgets=verifypass.directory.widgets,
        statuses=statuses,
        clock={"now": isoformat_z(core.clock.now()), "frozen": core.clock.is_frozen},
        faults=len(context.faults.rules) + len(core.outbox.faults),
        seed=core.rand.seed,
    )


async def seekpass_page(request: Request) -> Response:
    context = context_of(request)
    page = page_of(request)
    found = context.seekpass.recent_requests(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    personas = [(key, person.full_name) for key, person in context.core.personas.items()]
    requests = [request_view(req) for req in found]
    return render(
        request,
        "seekpass",
        "SEEK Pass requests",
        requests=requests,
        personas=personas,
        **paged(request, page, len(found)),
    )


async def seekpass_action(request: Request) -> Response:
    seekpass = context_of(request).seekpass
    client_id, request_id = request.path_params["client_id"], request.path_params["request_id"]
    action = request.path_params["action"]
    form = await checked_form(request)
    if form is None:
        return csrf_refused()
    try:
        if action == "complete":
            document = form.get("document_type") or "passport"
            if document not in ("passport", "drivers_licence"):
                return back("ui/seekpass", "Choose a passport or a driver's licence")
            seekpass.control_complete(client_id, request_id, document, form.get("persona") or None)  # type: ignore[arg-type]
        elif action == "cancel":
            seekpass.control_cancel(client_id, request_id)
        else:
            return back("ui/seekpass", f"Unknown action {action}")
    except SandboxError as exc:
        return back("ui/seekpass", exc.message)
    verb = "verified" if action == "complete" else "canceled"
    return back("ui/seekpass", f"Request {request_id} {verb}")


async def verifypass_page(request: Request) -> Response:
    context = context_of(request)
    page = page_of(request)
    found = context.verifypass.recent_activity(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    activity = [activity_view(a) for a in found]
    return render(request, "verifypass", "VerifyPass activity", activity=activity, **paged(request, page, len(found)))


async def deliveries_page(request: Request) -> Response:
    context = context_of(request)
    page = page_of(request)
    found = context.core.outbox.list(newest_first=True, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    deliveries = [delivery.to_dict() for delivery in found]
    return render(
        request, "deliveries", "Webhook deliveries", deliveries=deliveries, **paged(request, page, len(found))
    )


async def redeliver(request: Request) -> Response:
    context = context_of(request)
    if await checked_form(request) is None:
        return csrf_refused()
    delivery_id = request.path_params["delivery_id"]
    if context.core.outbox.redeliver(delivery_id) is None:
        return back("ui/deliveries", f"No delivery {delivery_id}")
    await context.settle()
    return back("ui/deliveries", f"Delivery {delivery_id[:8]} sent again")


async def journal_page(request: Request) -> Response:
    context = context_of(request)
    page = page_of(request)
    found = context.journal.list(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    entries = [entry.to_dict() for entry in found]
    return render(
        request,
        "journal",
        "Request journal",
        entries=entries,
        capacity=context.journal.size,
        **paged(request, page, len(found)),
    )


async def login(request: Request) -> Response:
    guard = guard_of(request)
    if request.method == "GET" or guard.token is None:
        return render(request, "login", "Admin token")
    address = request.client.host if request.client else "unknown"
    wait = guard.throttled(address)
    if wait is not None:
        response = render(
            request, "login", "Admin token", status=429, error="Too many wrong tokens: wait a minute and try again."
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    form = parse_form(await read_body(request, 4096))
    session_id = guard.login(form.get("token", ""), address)
    if session_id is None:
        return render(request, "login", "Admin token", status=401, error="That is not the admin token.")
    response = RedirectResponse(f"{PREFIX}/", status_code=303)
    response.set_cookie(
        ADMIN_COOKIE, session_id, path=PREFIX, httponly=True, samesite="strict", max_age=SESSION_SECONDS
    )
    return response


# Live lists without a full reload: every few seconds the page fetches itself and swaps in the
# new table (unless a form in it has the focus). A file, so the CSP can forbid inline script.
REFRESH_JS = """(function () {
  var every = 3000;
  function refresh() {
    var table = document.querySelector("[data-refresh]");
    if (!table || (document.activeElement && table.contains(document.activeElement))) return;
    fetch(window.location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-refresh]");
        if (fresh && fresh.innerHTML !== table.innerHTML) {
          table.innerHTML = fresh.innerHTML;
          table.dispatchEvent(new Event("refreshed"));
        }
      })
      .catch(function () {});
  }
  setInterval(refresh, every);
})();
"""


async def refresh_js(request: Request) -> Response:
    return Response(REFRESH_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


def routes() -> list[BaseRoute]:
    return [
        Route(f"{PREFIX}/ui/refresh.js", refresh_js, methods=["GET"]),
        Route(f"{PREFIX}/", overview, methods=["GET"]),
        Route(f"{PREFIX}/login", login, methods=["GET", "POST"]),
        Route(f"{PREFIX}/ui/seekpass", seekpass_page, methods=["GET"]),
        Route(f"{PREFIX}/ui/seekpass/{{client_id}}/{{request_id:path}}/{{action}}", seekpass_action, methods=["POST"]),
        Route(f"{PREFIX}/ui/verifypass", verifypass_page, methods=["GET"]),
        Route(f"{PREFIX}/ui/deliveries", deliveries_page, methods=["GET"]),
        Route(f"{PREFIX}/ui/deliveries/{{delivery_id}}/redeliver", redeliver, methods=["POST"]),
        Route(f"{PREFIX}/ui/requests", journal_page, methods=["GET"]),
    ]


def is_dashboard(path: str) -> bool:
    """Browser pages (not API operations): kept out of the spec and the drift check."""
    return path in (f"{PREFIX}/", f"{PREFIX}/login") or path.startswith(f"{PREFIX}/ui/")
