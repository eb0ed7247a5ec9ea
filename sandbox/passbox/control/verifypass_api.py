"""Control plane: VerifyPass accounts, widget webhooks, verifications and activity."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from passbox.control.http import body_of, context_of, page_of, query_text
from passbox.control.views import account_view, activity_view, outcome_view, widget_view
from passbox.core.errors import Conflict, NotFound, SandboxError
from passbox.core.responses import JSONResponse
from passbox.verifypass.backend import FormInvalid, WidgetRefusal

# -- VerifyPass -------------------------------------------------------------------------


async def verifypass_accounts(request: Request) -> Response:
    context = context_of(request)
    verifypass = context.verifypass
    return JSONResponse([account_view(verifypass, a) for a in verifypass.directory.accounts.values()])


async def verifypass_account_webhook(request: Request) -> Response:
    context = context_of(request)
    verifypass = context.verifypass
    account_id = request.path_params["account_id"]
    url = (await body_of(request, "WebhookUrlUpdate"))["url"]
    verifypass.set_webhook_url(account_id, url)
    return JSONResponse(account_view(verifypass, verifypass.directory.accounts[account_id]))


async def verifypass_widget_webhook(request: Request) -> Response:
    context = context_of(request)
    verifypass = context.verifypass
    widget = verifypass.directory.widgets.get(request.path_params["widget_key"])
    if widget is None:
        raise NotFound(f"No widget {request.path_params['widget_key']!r}")
    url = (await body_of(request, "WebhookUrlUpdate"))["url"]
    verifypass.set_webhook_url(widget.account_id, url, widget.key)
    return JSONResponse(widget_view(verifypass, widget))


async def verifypass_verification(request: Request) -> Response:
    context = context_of(request)
    core = context.core
    verifypass = context.verifypass
    body = await body_of(request, "VerifyPassVerificationCreate")
    if body.get("persona") is not None and body["persona"] not in core.personas:
        raise NotFound(f"No persona {body['persona']!r}")
    community = body.get("community")
    if community is not None and community not in verifypass.directory.communities:
        raise NotFound(f"No community {community!r}")
    widget = verifypass.directory.widgets.get(body["widget_key"])
    negative = body.get("outcome") == "negative"
    if community is not None and widget is not None and widget.community(community) is None and not negative:
        offered = ", ".join(item.key for item in widget.communities)
        raise Conflict(
            f"The widget {widget.key!r} does not offer the community {community!r} (it offers {offered}); "
            "to see an applicant who does not qualify, ask for outcome negative",
            code="community_not_offered",
        )
    applicant: dict[str, str] = {key: body[key] for key in ("first_name", "last_name", "email", "dob") if key in body}
    try:
        outcome = verifypass.control_verify(
            body["widget_key"],
            token=body.get("token"),
            uid=body.get("uid"),
            outcome=body.get("outcome"),
            community=community,
            persona=body.get("persona"),
            applicant=applicant,
        )
    except WidgetRefusal as exc:
        raise refusal(exc) from exc
    except FormInvalid as exc:
        raise Conflict(exc.message, code="applicant_conflict", details=exc.details) from exc
    return JSONResponse(outcome_view(outcome))


async def verifypass_activity_item(request: Request) -> Response:
    context = context_of(request)
    verifypass = context.verifypass
    found = verifypass.find_activity(request.path_params["activity_id"])
    if found is None:
        raise NotFound(f"No activity {request.path_params['activity_id']!r}")
    return JSONResponse(activity_view(found))


async def verifypass_activity(request: Request) -> Response:
    context = context_of(request)
    verifypass = context.verifypass
    account_id = query_text(request, "account_id", 128)
    limit, offset = page_of(request)
    if account_id is not None and account_id not in verifypass.directory.accounts:
        return JSONResponse([])
    found = verifypass.activity_page(account_id, limit=limit, offset=offset)
    return JSONResponse([activity_view(activity) for activity in found])


def refusal(exc: WidgetRefusal) -> SandboxError:
    """A widget refusal as the control API answers it: the token or the widget says no."""
    if exc.status == 404:
        return NotFound(exc.message)
    status = 409 if exc.code in ("token_spent", "token_expired") else 403
    return SandboxError(exc.message, status=status, code=exc.code)
