"""The admin token: with ``--admin-token``, every ``/_sandbox/`` call needs it as a bearer token."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.core.responses import JSONResponse

PREFIX = "/_sandbox"


class AdminTokenMiddleware:
    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"authorization", b"")
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        message = "The control plane needs the admin token: send Authorization: Bearer <admin token>"
        response = JSONResponse(
            {"error": "unauthorized", "message": message},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="passbox control plane"'},
        )
        await response(scope, receive, send)
