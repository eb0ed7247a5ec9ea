"""``create_app(settings)``: one independent sandbox app with both vendors mounted.

Everything an app needs (clock, seed, store, scheduler, outbox, pages, specs, vendors) is
built here and hung off ``app.state``; two apps in one process share nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox import seekpass, verifypass
from sandbox.control import errors as control_errors
from sandbox.control import routes as control_routes
from sandbox.core.clock import Clock
from sandbox.core.fakedata import FakeData
from sandbox.core.pages import Pages
from sandbox.core.rand import Rand
from sandbox.core.resources import specs_dir
from sandbox.core.responses import JSONResponse
from sandbox.core.runtime import Core
from sandbox.core.scheduler import Scheduler
from sandbox.core.specs import Spec
from sandbox.core.store import MemoryStore
from sandbox.core.vendor import Vendor
from sandbox.core.webhooks import Outbox, RetryPolicy
from sandbox.settings import Settings

log = logging.getLogger("passbox")


@dataclass
class Sandbox:
    """What ``app.state.sandbox`` holds: the core, the specs and the vendors of one app."""

    settings: Settings
    seed: int
    core: Core
    specs: Mapping[str, Spec]
    vendors: Mapping[str, Vendor]
    control: Vendor

    def vendor_for(self, path: str) -> Vendor | None:
        """The vendor (or the control plane) that answers routing errors on ``path``."""
        return next((vendor for vendor in [*self.vendors.values(), self.control] if vendor.owns(path)), None)


def build_core(settings: Settings, seed: int) -> Core:
    clock = settings.clock or Clock()
    rand = Rand(seed)
    store = MemoryStore()
    scheduler = Scheduler(clock)
    outbox = Outbox(
        store=store,
        scheduler=scheduler,
        clock=clock,
        rng=rand.stream("outbox.jitter"),
        policy=RetryPolicy(
            schedule=settings.webhook_retry_schedule,
            jitter=settings.webhook_jitter,
            compression=settings.time_compression,
            timeout=settings.webhook_timeout,
        ),
        transport=settings.webhook_transport,
    )
    pages = Pages([seekpass.TEMPLATES, verifypass.TEMPLATES])
    return Core(
        clock=clock,
        rand=rand,
        fake=FakeData(seed),
        store=store,
        scheduler=scheduler,
        outbox=outbox,
        pages=pages,
    )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    seed = settings.seed if settings.seed is not None else secrets.randbits(32)
    core = build_core(settings, seed)
    specs = {
        path.name.removesuffix(".openapi.yaml"): Spec.load(path) for path in sorted(specs_dir().glob("*.openapi.yaml"))
    }
    built = [
        seekpass.build(core, settings, specs["seekpass"]),
        verifypass.build(core, settings, specs["verifypass"]),
    ]
    vendors = {vendor.name: vendor for vendor in built}
    control = Vendor(
        name="control",
        routes=list(control_routes.build_routes(specs["sandbox"], settings, vendors["verifypass"].backend)),
        prefixes=(control_routes.PREFIX + "/",),
        render_status=control_errors.render_status,
    )
    sandbox = Sandbox(settings=settings, seed=seed, core=core, specs=specs, vendors=vendors, control=control)

    routes: list[BaseRoute] = [Route("/", index, methods=["GET"]), Route("/health", health, methods=["GET"])]
    for spec in specs.values():
        routes.extend(spec.routes())
    for vendor in [*vendors.values(), control]:
        routes.extend(vendor.routes)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        worker = asyncio.create_task(core.scheduler.run_forever(), name="passbox-scheduler")
        try:
            yield
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await core.scheduler.shutdown()
            await core.outbox.aclose()

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.sandbox = sandbox
    return app


def sandbox_of(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


async def http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (unknown path, wrong method) in the shape of the vendor that owns the path."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 404:
        message = f"{request.method} {path} is not emulated by passbox"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {path}"
    else:
        message = exc.detail
    vendor = sandbox_of(request).vendor_for(path)
    if vendor is not None:
        return vendor.render_status(exc.status_code, message, exc.headers)
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = "passbox hit an internal error; this is a bug in the sandbox, please report it"
    vendor = sandbox_of(request).vendor_for(request.url.path)
    if vendor is not None:
        return vendor.render_status(500, message, None)
    return JSONResponse({"error": message}, status_code=500)


async def index(request: Request) -> Response:
    sandbox = sandbox_of(request)
    return JSONResponse(
        {
            "name": "passbox",
            "vendors": list(sandbox.vendors),
            "specs": {name: f"/specs/{name}.openapi.yaml" for name in sandbox.specs},
            "seed": sandbox.seed,
        }
    )


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})
