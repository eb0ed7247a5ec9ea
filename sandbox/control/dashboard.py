"""The dashboard: ``/_sandbox/`` in a browser. Server-rendered pages over the same backends as
the control API, with forms for the actions (complete or cancel a request, redeliver a
webhook) and a link from every item to its JSON."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sandbox.control import ADMIN_COOKIE, PREFIX
from sandbox.control.context import ControlContext
from sandbox.control.views import activity_view, request_view
from sandbox.core.clock import isoformat_z
from sandbox.core.errors import SandboxError
from sandbox.core.http import parse_form, read_body

TEMPLATES = Path(__file__).resolve().parent / "templates"


def build_routes(context: ControlContext) -> list[Route]:
    pages = context.core.pages
    seekpass, verifypass, core = context.seekpass, context.verifypass, context.core

    def render(name: str, title: str, request: Request, status: int = 200, **values: Any) -> Response:
        return pages.render(
            f"dashboard/{name}.html",
            status=status,
            title=title,
            section=name,
            notice=request.query_params.get("notice"),
            **values,
        )

    def back(to: str, notice: str) -> Response:
        return RedirectResponse(f"{PREFIX}/{to}?{urlencode({'notice': notice})}", status_code=303)

    def newest_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Oldest first by time (stable, so insertion order breaks ties), then reversed.
        return sorted(items, key=lambda item: item["created_at"])[::-1]

    async def overview(request: Request) -> Response:
        partners = [
            (partner, seekpass.count_requests(partner.client_id), len(seekpass.list_webhooks(partner)))
            for partner in seekpass.partners.values()
        ]
        accounts = [
            (account, verifypass.webhook_url(account), len(verifypass.activity(account.id)))
            for account in verifypass.directory.accounts.values()
        ]
        statuses: dict[str, int] = {}
        for delivery in core.outbox.list():
            statuses[delivery.status] = statuses.get(delivery.status, 0) + 1
        return render(
            "overview",
            "passbox dashboard",
            request,
            partners=partners,
            accounts=accounts,
            widgets=verifypass.directory.widgets,
            statuses=statuses,
            clock={"now": isoformat_z(core.clock.now()), "frozen": core.clock.is_frozen},
            faults=len(context.faults.rules) + len(core.outbox.faults),
            seed=core.rand.seed,
        )

    async def seekpass_page(request: Request) -> Response:
        requests = newest_first([request_view(req) for cid in seekpass.partners for req in seekpass.list_requests(cid)])
        personas = [(key, person.full_name) for key, person in core.personas.items()]
        return render("seekpass", "SEEK Pass requests", request, requests=requests, personas=personas)

    async def seekpass_action(request: Request) -> Response:
        client_id, request_id = request.path_params["client_id"], request.path_params["request_id"]
        action = request.path_params["action"]
        form = parse_form(await read_body(request, context.settings.max_body_bytes))
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
        activity = newest_first(
            [activity_view(a) for account in verifypass.directory.accounts for a in verifypass.activity(account)]
        )
        return render("verifypass", "VerifyPass activity", request, activity=activity)

    async def deliveries_page(request: Request) -> Response:
        deliveries = [delivery.to_dict() for delivery in core.outbox.list(newest_first=True)]
        return render("deliveries", "Webhook deliveries", request, deliveries=deliveries)

    async def redeliver(request: Request) -> Response:
        delivery_id = request.path_params["delivery_id"]
        if core.outbox.redeliver(delivery_id) is None:
            return back("ui/deliveries", f"No delivery {delivery_id}")
        await context.settle()
        return back("ui/deliveries", f"Delivery {delivery_id[:8]} sent again")

    async def journal_page(request: Request) -> Response:
        entries = [entry.to_dict() for entry in context.journal.list(limit=200)]
        return render("journal", "Request journal", request, entries=entries, capacity=context.journal.size)

    async def login(request: Request) -> Response:
        token = context.settings.admin_token
        if request.method == "GET" or token is None:
            return render("login", "Admin token", request)
        form = parse_form(await read_body(request, 4096))
        if not hmac.compare_digest(form.get("token", "").encode(), token.encode()):
            return render("login", "Admin token", request, status=401, error="That is not the admin token.")
        response = RedirectResponse(f"{PREFIX}/", status_code=303)
        response.set_cookie(ADMIN_COOKIE, token, path=PREFIX, httponly=True, samesite="strict")
        return response

    return [
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
