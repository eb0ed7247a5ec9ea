"""Routes and a router: Starlette's, with less work on every request.

- ``Route`` calls its endpoint and sends the response it returns, nothing more (its
  ``handle`` does, so that is one coroutine less too; a plain response's two messages are
  sent by it directly, one more). Starlette's route also wraps each call
  in its own exception handling (a closure, a Request for the
  handlers, a send wrapper), which the edge (``passbox.core.edge``) does once for the whole
  app: errors raised here go up to it and are answered by the app's handlers there.
- ``Router`` finds a request's route through an index instead of trying the routes one by
  one: a route without parameters can only match its own path, and any other route only
  paths that begin with its literal part. The index yields, in their order, the routes that
  may match; the first full match is served, as Starlette would serve it. A request no route
  matches fully (a wrong method, a slash to redirect, an unknown path) goes to Starlette's
  own scan, which answers it as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from typing import Any

from starlette import routing
from starlette._utils import get_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class Route(routing.Route):
    """A route to an async endpoint ``(request) -> response``, which it calls directly."""

    def literal(self) -> tuple[tuple[str, ...], str]:
        """The whole paths the route matches, when it has no parameters; and the start every
        path it matches has (what the index files it under)."""
        start = self.path.find("{")
        return ((self.path,), self.path) if start < 0 else ((), self.path[:start])

    def __init__(
        self, path: str, endpoint: Endpoint, *, methods: Collection[str] | None = None, name: str | None = None
    ) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"{path}: the endpoint must be an async function")
        super().__init__(path, endpoint, methods=methods, name=name)
        self._endpoint = endpoint

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.methods and scope["method"] not in self.methods:
            await super().handle(scope, receive, send)  # Starlette's 405, with the methods allowed
            return
        response = await self._endpoint(Request(scope, receive, send))
        if type(response).__call__ is Response.__call__ and response.background is None:
            # What Response.__call__ sends, without its coroutine (most responses).
            await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
            await send({"type": "http.response.body", "body": response.body})
            return
        await response(scope, receive, send)


def first_segment(path: str) -> str:
    """``/api`` of ``/api/v2/token``: the part every route under it shares."""
    end = path.find("/", 1)
    return path if end < 0 else path[:end]


class RouteIndex:
    """Which routes may match a path, in their order: a route can only match paths that begin
    with its literal part, so any other is never tried (on the token path, with both vendors
    under ``/api``, that was three patterns of the other vendor's tried first)."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        exact: dict[str, list[int]] = {}
        segmented: dict[str, list[int]] = {}
        anywhere: list[int] = []  # routes whose literal part ends inside the first segment
        literals: list[str] = []
        for n, route in enumerate(routes):
            paths, literal = route.literal() if isinstance(route, Route) else literal_part(route)
            literals.append(literal)
            for path in paths:
                exact.setdefault(path, []).append(n)
            if paths:
                continue
            if literal.find("/", 1) > 0:
                segmented.setdefault(first_segment(literal), []).append(n)
            else:
                anywhere.append(n)

        def ordered(numbers: list[int]) -> tuple[tuple[str, BaseRoute], ...]:
            return tuple((literals[n], routes[n]) for n in sorted(set(numbers)))

        def starting(path: str, pairs: tuple[tuple[str, BaseRoute], ...]) -> tuple[BaseRoute, ...]:
            return tuple(route for literal, route in pairs if path.startswith(literal))

        self.size = len(routes)
        self._anywhere = ordered(anywhere)
        self._by_segment = {segment: ordered(ns + anywhere) for segment, ns in segmented.items()}
        self._by_path = {
            path: starting(path, ordered(ns + segmented.get(first_segment(path), []) + anywhere))
            for path, ns in exact.items()
        }

    def candidates(self, path: str) -> Iterable[BaseRoute]:
        found = self._by_path.get(path)
        if found is not None:
            return found  # filtered when the index was built
        pairs = self._by_segment.get(first_segment(path), self._anywhere)
        return (route for literal, route in pairs if path.startswith(literal))


def literal_part(route: BaseRoute) -> tuple[tuple[str, ...], str]:
    """``Route.literal`` for Starlette's own routes."""
    if isinstance(route, routing.Route):
        start = route.path.find("{")
        return ((route.path,), route.path) if start < 0 else ((), route.path[:start])
    if isinstance(route, Mount):
        return (), route.path + "/"
    return (), ""  # a route of another kind may match anything: always tried


class Router(routing.Router):
    def __init__(self, routes: Sequence[BaseRoute] | None = None, **options: Any) -> None:
        super().__init__(routes, **options)
        self._index = RouteIndex(self.routes)

    def full_match(self, scope: Scope) -> tuple[BaseRoute, Scope] | None:
        """The first route that matches the request fully (path and method), and its scope."""
        if self._index.size != len(self.routes):  # a route was added since
            self._index = RouteIndex(self.routes)
        for route in self._index.candidates(get_route_path(scope)):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return route, child_scope
        return None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.full_match(scope) if scope["type"] == "http" else None
        if found is None:
            await super().app(scope, receive, send)
            return
        route, child_scope = found
        if "router" not in scope:
            scope["router"] = self
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)
