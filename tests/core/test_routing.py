"""The indexed router and the direct route: the same answers as Starlette's, with less work."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Match, Mount

from passbox.app import create_app
from passbox.core.routing import Route, RouteIndex, Router
from passbox.settings import Settings


async def named(request: Request) -> Response:
    return JSONResponse({"route": request.scope["route"].name, "params": request.path_params})


def table() -> list[BaseRoute]:
    """Routes that overlap in every way the index has to get right."""
    inner = Router(
        routes=[
            Route("/items", named, methods=["GET"], name="inner-items"),
            Route("/items/{item_id:path}", named, methods=["GET"], name="inner-item"),
        ]
    )
    return [
        Route("/", named, methods=["GET"], name="root"),
        Route("/api/things", named, methods=["POST"], name="things-post"),
        Route("/api/things/{thing_id}", named, methods=["GET"], name="thing"),
        Route("/api/things/special", named, methods=["GET", "PUT"], name="special"),  # after its pattern
        Route("/api/things", named, methods=["GET"], name="things-get"),  # the same path, another method
        Mount("/api/mounted", app=inner),
        Route("/api/{anything:path}", named, methods=["DELETE"], name="catch-all"),
        Route("/x{suffix}", named, methods=["GET"], name="x-suffix"),  # literal part inside the first segment
        Route("/docs/", named, methods=["GET"], name="docs-slash"),
    ]


def linear_full_match(routes: list[BaseRoute], scope: dict[str, Any]) -> BaseRoute | None:
    """Starlette's own rule: the first route, in order, that matches fully."""
    return next((route for route in routes if route.matches(scope)[0] is Match.FULL), None)


def scope_of(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": [], "query_string": b""}


PIECES = ["", "/", "api", "things", "special", "mounted", "items", "x", "xy", "docs", "a.b", "%2F", "7", "things/7"]
PIECES += ["api/things", "api/things/special", "api/mounted/items", "api/mounted"]  # whole paths, often


def test_the_index_finds_the_route_a_scan_in_order_would() -> None:
    routes = table()
    router = Router(routes)
    paths = {"/" + "/".join(parts) for n in range(4) for parts in itertools.product(PIECES, repeat=n)}
    for path in sorted(paths | {path + "/" for path in paths}):
        for method in ["GET", "POST", "PUT", "DELETE", "HEAD"]:
            found = router.full_match(scope_of(method, path))
            assert (found[0] if found else None) is linear_full_match(routes, scope_of(method, path)), (method, path)


def test_the_index_finds_what_a_scan_finds_on_every_path_of_the_app() -> None:
    app = create_app(Settings(seed=1))
    router = app.router
    assert isinstance(router, Router)
    for route in app.routes:
        path = getattr(route, "path", "")
        for method in ["GET", "POST", "PUT", "DELETE"]:
            for concrete in {path.replace("{", "").replace("}", ""), path + "/x.json", path + "/"}:
                scope = scope_of(method, concrete)
                found = router.full_match(scope)
                assert (found[0] if found else None) is linear_full_match(app.routes, scope), (method, concrete)


def test_candidates_keep_the_order_of_the_table() -> None:
    routes = table()
    index = RouteIndex(routes)

    def names(path: str) -> list[str]:
        return [route.name if isinstance(route, Route) else "mount" for route in index.candidates(path)]

    # Its own routes, and those with parameters whose literal part the path begins with, in
    # order; never another path's routes without parameters ("special" is /api/things/special
    # alone), nor a pattern it cannot match ("thing" needs /api/things/, "x-suffix" /x).
    assert names("/api/things") == ["things-post", "things-get", "catch-all"]
    assert names("/api/things/7") == ["thing", "catch-all"]
    assert names("/api/mounted/items") == ["mount", "catch-all"]
    assert names("/xy") == ["x-suffix"]
    assert names("/elsewhere") == []


def test_a_route_is_only_tried_on_paths_that_begin_with_its_literal_part() -> None:
    tried: list[str | None] = []

    class Counted(Route):
        def matches(self, scope: Any) -> tuple[Match, Any]:
            tried.append(self.name)
            return super().matches(scope)

    routes: list[BaseRoute] = [
        Counted("/api/partner/requests/{request_id}", named, methods=["GET"], name="other-vendor"),
        Counted("/api/partner/hooks/{hook_id}", named, methods=["GET"], name="other-vendor-hooks"),
        Counted("/api/v2/token", named, methods=["POST"], name="token"),
        Counted("/api/v2/reports/{report_id}", named, methods=["GET"], name="report"),
    ]
    router = Router(routes)
    for method, path, route in [
        ("POST", "/api/v2/token", "token"),  # a whole path
        ("GET", "/api/v2/reports/7", "report"),  # a pattern
        ("GET", "/api/partner/requests/7", "other-vendor"),
    ]:
        tried.clear()
        found = router.full_match(scope_of(method, path))
        assert found is not None and found[0].name == route
        assert tried == [route]
    tried.clear()
    assert router.full_match(scope_of("GET", "/api/v3/none")) is None
    assert tried == []


def served(routes: list[BaseRoute]) -> httpx.AsyncClient:
    app = Starlette()
    app.router = Router(routes)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_requests_reach_the_route_with_its_parameters() -> None:
    async with served(table()) as client:
        assert (await client.get("/api/things/7")).json() == {"route": "thing", "params": {"thing_id": "7"}}
        assert (await client.get("/api/things/special")).json()["route"] == "thing"  # earlier in the table
        assert (await client.put("/api/things/special")).json()["route"] == "special"
        assert (await client.get("/api/things")).json()["route"] == "things-get"
        assert (await client.post("/api/things")).json()["route"] == "things-post"
        mounted = (await client.get("/api/mounted/items/a/b")).json()
        assert mounted == {"route": "inner-item", "params": {"item_id": "a/b"}}
        assert (await client.delete("/api/other/a")).json()["route"] == "catch-all"
        assert (await client.delete("/api/mounted/items/a")).status_code == 405  # the mount comes first
        assert (await client.get("/xy")).json() == {"route": "x-suffix", "params": {"suffix": "y"}}
        assert (await client.head("/")).status_code == 200


async def test_what_no_route_serves_is_answered_as_starlette_answers_it() -> None:
    ours, theirs = (
        served(table()),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=Starlette(routes=table())), base_url="http://test"),
    )
    async with ours, theirs:
        for method, path in [
            ("PATCH", "/api/things"),  # 405, with the methods allowed
            ("POST", "/api/things/7"),
            ("GET", "/docs"),  # a redirect to /docs/
            ("GET", "/nowhere"),  # 404
            ("GET", "/api/mounted/nothing"),
        ]:
            mine, reference = await ours.request(method, path), await theirs.request(method, path)
            assert (mine.status_code, mine.headers.get("allow"), mine.headers.get("location"), mine.text) == (
                reference.status_code,
                reference.headers.get("allow"),
                reference.headers.get("location"),
                reference.text,
            ), (method, path)
        assert (await ours.patch("/api/things")).status_code == 405
        assert (await ours.get("/docs")).status_code == 307


