"""How long an in-process reset takes, with a sandbox full of state.

Fills one app with SEEK Pass requests (with webhooks, so deliveries and scheduled jobs too),
VerifyPass activity and a full journal, then times ``reset()`` (everything, and one tenant).
For scale, the same run times building a fresh passbox app and a bare Starlette app.

    .venv/bin/python bench/reset.py            # defaults: 2000 of each
    .venv/bin/python bench/reset.py 10000
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from passbox.app import create_app
from passbox.core.clock import Clock
from passbox.core.webhooks import DELIVERIES
from passbox.seekpass.backend import REQUESTS
from passbox.settings import Settings
from passbox.verifypass.backend import ACTIVITY


def populate(app: Starlette, count: int) -> None:
    sandbox = app.state.sandbox
    seekpass = sandbox.vendors["seekpass"].backend
    verifypass = sandbox.vendors["verifypass"].backend
    partner = seekpass.partners["passbox-demo-client"]
    seekpass.create_webhook(partner, {"url": "http://127.0.0.1:9/hook"})
    for n in range(count):
        created, _ = seekpass.create_request(
            partner, {"request_id": f"bench-{n}", "display_options": {"partner_name": "Bench"}}, "http://bench"
        )
        seekpass.control_complete(partner.client_id, created.request_id)
        verifypass.control_verify("demo-private", uid=f"u{n}", community="tea")


async def journal(app: Starlette, count: int) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        for _ in range(count):
            await client.get("/api/v2/reporting", headers={"key": "passbox-demo-key"})


def timed(action: object, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rows = []
    full: list[float] = []
    tenant: list[float] = []
    records = 0
    for run in range(6):
        app = create_app(Settings(seed=1, clock=Clock.frozen("2026-01-01T00:00:00Z"), journal_size=count))
        populate(app, count)
        asyncio.run(journal(app, min(count, 1000)))
        context = app.state.sandbox.context
        store = app.state.sandbox.core.store
        records = sum(store.count(kind) for kind in (REQUESTS, DELIVERIES, ACTIVITY))
        # Alternate, so each kind of reset meets a fully populated sandbox.
        if run % 2:
            tenant += timed(lambda context=context: context.reset("seekpass:passbox-demo-client"), 1)
        else:
            full += timed(lambda context=context: context.reset(), 1)
    rows.append((f"reset everything ({records} records, {count} scheduled jobs, full journal)", full))
    rows.append(("reset one tenant (seekpass:passbox-demo-client)", tenant))
    rows.append(("create_app (a fresh passbox app)", timed(lambda: create_app(Settings(seed=1)), 5)))
    bare = [Route("/health", lambda request: JSONResponse({"status": "ok"}))]
    rows.append(("Starlette(routes=...) (a bare app)", timed(lambda: Starlette(routes=bare), 5)))
    print("| operation | median ms | max ms |\n|---|---:|---:|")
    for name, samples in rows:
        print(f"| {name} | {statistics.median(samples):.3f} | {max(samples):.3f} |")


if __name__ == "__main__":
    main()
