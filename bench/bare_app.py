"""passbox's own work for each bench load with the layers around it taken away: an experiment.

``passbox-bare`` in the table. The app is passbox's, built as ``passbox serve`` builds it (memory
store, seed 1, the heap settled), but the three loads are answered by a raw ASGI callable that
calls the vendor backends itself: no edge (journal, faults, secure headers), no control guard,
no router, no Starlette ``Request`` or ``Response``. It does what each route does without
those layers: the key or bearer check, the body read and parsed, the backend call, the JSON
rendered, two ASGI messages. Every other request (the bench's client-credentials token, the
lifespan) goes to the full app.

Its row is a ceiling: what passbox would answer if answering in raw ASGI made every layer cost
nothing. Where a target is missed even here, taking layers away cannot be what meets it. The
bench runs it as::

    uvicorn bare_app:build --factory --app-dir bench --http passbox.server:BoundedHttpToolsProtocol --loop uvloop
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from passbox.app import create_app
from passbox.core.http import header, parse_json
from passbox.core.responses import laravel_json, rails_json
from passbox.seekpass import oauth
from passbox.seekpass.models import WRITE_SCOPE
from passbox.server import settle_heap
from passbox.settings import Settings
from passbox.verifypass.routes import token_input

TOKEN_PATH = "/api/v2/token"  # noqa: S105 (a path)
CREATE_PATH = "/api/partner/v2/verify/requests/digital_identity.json"
READ_PATH = "/api/partner/v2/webhooks"
CREATED_PATH = "/api/partner/v2/verify/requests/"
JSON = (b"content-type", b"application/json")

Send = Any
Receive = Any


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes, *extra: tuple[bytes, bytes]) -> None:
    headers = [JSON, (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def build(*, settle: bool = True) -> Any:
    """The bare app (for ``uvicorn --factory``); ``settle``: freeze the heap as ``passbox serve`` does."""
    full = create_app(Settings(store_url="memory://", seed=1))
    seekpass = full.state["seekpass"]
    verifypass = full.state["verifypass"]

    async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in (TOKEN_PATH, CREATE_PATH, READ_PATH):
            await full(scope, receive, send)
            return
        if path == TOKEN_PATH:
            account = verifypass.require_account(header(scope, b"key"))
            fields = token_input(await _body(receive), "application/json")
            await _answer(send, 200, laravel_json({"token": verifypass.create_token(account, fields)}))
            return
        if path == CREATE_PATH:
            partner = seekpass.authorize(oauth.bearer_token(header(scope, b"authorization")), WRITE_SCOPE)
            payload = parse_json(await _body(receive))
            host = header(scope, b"host") or "127.0.0.1"
            created, _ = seekpass.create_request(partner, payload, f"http://{host}")
            body = rails_json({"request_id": created.request_id, "redirect_uri": created.redirect_uri})
            location = f"{CREATED_PATH}{quote(created.request_id, safe='')}.json".encode()
            await _answer(send, 201, body, (b"location", location))
            return
        partner = seekpass.authorize(oauth.bearer_token(header(scope, b"authorization")))
        shown = seekpass.settings.webhook_secret_on_read
        await _answer(
            send, 200, rails_json([hook.to_dict(with_secret=shown) for hook in seekpass.list_webhooks(partner)])
        )

    if settle:
        settle_heap()
    return app
