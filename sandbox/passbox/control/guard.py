"""Who may drive the control plane (``/_sandbox/``), and from where.

- **Authentication** (with ``--admin-token``): API clients send ``Authorization: Bearer
  <token>`` (the scheme in any case, as on the partner API); the dashboard's browser sends the
  cookie its login sets, which holds a session id (a record in the store, so every replica
  knows it), never the token. Login is throttled per client address.
- **Cross-site requests** (always, with or without a token): a write (any method but GET and
  HEAD) is refused when the browser says it comes from another site or another port of this
  host (``Sec-Fetch-Site`` other than ``same-origin``/``none``, or an ``Origin`` that is not
  this server's). API writes with a body must be ``application/json`` (a page can send only
  forms and text without a CORS preflight, which is never granted); the dashboard's form
  writes must carry a CSRF token bound to the browser's session (or, without an admin token,
  to its own cookie).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie

import msgspec
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from passbox.control import ADMIN_COOKIE, CSRF_COOKIE, PREFIX
from passbox.core.clock import Clock
from passbox.core.http import is_json_media_type
from passbox.core.responses import JSONResponse
from passbox.core.store import GLOBAL, Kind, Store

LOGIN = f"{PREFIX}/login"
SESSION_SECONDS = 12 * 3600
LOGIN_WINDOW = 60.0  # wall seconds
LOGIN_ATTEMPTS = 5  # failed logins per address per window
MAX_SESSIONS = 10_000  # sessions (and addresses with failed logins) kept at most
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class AdminSession(msgspec.Struct, frozen=True):
    created: float  # wall time


class LoginFailures(msgspec.Struct, frozen=True):
    count: int
    since: float  # wall time the window started


SESSIONS = Kind("control.sessions", AdminSession)
FAILURES = Kind("control.login_failures", LoginFailures)


def cookies_of(headers: Mapping[bytes, bytes]) -> dict[str, str]:
    try:
        jar = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


@dataclass
class Guard:
    """The control plane's access rules for one app (state lives in the store)."""

    store: Store
    clock: Clock
    token: str | None
    key: bytes  # for CSRF tokens, from the server secret

    # -- sessions ----------------------------------------------------------------------------

    def login(self, given: str, address: str) -> str | None:
        """A new session id for the right token; None for a wrong one (counted against the address)."""
        assert self.token is not None
        if hmac.compare_digest(given.encode(), self.token.encode()):
            session_id = secrets.token_urlsafe(32)
            wall = self.clock.wall()
            self.store.put(SESSIONS, GLOBAL, session_id, AdminSession(wall), retire_at=wall + SESSION_SECONDS)
            return session_id
        with self.store.transaction():
            wall = self.clock.wall()
            failures = self.store.get(FAILURES, GLOBAL, address)
            if failures is None or wall - failures.since > LOGIN_WINDOW:
                failures = LoginFailures(0, wall)
            failures = LoginFailures(failures.count + 1, failures.since)
            self.store.put(FAILURES, GLOBAL, address, failures, retire_at=failures.since + LOGIN_WINDOW)
        return None

    def throttled(self, address: str) -> float | None:
        """Seconds to wait before this address may try again, or None."""
        failures = self.store.get(FAILURES, GLOBAL, address)
        if failures is None or failures.count < LOGIN_ATTEMPTS:
            return None
        left = failures.since + LOGIN_WINDOW - self.clock.wall()
        return left if left > 0 else None

    def session_of(self, cookies: Mapping[str, str]) -> str | None:
        session_id = cookies.get(ADMIN_COOKIE, "")
        if not session_id or len(session_id) > 128:
            return None
        session = self.store.get(SESSIONS, GLOBAL, session_id)
        if session is None or self.clock.wall() - session.created > SESSION_SECONDS:
            return None
        return session_id

    def logout(self, cookies: Mapping[str, str]) -> None:
        session_id = self.session_of(cookies)
        if session_id is not None:
            self.store.delete(SESSIONS, GLOBAL, session_id)

    def retire(self) -> int:
        """Drop ended sessions and old login failures (their retire_at is wall time)."""
        wall = self.clock.wall()
        return self.store.retire(SESSIONS, wall, MAX_SESSIONS, 500) + self.store.retire(
            FAILURES, wall, MAX_SESSIONS, 500
        )

    # -- CSRF --------------------------------------------------------------------------------

    def csrf_token(self, binding: str) -> str:
        return hmac.new(self.key, b"csrf|" + binding.encode(), hashlib.sha256).hexdigest()

    def csrf_binding(self, cookies: Mapping[str, str]) -> str | None:
        """What a form's CSRF token is bound to: the admin session, else the browser's own cookie."""
        if self.token is not None:
            return self.session_of(cookies)
        value = cookies.get(CSRF_COOKIE, "")
        return value if 16 <= len(value) <= 128 else None

    # -- the checks --------------------------------------------------------------------------

    def authenticated(self, headers: Mapping[bytes, bytes], cookies: Mapping[str, str]) -> bool:
        if self.token is None:
            return True
        scheme, _, given = headers.get(b"authorization", b"").decode("latin-1").strip().partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode()):
            return True
        return self.session_of(cookies) is not None

    def cross_site(self, scope: Scope, headers: Mapping[bytes, bytes]) -> str | None:
        """Why a write is refused as cross-site, or None."""
        fetch_site = headers.get(b"sec-fetch-site", b"").decode("latin-1").lower()
        if fetch_site and fetch_site not in ("same-origin", "none"):
            return f"it comes from another site or port (Sec-Fetch-Site: {fetch_site})"
        origin = headers.get(b"origin")
        if origin is not None:
            host = headers.get(b"host", b"").decode("latin-1")
            scheme = scope.get("scheme", "http")
            if origin.decode("latin-1") != f"{scheme}://{host}":
                return f"its Origin ({origin.decode('latin-1')[:100]}) is not this server"
        return None


class ControlGuardMiddleware:
    def __init__(self, app: ASGIApp, *, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        method = scope["method"]
        refusal: Response | None = None
        if method not in SAFE_METHODS:
            reason = self.guard.cross_site(scope, headers)
            if reason is not None:
                refusal = refuse(403, "forbidden", f"This control-plane write is refused: {reason}")
            else:
                kind = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower().decode("latin-1")
                has_body = headers.get(b"content-length", b"0").strip() not in (b"", b"0") or (
                    b"transfer-encoding" in headers
                )
                if is_dashboard_form(path):
                    pass  # the dashboard checks its forms' CSRF tokens
                elif kind in FORM_TYPES or (has_body and not is_json_media_type(kind)):
                    refusal = refuse(
                        415, "unsupported_media_type", "Control-plane API writes take application/json bodies"
                    )
        if refusal is None and path != LOGIN and not self.guard.authenticated(headers, cookies_of(headers)):
            if method == "GET" and b"text/html" in headers.get(b"accept", b""):
                refusal = RedirectResponse(LOGIN, status_code=303)
            else:
                refusal = refuse(
                    401,
                    "unauthorized",
                    "The control plane needs the admin token: send Authorization: Bearer <admin token>",
                    {"WWW-Authenticate": 'Bearer realm="passbox control plane"'},
                )
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)


def is_dashboard_form(path: str) -> bool:
    """The dashboard's own form posts (checked for their CSRF token by the dashboard)."""
    return path == LOGIN or path.startswith(f"{PREFIX}/ui/")


def refuse(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def guard_of(request: Request) -> Guard:
    guard: Guard = request.app.state.guard
    return guard
