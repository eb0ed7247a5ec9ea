"""Control-plane routes under ``/_sandbox/``: parse, call a vendor backend, render."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.control import errors
from sandbox.core.errors import NotFound, ValidationFailed
from sandbox.core.http import read_json
from sandbox.core.responses import JSONResponse
from sandbox.core.specs import Spec
from sandbox.core.vendor import endpoint
from sandbox.settings import Settings
from sandbox.verifypass.backend import VerifyPassBackend
from sandbox.verifypass.models import Account, Widget

PREFIX = "/_sandbox"
control_endpoint = endpoint(errors.render)


def widget_view(backend: VerifyPassBackend, widget: Widget) -> dict[str, Any]:
    account = backend.directory.accounts[widget.account_id]
    return {
        "key": widget.key,
        "name": widget.name,
        "mode": widget.mode,
        "communities": [{"key": c.key, "name": c.name, "group": c.group} for c in widget.communities],
        "require_token": widget.require_token,
        "active": widget.active,
        "action": widget.action.type,
        "codes_left": backend.codes_left(widget),
        "cache_period": widget.cache_period,
        "webhook_url": backend.webhook_url(account, widget),
        "url": f"/auth/{widget.key}",
    }


def account_view(backend: VerifyPassBackend, account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "name": account.name,
        "webhook_url": backend.webhook_url(account),
        "widgets": [widget_view(backend, backend.directory.widgets[key]) for key in account.widgets],
    }


def build_routes(spec: Spec, settings: Settings, verifypass: VerifyPassBackend) -> list[Route]:
    limit = settings.max_body_bytes

    async def webhook_url_body(request: Request) -> str | None:
        payload = await read_json(request, limit)
        problems = spec.validators.errors("WebhookUrlUpdate", payload)
        if problems:
            raise ValidationFailed("; ".join(f"{p.field}: {p.message}" for p in problems), details=problems)
        url: str | None = payload["url"]
        return url

    @control_endpoint
    async def verifypass_accounts(request: Request) -> Response:
        return JSONResponse([account_view(verifypass, a) for a in verifypass.directory.accounts.values()])

    @control_endpoint
    async def verifypass_account_webhook(request: Request) -> Response:
        account_id = request.path_params["account_id"]
        url = await webhook_url_body(request)
        verifypass.set_webhook_url(account_id, url)
        return JSONResponse(account_view(verifypass, verifypass.directory.accounts[account_id]))

    @control_endpoint
    async def verifypass_widget_webhook(request: Request) -> Response:
        widget = verifypass.directory.widgets.get(request.path_params["widget_key"])
        if widget is None:
            raise NotFound(f"No widget {request.path_params['widget_key']!r}")
        url = await webhook_url_body(request)
        verifypass.set_webhook_url(widget.account_id, url, widget.key)
        return JSONResponse(widget_view(verifypass, widget))

    return [
        Route(f"{PREFIX}/verifypass/accounts", verifypass_accounts, methods=["GET"]),
        Route(
            f"{PREFIX}/verifypass/accounts/{{account_id}}/webhook",
            verifypass_account_webhook,
            methods=["PUT"],
        ),
        Route(f"{PREFIX}/verifypass/widgets/{{widget_key}}/webhook", verifypass_widget_webhook, methods=["PUT"]),
    ]
