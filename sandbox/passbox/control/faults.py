"""Control plane: request fault rules and webhook delivery faults."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from passbox.control.context import add_fault
from passbox.control.http import body_of, context_of
from passbox.core.errors import NotFound
from passbox.core.responses import JSONResponse

# -- faults -----------------------------------------------------------------------------


async def faults(request: Request) -> Response:
    context = context_of(request)
    if request.method == "GET":
        return JSONResponse([rule.to_dict() for rule in context.faults.rules])
    if request.method == "DELETE":
        context.faults.clear()
        return Response(status_code=204)
    rule = add_fault(context, await body_of(request, "FaultRuleCreate"))
    return JSONResponse(rule.to_dict(), status_code=201)


async def fault(request: Request) -> Response:
    context = context_of(request)
    if not context.faults.remove(request.path_params["fault_id"]):
        raise NotFound(f"No fault rule {request.path_params['fault_id']!r}")
    return Response(status_code=204)


async def webhook_faults(request: Request) -> Response:
    context = context_of(request)
    core = context.core
    if request.method == "GET":
        return JSONResponse([fault.to_dict() for fault in core.outbox.faults])
    if request.method == "DELETE":
        core.outbox.clear_faults()
        return Response(status_code=204)
    created = core.outbox.add_fault(**(await body_of(request, "WebhookFaultCreate")))
    return JSONResponse(created.to_dict(), status_code=201)


async def webhook_fault(request: Request) -> Response:
    context = context_of(request)
    core = context.core
    if not core.outbox.remove_fault(request.path_params["fault_id"]):
        raise NotFound(f"No webhook fault {request.path_params['fault_id']!r}")
    return Response(status_code=204)
