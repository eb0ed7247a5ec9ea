"""JSON views of sandbox records, shared by the control API and the dashboard."""

from __future__ import annotations

from typing import Any

from passbox.core.clock import isoformat_z
from passbox.seekpass.models import Partner, VerifyRequest
from passbox.verifypass.backend import Outcome, VerifyPassBackend
from passbox.verifypass.models import Account, Activity, Widget


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


def activity_view(activity: Activity) -> dict[str, Any]:
    """The reporting record, plus what reporting leaves out (id, account, negative outcomes)."""
    return {"id": activity.id, "account_id": activity.account_id, "outcome": activity.outcome, **activity.to_report()}


def request_view(request: VerifyRequest) -> dict[str, Any]:
    """What the partner API answers, plus what only the sandbox shows."""
    return {
        "client_id": request.client_id,
        **request.to_dict(),
        "created_at": isoformat_z(request.created_at),
        "expires_at": isoformat_z(request.expires_at),
        "finished_via": request.finished_via,
        "redirect_uri": request.redirect_uri,
        "callback_url": request.callback_url,
        "partner_name": request.partner_name,
    }


def outcome_view(outcome: Outcome) -> dict[str, Any]:
    return {
        "outcome": outcome.outcome,
        "code": outcome.code,
        "message": outcome.message,
        "returning": outcome.returning,
        "codes_exhausted": outcome.codes_exhausted,
        "activity": activity_view(outcome.activity) if outcome.activity else None,
        "deliveries": list(outcome.deliveries),
    }


def partner_view(partner: Partner, requests: int, webhooks: int) -> dict[str, Any]:
    return {
        "client_id": partner.client_id,
        "name": partner.name,
        "scopes": list(partner.scopes),
        "requests": requests,
        "webhooks": webhooks,
    }
