"""Control-plane routes under ``/_sandbox/``: parse, call the core or a vendor backend, render.

Bodies are validated with the control plane's own spec (specs/sandbox.openapi.yaml).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.control import PREFIX
from sandbox.control.context import ControlContext, add_fault
from sandbox.control.views import (
    account_view,
    activity_view,
    outcome_view,
    partner_view,
    request_view,
    widget_view,
)
from sandbox.core.clock import isoformat_z
from sandbox.core.errors import Conflict, NotFound, SandboxError, UnsupportedMediaType, ValidationFailed
from sandbox.core.http import is_json_media_type, media_type, parse_json, read_body
from sandbox.core.responses import JSONResponse
from sandbox.core.webhooks import Delivery
from sandbox.seekpass import scenarios as seekpass_scenarios
from sandbox.seekpass.models import VerifyRequest
from sandbox.verifypass import scenarios as verifypass_scenarios
from sandbox.verifypass.backend import FormInvalid, WidgetRefusal

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
VENDORS = ("seekpass", "verifypass")


def parse_duration(text: str) -> timedelta:
    match = re.fullmatch(r"([0-9]{1,6})(s|m|h|d)", text)
    if match is None:
        raise ValidationFailed("by must be a number and a unit (s, m, h or d), such as 48h")
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


def build_routes(context: ControlContext) -> list[Route]:
    core = context.core
    limit = context.settings.max_body_bytes
    validators = context.spec.validators

    async def body_of(request: Request, schema: str, *, optional: bool = False) -> dict[str, Any]:
        body = await read_body(request, limit)
        if optional and not body.strip():
            return {}
        kind = media_type(request)
        if kind and not is_json_media_type(kind):
            raise UnsupportedMediaType(f"Content-Type must be application/json, not {kind}")
        payload = parse_json(body)
        validators.require(schema, payload)
        assert isinstance(payload, dict)
        return declared_fields(payload, schema)

    def declared_fields(payload: dict[str, Any], schema: str) -> dict[str, Any]:
        """The schema's own properties only (extras are ignored, as the spec allows), with an
        integral number given for an integer field turned into an int (JSON has one number)."""
        properties = context.spec.document["components"]["schemas"][schema].get("properties", {})
        picked: dict[str, Any] = {}
        for key, definition in properties.items():
            if key in payload:
                value = payload[key]
                types = definition.get("type", [])
                if "integer" in ([types] if isinstance(types, str) else types) and isinstance(value, float):
                    value = int(value)
                picked[key] = value
        return picked

    def query_text(request: Request, name: str, longest: int, allowed: tuple[str, ...] = ()) -> str | None:
        value = request.query_params.get(name)
        if value is not None and (len(value) > longest or (allowed and value not in allowed)):
            expected = f"one of {', '.join(allowed)}" if allowed else f"at most {longest} characters"
            raise ValidationFailed(f"{name} must be {expected}")
        return value

    def query_int(request: Request, name: str, default: int | None, low: int, high: int) -> int | None:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
            raise ValidationFailed(f"{name} must be a whole number from {low} to {high}")
        return int(raw)

    # -- scenarios --------------------------------------------------------------------------

    async def scenarios(request: Request) -> Response:
        communities = list(context.verifypass.directory.communities)
        return JSONResponse(
            {
                "seekpass": seekpass_scenarios.catalogue(core.personas),
                "verifypass": verifypass_scenarios.catalogue(communities, core.personas),
                "personas": [person.to_dict() for person in core.personas.values()],
            }
        )

    # -- time -------------------------------------------------------------------------------

    def clock_state(ran: int | None = None) -> dict[str, Any]:
        state: dict[str, Any] = {
            "now": isoformat_z(core.clock.now(), micro=True),
            "frozen": core.clock.is_frozen,
            "offset_seconds": core.clock.offset.total_seconds(),
        }
        if ran is not None:
            state["ran"] = ran
        return state

    async def clock(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(clock_state())
        change = await body_of(request, "ClockChange")
        action = change["action"]
        if action == "freeze":
            core.clock.freeze()
        elif action == "release":
            core.clock.release()
        else:
            try:
                core.clock.advance(parse_duration(change["by"]))
            except (OverflowError, ValueError) as exc:
                raise Conflict("The clock cannot go that far", code="out_of_range") from exc
        return JSONResponse(clock_state(await context.settle()))

    # -- reset ------------------------------------------------------------------------------

    async def reset(request: Request) -> Response:
        wanted = (await body_of(request, "ResetRequest", optional=True)).get("tenant")
        if wanted is not None and wanted not in context.tenants():
            raise NotFound(f"No tenant {wanted!r}")
        started = core.clock.monotonic()
        context.reset(wanted)
        took = (core.clock.monotonic() - started) * 1000
        return JSONResponse({"reset": wanted or "everything", "took_ms": round(took, 3)})

    # -- faults -----------------------------------------------------------------------------

    async def faults(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse([rule.to_dict() for rule in context.faults.rules])
        if request.method == "DELETE":
            context.faults.clear()
            return Response(status_code=204)
        rule = add_fault(context, await body_of(request, "FaultRuleCreate"))
        return JSONResponse(rule.to_dict(), status_code=201)

    async def fault(request: Request) -> Response:
        if not context.faults.remove(request.path_params["fault_id"]):
            raise NotFound(f"No fault rule {request.path_params['fault_id']!r}")
        return Response(status_code=204)

    async def webhook_faults(request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse([fault.to_dict() for fault in core.outbox.faults])
        if request.method == "DELETE":
            core.outbox.clear_faults()
            return Response(status_code=204)
        created = core.outbox.add_fault(**(await body_of(request, "WebhookFaultCreate")))
        return JSONResponse(created.to_dict(), status_code=201)

    async def webhook_fault(request: Request) -> Response:
        if not core.outbox.remove_fault(request.path_params["fault_id"]):
            raise NotFound(f"No webhook fault {request.path_params['fault_id']!r}")
        return Response(status_code=204)

    # -- inspection -------------------------------------------------------------------------

    async def journal(request: Request) -> Response:
        entries = context.journal.list(
            vendor=query_text(request, "vendor", 20, VENDORS),
            tenant=query_text(request, "tenant", 160),
            method=query_text(request, "method", 10),
            status=query_int(request, "status", None, 100, 599),
            operation=query_text(request, "operation", 100),
            path=query_text(request, "path", 300),
            limit=query_int(request, "limit", 100, 1, 1000) or 100,
        )
        return JSONResponse(
            {
                "capacity": context.journal.size,
                "size": len(context.journal),
                "entries": [entry.to_dict() for entry in entries],
            }
        )

    async def journal_entry(request: Request) -> Response:
        raw = request.path_params["entry_id"]
        entry = context.journal.get(int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
        if entry is None:
            raise NotFound(f"No journal entry {raw!r} (the journal keeps the last {context.journal.size})")
        return JSONResponse(entry.to_dict())

    async def deliveries(request: Request) -> Response:
        vendor = query_text(request, "vendor", 20, VENDORS)
        tenant = query_text(request, "tenant", 160)
        event = query_text(request, "event", 100)
        status = query_text(request, "status", 20, ("pending", "delivered", "failed", "abandoned"))
        limit_count = query_int(request, "limit", 100, 1, 1000) or 100
        found = [
            delivery
            for delivery in core.outbox.list(newest_first=True)
            if vendor in (None, delivery.vendor)
            and tenant in (None, delivery.tenant)
            and event in (None, delivery.event_type)
            and status in (None, delivery.status)
        ]
        return JSONResponse([delivery.to_dict() for delivery in found[:limit_count]])

    async def delivery(request: Request) -> Response:
        found = core.outbox.get(request.path_params["delivery_id"])
        if found is None:
            raise NotFound(f"No delivery {request.path_params['delivery_id']!r}")
        return JSONResponse(found.to_dict())

    async def redeliver(request: Request) -> Response:
        again = core.outbox.redeliver(request.path_params["delivery_id"])
        if again is None:
            raise NotFound(f"No delivery {request.path_params['delivery_id']!r}")
        return JSONResponse(again.to_dict(), status_code=202)

    # -- SEEK Pass --------------------------------------------------------------------------

    seekpass = context.seekpass

    async def seekpass_partners(request: Request) -> Response:
        return JSONResponse(
            [
                partner_view(
                    partner,
                    seekpass.count_requests(partner.client_id),
                    len(seekpass.list_webhooks(partner)),
                )
                for partner in seekpass.partners.values()
            ]
        )

    async def seekpass_request(request: Request) -> Response:
        client_id, request_id = request.path_params["client_id"], request.path_params["request_id"]
        partner = seekpass.partners.get(client_id)
        if partner is None:
            raise NotFound(f"No SEEK Pass client {client_id!r}")
        return JSONResponse(request_view(seekpass.get_request(partner, request_id)))

    async def seekpass_requests(request: Request) -> Response:
        client_id = query_text(request, "client_id", 128)
        clients = [client_id] if client_id else list(seekpass.partners)
        found = [req for cid in clients if cid in seekpass.partners for req in seekpass.list_requests(cid)]
        return JSONResponse([request_view(req) for req in found])

    def seekpass_outcome(done: VerifyRequest, queued: list[Delivery]) -> Response:
        # An expired request sends nobody anywhere: its user never came back.
        redirect = seekpass.callback_location(done) if done.finished_via != "expiry" else None
        return JSONResponse(
            {"request": request_view(done), "redirect_to": redirect, "deliveries": [d.id for d in queued]}
        )

    async def seekpass_complete(request: Request) -> Response:
        options = await body_of(request, "SeekPassComplete", optional=True)
        return seekpass_outcome(
            *seekpass.control_complete(
                request.path_params["client_id"],
                request.path_params["request_id"],
                options.get("document_type", "passport"),
                options.get("persona"),
            )
        )

    async def seekpass_cancel(request: Request) -> Response:
        return seekpass_outcome(
            *seekpass.control_cancel(request.path_params["client_id"], request.path_params["request_id"])
        )

    async def seekpass_expire(request: Request) -> Response:
        return seekpass_outcome(
            *seekpass.control_expire(request.path_params["client_id"], request.path_params["request_id"])
        )

    # -- VerifyPass -------------------------------------------------------------------------

    verifypass = context.verifypass

    async def verifypass_accounts(request: Request) -> Response:
        return JSONResponse([account_view(verifypass, a) for a in verifypass.directory.accounts.values()])

    async def verifypass_account_webhook(request: Request) -> Response:
        account_id = request.path_params["account_id"]
        url = (await body_of(request, "WebhookUrlUpdate"))["url"]
        verifypass.set_webhook_url(account_id, url)
        return JSONResponse(account_view(verifypass, verifypass.directory.accounts[account_id]))

    async def verifypass_widget_webhook(request: Request) -> Response:
        widget = verifypass.directory.widgets.get(request.path_params["widget_key"])
        if widget is None:
            raise NotFound(f"No widget {request.path_params['widget_key']!r}")
        url = (await body_of(request, "WebhookUrlUpdate"))["url"]
        verifypass.set_webhook_url(widget.account_id, url, widget.key)
        return JSONResponse(widget_view(verifypass, widget))

    async def verifypass_verification(request: Request) -> Response:
        body = await body_of(request, "VerifyPassVerificationCreate")
        if body.get("persona") is not None and body["persona"] not in core.personas:
            raise NotFound(f"No persona {body['persona']!r}")
        community = body.get("community")
        if community is not None and community not in verifypass.directory.communities:
            raise NotFound(f"No community {community!r}")
        applicant: dict[str, str] = {
            key: body[key] for key in ("first_name", "last_name", "email", "dob") if key in body
        }
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
        found = verifypass.find_activity(request.path_params["activity_id"])
        if found is None:
            raise NotFound(f"No activity {request.path_params['activity_id']!r}")
        return JSONResponse(activity_view(found))

    async def verifypass_activity(request: Request) -> Response:
        account_id = query_text(request, "account_id", 128)
        accounts = [account_id] if account_id else list(verifypass.directory.accounts)
        found = [a for aid in accounts if aid in verifypass.directory.accounts for a in verifypass.activity(aid)]
        return JSONResponse([activity_view(activity) for activity in found])

    return [
        Route(f"{PREFIX}/scenarios", scenarios, methods=["GET"]),
        Route(f"{PREFIX}/clock", clock, methods=["GET", "POST"]),
        Route(f"{PREFIX}/reset", reset, methods=["POST"]),
        Route(f"{PREFIX}/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route(f"{PREFIX}/faults/{{fault_id}}", fault, methods=["DELETE"]),
        Route(f"{PREFIX}/webhook-faults", webhook_faults, methods=["GET", "POST", "DELETE"]),
        Route(f"{PREFIX}/webhook-faults/{{fault_id}}", webhook_fault, methods=["DELETE"]),
        Route(f"{PREFIX}/requests", journal, methods=["GET"]),
        Route(f"{PREFIX}/requests/{{entry_id}}", journal_entry, methods=["GET"]),
        Route(f"{PREFIX}/deliveries", deliveries, methods=["GET"]),
        Route(f"{PREFIX}/deliveries/{{delivery_id}}", delivery, methods=["GET"]),
        Route(f"{PREFIX}/deliveries/{{delivery_id}}/redeliver", redeliver, methods=["POST"]),
        Route(f"{PREFIX}/seekpass/partners", seekpass_partners, methods=["GET"]),
        Route(f"{PREFIX}/seekpass/requests", seekpass_requests, methods=["GET"]),
        Route(f"{PREFIX}/seekpass/requests/{{client_id}}/{{request_id}}", seekpass_request, methods=["GET"]),
        Route(f"{PREFIX}/seekpass/requests/{{client_id}}/{{request_id}}/complete", seekpass_complete, methods=["POST"]),
        Route(f"{PREFIX}/seekpass/requests/{{client_id}}/{{request_id}}/cancel", seekpass_cancel, methods=["POST"]),
        Route(f"{PREFIX}/seekpass/requests/{{client_id}}/{{request_id}}/expire", seekpass_expire, methods=["POST"]),
        Route(f"{PREFIX}/verifypass/accounts", verifypass_accounts, methods=["GET"]),
        Route(f"{PREFIX}/verifypass/accounts/{{account_id}}/webhook", verifypass_account_webhook, methods=["PUT"]),
        Route(f"{PREFIX}/verifypass/widgets/{{widget_key}}/webhook", verifypass_widget_webhook, methods=["PUT"]),
        Route(f"{PREFIX}/verifypass/verifications", verifypass_verification, methods=["POST"]),
        Route(f"{PREFIX}/verifypass/activity", verifypass_activity, methods=["GET"]),
        Route(f"{PREFIX}/verifypass/activity/{{activity_id}}", verifypass_activity_item, methods=["GET"]),
    ]


def refusal(exc: WidgetRefusal) -> SandboxError:
    """A widget refusal as the control API answers it: the token or the widget says no."""
    if exc.status == 404:
        return NotFound(exc.message)
    status = 409 if exc.code in ("token_spent", "token_expired") else 403
    return SandboxError(exc.message, status=status, code=exc.code)
