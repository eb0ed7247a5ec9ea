"""``create_app(settings)``: one independent sandbox app with both vendors and the control plane.

Everything an app needs (clock, seed, store, scheduler, outbox, pages, specs, vendors, journal,
faults) is built here and hung off ``app.state``; two apps in one process share nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from passbox import seekpass, verifypass
from passbox.control import PREFIX, dashboard
from passbox.control import errors as control_errors
from passbox.control import routes as control_routes
from passbox.control.context import RETIRE_BATCH, ControlContext
from passbox.control.guard import ControlGuardMiddleware, Guard
from passbox.core import docs
from passbox.core.clock import Clock
from passbox.core.edge import App, Edge
from passbox.core.errors import SandboxError, error_body
from passbox.core.fakedata import FakeData
from passbox.core.faults import Faults
from passbox.core.fixtures import FixtureError, read_yaml_file
from passbox.core.http import HEADER_LIMIT
from passbox.core.journal import Journal
from passbox.core.operations import OperationIndex
from passbox.core.pages import Pages
from passbox.core.personas import load_personas
from passbox.core.rand import Rand
from passbox.core.resources import specs_dir
from passbox.core.responses import JSONResponse
from passbox.core.routing import Route
from passbox.core.runtime import Core
from passbox.core.scheduler import Scheduler
from passbox.core.specs import Spec
from passbox.core.store import Kind, Store, open_store
from passbox.core.validation import summary
from passbox.core.vendor import Vendor
from passbox.core.webhooks import Outbox, RetryPolicy
from passbox.settings import Settings

log = logging.getLogger("passbox")
RETIRE_EVERY = 1.0  # wall seconds between retention sweeps (each bounded, see RETIRE_BATCH)


@dataclass
class Sandbox:
    """What ``app.state.sandbox`` holds: the core, the specs, the vendors and the control plane."""

    settings: Settings
    seed: int
    core: Core
    specs: Mapping[str, Spec]
    vendors: Mapping[str, Vendor]
    control: Vendor
    context: ControlContext

    @property
    def journal(self) -> Journal:
        return self.context.journal

    @property
    def faults(self) -> Faults:
        return self.context.faults

    def vendor_for(self, path: str) -> Vendor | None:
        """The vendor (or the control plane) that answers routing errors on ``path``."""
        return next((vendor for vendor in [*self.vendors.values(), self.control] if vendor.owns(path)), None)


SEED = Kind("seed", int)
SECRET = Kind("server_secret", str)


def server_secret(settings: Settings, store: Store) -> bytes:
    """The given secret key, or the store's own (made from system entropy on first start)."""
    if settings.secret_key is not None:
        return hashlib.sha256(settings.secret_key.encode()).digest()
    return bytes.fromhex(store.insert_setting(SECRET, "server_secret", secrets.token_hex(32)))


def build_core(settings: Settings, seed: int, store: Store) -> Core:
    clock = settings.clock or Clock()
    clock.attach(store)
    rand = Rand(seed, store, server_secret(settings, store))
    scheduler = Scheduler(
        clock,
        store,
        lease_seconds=settings.lease_seconds,
        poll_seconds=settings.poll_seconds,
        on_error=settings.on_error,
    )
    outbox = Outbox(
        store=store,
        scheduler=scheduler,
        clock=clock,
        rng=rand.stream("outbox.jitter"),
        retention=settings.retention_seconds,
        policy=RetryPolicy(
            schedule=settings.webhook_retry_schedule,
            jitter=settings.webhook_jitter,
            compression=settings.time_compression,
            timeout=settings.webhook_timeout,
        ),
        transport=settings.webhook_transport,
    )
    return Core(
        clock=clock,
        rand=rand,
        fake=FakeData(seed),
        store=store,
        scheduler=scheduler,
        outbox=outbox,
        pages=Pages([seekpass.TEMPLATES, verifypass.TEMPLATES, dashboard.TEMPLATES]),
        personas=load_personas(settings.fixtures_dir),
    )


