"""Control plane: the scenario catalogue, the clock (time travel) and reset."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from passbox.control.context import ControlContext
from passbox.control.http import body_of, context_of
from passbox.core.clock import isoformat_z
from passbox.core.errors import Conflict, NotFound, ValidationFailed
from passbox.core.responses import JSONResponse
from passbox.core.runtime import Core
from passbox.seekpass import scenarios as seekpass_scenarios
from passbox.verifypass import scenarios as verifypass_scenarios

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    match = re.fullmatch(r"([0-9]{1,6})(s|m|h|d)", text)
    if match is None:
        raise ValidationFailed("by must be a number and a unit (s, m, h or d), such as 48h")
    return timedelta(seconds=int(match.group(1)) * UNITS[match.group(2)])


# -- scenarios --------------------------------------------------------------------------


async def scenarios(request: Request) -> Response:
    context = context_of(request)
    core = context.core
    communities = list(context.verifypass.directory.communities)
    return JSONResponse(
        {
            "seekpass": seekpass_scenarios.catalogue(core.personas),
            "verifypass": verifypass_scenarios.catalogue(communities, core.personas),
            "personas": [person.to_dict() for person in core.personas.values()],
        }
    )


# -- time -------------------------------------------------------------------------------


def clock_state(core: Core, ran: int | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "now": isoformat_z(core.clock.now(), micro=True),
        "frozen": core.clock.is_frozen,
        "offset_seconds": core.clock.offset.total_seconds(),
    }
    if ran is not None:
        state["ran"] = ran
    return state


async def clock(request: Request) -> Response:
    context = context_of(request)
    core = context.core
    if request.method == "GET":
        return JSONResponse(clock_state(core))
    change = await body_of(request, "ClockChange")
    action = change["action"]
    if action == "freeze":
        core.clock.freeze()
    elif action == "release":
        before = core.clock.now()
        after = core.clock.release()
        shift_timers(context, before - after)
    else:
        try:
            core.clock.advance(parse_duration(change["by"]))
        except (OverflowError, ValueError) as exc:
            raise Conflict("The clock cannot go that far", code="out_of_range") from exc
    return JSONResponse(clock_state(core, await context.settle()))


def shift_timers(context: ControlContext, back: timedelta) -> None:
    """Time travel undone: work scheduled in the sandbox future (retries, expiries) keeps the
    time it had left, instead of waiting until real time catches up with the jump."""
    if back <= timedelta(0):
        return
    store = context.core.store
    now = context.core.clock.timestamp()
    with store.transaction():
        for timer in store.timers():
            if timer.due > now:
                store.schedule(timer.tenant, timer.key, max(now, timer.due - back.total_seconds()), timer.job,
                               timer.payload)  # fmt: skip


# -- reset ------------------------------------------------------------------------------


async def reset(request: Request) -> Response:
    context = context_of(request)
    core = context.core
    wanted = (await body_of(request, "ResetRequest", optional=True)).get("tenant")
    if wanted is not None and wanted not in context.tenants():
        raise NotFound(f"No tenant {wanted!r}")
    started = core.clock.monotonic()
    context.reset(wanted)
    took = (core.clock.monotonic() - started) * 1000
    return JSONResponse({"reset": wanted or "everything", "took_ms": round(took, 3)})
