"""Control plane: the request journal and webhook deliveries (with redelivery)."""

from __future__ import annotations

import itertools

from starlette.requests import Request
from starlette.responses import Response

from passbox.control.http import VENDORS, context_of, page_of, query_int, query_text
from passbox.core.errors import NotFound
from passbox.core.responses import JSONResponse

# -- inspection -------------------------------------------------------------------------


async def journal(request: Request) -> Response:
    context = context_of(request)
    limit, offset = page_of(request)
    entries = context.journal.list(
        vendor=query_text(request, "vendor", 20, VENDORS),
        tenant=query_text(request, "tenant", 160),
        method=query_text(request, "method", 10),
        status=query_int(request, "status", None, 100, 599),
        operation=query_text(request, "operation", 100),
        path=query_text(request, "path", 300),
        limit=limit,
        offset=offset,
    )
    return JSONResponse(
        {
            "capacity": context.journal.size,
            "size": len(context.journal),
            "entries": [entry.to_dict() for entry in entries],
        }
    )


async def journal_entry(request: Request) -> Response:
    context = context_of(request)
    raw = request.path_params["entry_id"]
    entry = context.journal.get(int(raw)) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
    if entry is None:
        raise NotFound(f"No journal entry {raw!r} (the journal keeps the last {context.journal.size})")
    return JSONResponse(entry.to_dict())


async def deliveries(request: Request) -> Response:
    context = context_of(request)
    core = context.core
    vendor = query_text(request, "vendor", 20, VENDORS)
    tenant = query_text(request, "tenant", 160)
    event = query_text(request, "event", 100)
    status = query_text(request, "status", 20, ("pending", "delivered", "failed", "abandoned"))
    limit, offset = page_of(request)
    matching = (
        delivery
        for delivery in core.outbox.list(tenant, newest_first=True)
        if vendor in (None, delivery.vendor)
        and event in (None, delivery.event_type)
        and status in (None, delivery.status)
    )
    return JSONResponse([delivery.to_dict() for delivery in itertools.islice(matching, offset, offset + limit)])


async def delivery(request: Request) -> Response:
    context = context_of(request)
    core = context.core
    found = core.outbox.get(request.path_params["delivery_id"])
    if found is None:
        raise NotFound(f"No delivery {request.path_params['delivery_id']!r}")
    return JSONResponse(found.to_dict())


async def redeliver(request: Request) -> Response:
    context = context_of(request)
    core = context.core
    again = core.outbox.redeliver(request.path_params["delivery_id"])
    if again is None:
        raise NotFound(f"No delivery {request.path_params['delivery_id']!r}")
    return JSONResponse(again.to_dict(), status_code=202)