def load_startup_faults(path: Path | None, spec: Spec) -> dict[str, list[dict[str, Any]]]:
    """Fault rules from a YAML file ``{faults: [...], webhook_faults: [...]}``, checked by the spec."""
    if path is None:
        return {}
    data = read_yaml_file(path, "fault file") or {}
    if not isinstance(data, dict) or set(data) - {"faults", "webhook_faults"}:
        raise FixtureError(f"fault file {path} must hold 'faults' and/or 'webhook_faults' lists")
    for key, schema in (("faults", "FaultRuleCreate"), ("webhook_faults", "WebhookFaultCreate")):
        rules = data.get(key) or []
        if not isinstance(rules, list):
            raise FixtureError(f"fault file {path}: {key} must be a list")
        for n, rule in enumerate(rules):
            problems = spec.validators.errors(schema, rule)
            if problems:
                raise FixtureError(f"fault file {path}: {key}[{n}]: {summary(problems)}")
    return {key: list(data.get(key) or []) for key in ("faults", "webhook_faults")}


def load_specs() -> dict[str, Spec]:
    """The bundled specs, parsed and compiled (tens of milliseconds: do it once)."""
    return {
        path.name.removesuffix(".openapi.yaml"): Spec.load(path) for path in sorted(specs_dir().glob("*.openapi.yaml"))
    }


