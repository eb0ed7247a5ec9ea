"""What a vendor hands the app: its routes, and how it renders routing errors on its paths."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sandbox.core.errors import SandboxError

StatusRenderer = Callable[[int, str, Mapping[str, str] | None], Response]
Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class Vendor:
    name: str
    routes: list[BaseRoute]
    # Path prefixes whose unknown paths and wrong methods this vendor answers, in its own shape.
    prefixes: tuple[str, ...]
    render_status: StatusRenderer
    backend: Any = None
    # The hosted pages, as (method, path template, operation name), so faults and the journal
    # can name them like API operations.
    pages: tuple[tuple[str, str, str], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def owns(self, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.prefixes)


def endpoint(render: Callable[[SandboxError], Response]) -> Callable[[Handler], Handler]:
    """Wrap a route handler so any SandboxError it raises is rendered by the vendor's renderer."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapper(request: Request) -> Response:
            try:
                return await handler(request)
            except SandboxError as exc:
                return render(exc)

        return wrapper

    return decorate
