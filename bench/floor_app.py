"""The floor: the least a Starlette app can do for each bench load (a lower bound, not a competitor).

Fixed JSON bodies for the three loads (the request body is read, never parsed or validated), and
GET /health. ``python -m bench`` runs it as::

    uvicorn floor_app:app --app-dir bench --host 127.0.0.1 --port P --http httptools --loop uvloop \\
        --workers 1 --no-access-log --log-level warning
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TOKEN = b'{"token":"eyJpdiI6ImJlbmNoIiwidmFsdWUiOiJiZW5jaCIsIm1hYyI6ImJlbmNoIiwidGFnIjoiIn0="}'
CREATED = (
    b'{"request_id":"7cbc7e51-82f5-43ec-8d63-b7cdf1170425","redirect_uri":"http://127.0.0.1/partner/verify/'
    b'digital_identity#clientId=passbox-demo-client&content=7cbc7e51-82f5-43ec-8d63-b7cdf1170425"}'
)
WEBHOOKS = b"[]"
HEALTH = b'{"status":"ok"}'


async def token(request: Request) -> Response:
    await request.body()  # drain the body like a real handler would
    return Response(TOKEN, media_type="application/json")


async def create(request: Request) -> Response:
    await request.body()
    return Response(CREATED, status_code=201, media_type="application/json")


async def webhooks(request: Request) -> Response:
    return Response(WEBHOOKS, media_type="application/json")


async def health(request: Request) -> Response:
    return Response(HEALTH, media_type="application/json")


app = Starlette(
    routes=[
        Route("/api/v2/token", token, methods=["POST"]),
        Route("/api/partner/v2/verify/requests/digital_identity.json", create, methods=["POST"]),
        Route("/api/partner/v2/webhooks", webhooks, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
)