async def test_a_route_sends_every_kind_of_response_as_starlette_would() -> None:
    """Plain responses are sent by the route itself; others (a background task, a stream, a
    subclass that sends its own way) through their own ``__call__``."""
    ran: list[str] = []

    async def plain(request: Request) -> Response:
        return JSONResponse({"a": 1}, status_code=201, headers={"x-k": "v"})

    async def with_background(request: Request) -> Response:
        return Response("later", background=BackgroundTask(ran.append, "background"))

    async def streamed(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"one,"
            yield b"two"

        return StreamingResponse(chunks(), media_type="text/plain")

    routes: list[BaseRoute] = [
        Route("/plain", plain, methods=["GET"]),
        Route("/background", with_background, methods=["GET"]),
        Route("/streamed", streamed, methods=["GET"]),
    ]
    async with served(routes) as client:
        response = await client.get("/plain")
        assert (response.status_code, response.json(), response.headers["x-k"]) == (201, {"a": 1}, "v")
        assert response.headers["content-length"] == "7"
        assert (await client.get("/background")).text == "later"
        assert ran == ["background"]
        assert (await client.get("/streamed")).text == "one,two"


async def test_a_route_added_later_is_found() -> None:
    router = Router([Route("/a", named, methods=["GET"], name="a")])
    router.routes.append(Route("/b", named, methods=["GET"], name="b"))
    found = router.full_match(scope_of("GET", "/b"))
    assert found is not None
    assert found[0].name == "b"  # type: ignore[attr-defined]


def test_a_route_takes_only_async_endpoints() -> None:
    def blocking(request: Request) -> Response:
        return Response("")

    with pytest.raises(TypeError, match="async"):
        Route("/blocking", blocking, methods=["GET"])  # type: ignore[arg-type]