def create_app(settings: Settings | None = None, *, specs: Mapping[str, Spec] | None = None) -> Starlette:
    """A new, independent app. ``specs`` may be passed in (from ``load_specs()``) to build many
    apps cheaply: they are read-only, so apps sharing them still share no state."""
    settings = settings or Settings()
    store = open_store(settings.store_url, group_commit=True)
    wanted = settings.seed if settings.seed is not None else secrets.randbits(32)
    seed = store.insert_setting(SEED, "seed", wanted)
    if settings.seed is not None and seed != settings.seed:
        store.close()
        raise ValueError(
            f"the store {store.url} was made with seed {seed}: pass --seed {seed}, or start from a fresh store "
            f"(another --data-dir or --store) to use seed {settings.seed}"
        )
    core = build_core(settings, seed, store)
    specs = specs if specs is not None else load_specs()
    built = [seekpass.build(core, settings, specs["seekpass"]), verifypass.build(core, settings, specs["verifypass"])]
    vendors = {vendor.name: vendor for vendor in built}
    index = OperationIndex.build(
        {name: specs[name].document for name in vendors},
        [(vendor.name, *page) for vendor in vendors.values() for page in vendor.pages],
    )
    context = ControlContext(
        settings=settings,
        core=core,
        spec=specs["sandbox"],
        seekpass=vendors["seekpass"].backend,
        verifypass=vendors["verifypass"].backend,
        journal=Journal(core.store, settings.journal_size),
        faults=Faults(core.store, core.rand.stream("faults")),
        index=index,
        startup_faults=load_startup_faults(settings.faults_file, specs["sandbox"]),
    )
    context.apply_startup_faults()
    control = Vendor(
        name="control",
        routes=[*control_routes.routes(), *dashboard.routes()],
        prefixes=(PREFIX + "/",),
        render_error=control_errors.render,
        render_status=control_errors.render_status,
    )
    sandbox = Sandbox(
        settings=settings, seed=seed, core=core, specs=specs, vendors=vendors, control=control, context=context
    )

    # Vendor routes first: they take the traffic that has to be fast.
    routes: list[BaseRoute] = []
    for vendor in [*vendors.values(), control]:
        routes.extend(vendor.routes)
    routes += [Route("/", index_page, methods=["GET"]), Route("/health", health, methods=["GET"]), *docs.routes()]
    for spec in specs.values():
        routes.extend(spec.routes())

    def vendor_name(path: str) -> str | None:
        vendor = sandbox.vendor_for(path)
        return vendor.name if vendor is not None and vendor.name in vendors else None

    def render_431(path: str) -> Response:
        vendor = sandbox.vendor_for(path)
        message = f"The request headers are larger than {HEADER_LIMIT} bytes"
        if vendor is not None:
            return vendor.render_status(431, message, None)
        return JSONResponse({"error": "request_header_fields_too_large", "message": message}, status_code=431)

    def render_fault(vendor: str, status: int, message: str, headers: Mapping[str, str]) -> Response:
        return vendors[vendor].render_status(status, message, headers)

    guard = Guard(core.store, core.clock, settings.admin_token, core.rand.key_bytes("control.csrf", 32))
    middleware = [
        Middleware(
            Edge,
            limit=HEADER_LIMIT,
            render_431=render_431,
            clock=core.clock,
            store=core.store,
            index=index,
            vendor_for=vendor_name,
            journal=context.journal,
            faults=context.faults,
            render_fault=render_fault,
            handlers={SandboxError: sandbox_error, HTTPException: http_error, Exception: server_error},
        ),
        Middleware(ControlGuardMiddleware, guard=guard),
    ]
    core.scheduler.every(RETIRE_EVERY, guard.retire)

    core.scheduler.every(settings.poll_seconds, context.journal.flush)
    # Bounded sweeps: one that retired a full batch of a kind runs again on the next loop turn,
    # so retention keeps up with any rate of finished requests without holding the loop long.
    core.scheduler.every(RETIRE_EVERY, context.retire, again=full_sweep)

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
            context.journal.flush()

    app = App(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.sandbox = sandbox
    # What the module-level endpoints reach through request.app.state.
    app.state.seekpass = vendors["seekpass"].backend
    app.state.verifypass = vendors["verifypass"].backend
    app.state.control = context
    app.state.guard = guard
    return app


def full_sweep(retired: object) -> bool:
    """Whether a retention sweep retired a whole batch (so more may be waiting)."""
    return isinstance(retired, int) and retired >= RETIRE_BATCH


def app_from_env() -> Starlette:
    """The app ``uvicorn --factory passbox.app:app_from_env`` builds (``passbox serve --reload``
    uses it): settings from the PASSBOX_* variables."""
    from passbox.server import settle_heap

    app = create_app(Settings.from_env())
    settle_heap()
    return app


def sandbox_of(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


async def sandbox_error(request: Request, exc: Exception) -> Response:
    """An error raised on purpose by any route (bad input, unknown record...), in the shape of
    the vendor that owns the path; hosted pages render their own problems before this."""
    assert isinstance(exc, SandboxError)
    vendor = sandbox_of(request).vendor_for(request.url.path)
    if vendor is not None:
        return vendor.render_error(exc)
    return JSONResponse(error_body(exc), status_code=exc.status, headers=exc.headers)


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
    sandbox = sandbox_of(request)
    vendor = sandbox.vendor_for(path)
    if vendor is not None:
        return vendor.render_status(exc.status_code, message, exc.headers)
    if exc.status_code == 404 and is_browser_request(request):
        return sandbox.core.pages.render("not_found.html", status=404, title="Page not found", message=message)
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)


def is_browser_request(request: Request) -> bool:
    """A page a person opened (the hosted pages' paths, or a client asking for HTML first)."""
    if request.url.path.startswith(("/auth/", "/partner/")):
        return True
    accept = request.headers.get("accept", "")
    return "text/html" in accept.split(",", 1)[0]


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    on_error = sandbox_of(request).settings.on_error
    if on_error is not None:
        on_error(exc)
    message = "passbox hit an internal error; this is a bug in the sandbox, please report it"
    vendor = sandbox_of(request).vendor_for(request.url.path)
    if vendor is not None:
        return vendor.render_status(500, message, None)
    return JSONResponse({"error": message}, status_code=500)


async def index_page(request: Request) -> Response:
    sandbox = sandbox_of(request)
    return JSONResponse(
        {
            "name": "passbox",
            "vendors": list(sandbox.vendors),
            "docs": "/docs",
            "dashboard": "/_sandbox/",
            "specs": {name: f"/specs/{name}.openapi.yaml" for name in sandbox.specs},
            "seed": sandbox.seed,
        }
    )


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})
