"""The admin token: with ``--admin-token``, every ``/_sandbox/`` call needs it.

API clients send it as a bearer token. The dashboard's browser sends the cookie its login
page sets; a browser without either is sent to the login page.
"""

from __future__ import annotations

import hmac
from http.cookies import SimpleCookie

from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.control import ADMIN_COOKIE, PREFIX
from sandbox.core.responses import JSONResponse

LOGIN = f"{PREFIX}/login"


class AdminTokenMiddleware:
    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self.app = app
        self.token = token.encode()
        self.expected = f"Bearer {token}".encode()

    def _allowed(self, headers: dict[bytes, bytes]) -> bool:
        if hmac.compare_digest(headers.get(b"authorization", b""), self.expected):
            return True
        cookie = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
        given = cookie[ADMIN_COOKIE].value.encode() if ADMIN_COOKIE in cookie else b""
        return hmac.compare_digest(given, self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PREFIX) or path == LOGIN:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        if self._allowed(headers):
            await self.app(scope, receive, send)
            return
        response: Response
        if scope["method"] == "GET" and b"text/html" in headers.get(b"accept", b""):
            response = RedirectResponse(LOGIN, status_code=303)
        else:
            message = "The control plane needs the admin token: send Authorization: Bearer <admin token>"
            response = JSONResponse(
                {"error": "unauthorized", "message": message},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="passbox control plane"'},
            )
        await response(scope, receive, send)
