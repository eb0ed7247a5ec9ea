"""What a vendor hands the app: its routes, and how it renders errors on its paths."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.routing import BaseRoute

from passbox.core.errors import SandboxError

StatusRenderer = Callable[[int, str, Mapping[str, str] | None], Response]
ErrorRenderer = Callable[[SandboxError], Response]


@dataclass
class Vendor:
    name: str
    routes: list[BaseRoute]
    # Path prefixes whose errors this vendor answers, in its own shape: a SandboxError raised
    # by any route under them (render_error), and routing errors: unknown path, wrong method
    # (render_status).
    prefixes: tuple[str, ...]
    render_error: ErrorRenderer
    render_status: StatusRenderer
    backend: Any = None
    # The hosted pages, as (method, path template, operation name), so faults and the journal
    # can name them like API operations.
    pages: tuple[tuple[str, str, str], ...] = ()

    def owns(self, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.prefixes)
