"""Control plane: SEEK Pass partners and requests, finished without the hosted app."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from passbox.control.http import body_of, context_of, page_of, query_text
from passbox.control.views import partner_view, request_view
from passbox.core.errors import NotFound
from passbox.core.responses import JSONResponse
from passbox.core.webhooks import Delivery
from passbox.seekpass.backend import SeekPassBackend
from passbox.seekpass.models import VerifyRequest

# -- SEEK Pass --------------------------------------------------------------------------


async def seekpass_partners(request: Request) -> Response:
    context = context_of(request)
    seekpass = context.seekpass
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
    context = context_of(request)
    seekpass = context.seekpass
    client_id, request_id = request.path_params["client_id"], request.path_params["request_id"]
    partner = seekpass.partners.get(client_id)
    if partner is None:
        raise NotFound(f"No SEEK Pass client {client_id!r}")
    return JSONResponse(request_view(seekpass.get_request(partner, request_id)))


async def seekpass_requests(request: Request) -> Response:
    context = context_of(request)
    seekpass = context.seekpass
    client_id = query_text(request, "client_id", 128)
    limit, offset = page_of(request)
    if client_id is not None and client_id not in seekpass.partners:
        return JSONResponse([])
    found = seekpass.requests_page(client_id, limit=limit, offset=offset)
    return JSONResponse([request_view(req) for req in found])


def seekpass_outcome(seekpass: SeekPassBackend, done: VerifyRequest, queued: list[Delivery]) -> Response:
    # An expired request sends nobody anywhere: its user never came back.
    redirect = seekpass.callback_location(done) if done.finished_via != "expiry" else None
    return JSONResponse({"request": request_view(done), "redirect_to": redirect, "deliveries": [d.id for d in queued]})


async def seekpass_complete(request: Request) -> Response:
    context = context_of(request)
    seekpass = context.seekpass
    options = await body_of(request, "SeekPassComplete", optional=True)
    return seekpass_outcome(
        seekpass,
        *seekpass.control_complete(
            request.path_params["client_id"],
            request.path_params["request_id"],
            options.get("document_type", "passport"),
            options.get("persona"),
        ),
    )


async def seekpass_cancel(request: Request) -> Response:
    context = context_of(request)
    seekpass = context.seekpass
    return seekpass_outcome(
        seekpass, *seekpass.control_cancel(request.path_params["client_id"], request.path_params["request_id"])
    )


async def seekpass_expire(request: Request) -> Response:
    context = context_of(request)
    seekpass = context.seekpass
    return seekpass_outcome(
        seekpass, *seekpass.control_expire(request.path_params["client_id"], request.path_params["request_id"])
    )
