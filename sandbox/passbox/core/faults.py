"""Fault injection for vendor traffic: latency, errors, 429s, a Cloudflare-style block page.

Rules match a vendor and an operation (``*`` for any) and fire with a probability drawn from
the app's seeded RNG, so a failing test replays. A rule can be limited to the next N matching
requests; it is removed when used up. Latency is real time (it is what a client must cope
with), not app-clock time. Responses are rendered in the vendor's own error shape by a
renderer the app provides.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Scope

from passbox.core.journal import FAULT
from passbox.core.rand import Stream
from passbox.core.store import GLOBAL, Store
from passbox.core.store import Kind as RecordKind

Kind = Literal["latency", "error", "rate_limit", "cloudflare"]
KINDS: tuple[Kind, ...] = ("latency", "error", "rate_limit", "cloudflare")
# vendor, status, message, headers -> the vendor's error response
FaultRenderer = Callable[[str, int, str, Mapping[str, str]], Response]

CLOUDFLARE_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8">
<title>Access denied | {host} used Cloudflare to restrict access</title></head>
<body><div id="cf-wrapper"><div id="cf-error-details" class="cf-error-details-wrapper">
<h1><span class="cf-error-type">Error</span> <span class="cf-error-code">1015</span></h1>
<h2 class="cf-subheadline">You are being rate limited</h2>
<p>The owner of this website ({host}) has banned you temporarily from accessing this website.</p>
<p class="cf-footer-item">Cloudflare Ray ID: <strong class="font-semibold">{ray}</strong></p>
<p>(passbox sandbox: an injected fault imitating Cloudflare's rate-limit page.)</p>
</div></div></body></html>
"""


class FaultRule(msgspec.Struct, frozen=True):
    id: str
    kind: Kind
    vendor: str = "*"
    operation: str = "*"
    status: int = 500
    rate: float = 1.0
    latency_ms: float = 0.0
    latency_max_ms: float | None = None
    retry_after: int = 1
    remaining: int | None = None
    matched: int = 0
    fired: int = 0

    def matches(self, vendor: str, operations: frozenset[str]) -> bool:
        """Whether the rule applies to a request of ``vendor`` whose operation has these ids
        (an operation and its twin spelled without ``.json``)."""
        return self.vendor in ("*", vendor) and (self.operation == "*" or self.operation in operations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "vendor": self.vendor,
            "operation": self.operation,
            "status": self.status,
            "rate": self.rate,
            "latency_ms": self.latency_ms,
            "latency_max_ms": self.latency_max_ms,
            "retry_after": self.retry_after,
            "remaining": self.remaining,
            "matched": self.matched,
            "fired": self.fired,
        }


@dataclass
class Decision:
    rule: FaultRule
    delay_ms: float = 0.0


RULES = RecordKind("control.faults", FaultRule)
# Bumped by every change to which rules exist, so a worker re-counts them only after one.
VERSION = RecordKind("control.faults.version", int)
VERSION_SETTING = "faults.version"


@dataclass
class Faults:
    """The fault rules of one app: records in the store, so every worker and replica applies
    them and their counters survive a restart.

    Whether any rule exists is asked on every vendor request. On a shared store the edge reads
    the rules' version with the clock (one query) and hands it to ``seen()``; the rules are
    counted again only when it changed. A request that finds no rules where the cached answer
    said some exist (a reset cleared them with every other record) corrects the answer, so
    nothing has to bump the version for rules that vanished."""

    store: Store
    rng: Stream
    _version: int | None = field(default=None, init=False)
    _exist: bool | None = field(default=None, init=False)

    @property
    def rules(self) -> list[FaultRule]:
        return self.store.values(RULES, GLOBAL)

    def _changed(self) -> None:
        """Within the unit of work that adds or removes rules: tell every worker to re-count."""
        self.store.set_setting(VERSION, VERSION_SETTING, (self.store.get_setting(VERSION, VERSION_SETTING) or 0) + 1)
        self._exist = None

    def add(self, **spec: Any) -> FaultRule:
        with self.store.transaction():
            rule = FaultRule(id=f"fault-{self.store.incr('fault')}", **spec)
            self.store.put(RULES, GLOBAL, rule.id, rule)
            self._changed()
        return rule

    def remove(self, rule_id: str) -> bool:
        with self.store.transaction():
            removed = self.store.delete(RULES, GLOBAL, rule_id)
            if removed:
                self._changed()
        return removed

    def clear(self) -> None:
        with self.store.transaction():
            for rule in self.rules:
                self.store.delete(RULES, GLOBAL, rule.id)
            self._changed()

    def seen(self, version: int | None) -> None:
        """The rules' version as just read from the store."""
        if version != self._version:
            self._version = version
            self._exist = None

    def any(self) -> bool:
        if not self.store.shared:
            return self.store.count(RULES, GLOBAL) > 0  # a dict's length: nothing to cache
        if self._exist is None:
            self._exist = self.store.count(RULES, GLOBAL) > 0
        return self._exist

    async def intercept(
        self, vendor: str, operations: frozenset[str], scope: Scope, render: FaultRenderer
    ) -> ASGIApp | None:
        """Apply the rules to a request of ``vendor`` (whose operation has these ids): wait out
        any latency, name the rules in the scope's state for the journal, and return the
        response of a rule that answers the request (None: the route answers it)."""
        decisions = self.decide(vendor, operations)
        if not decisions:
            return None
        scope["state"][FAULT] = ", ".join(f"{d.rule.id} ({d.rule.kind})" for d in decisions)
        delay = sum(d.delay_ms for d in decisions if d.rule.kind == "latency")
        if delay > 0:
            await asyncio.sleep(delay / 1000)
        terminal = next((d.rule for d in decisions if d.rule.kind != "latency"), None)
        if terminal is None:
            return None
        return fault_response(terminal, vendor, scope, self.rng, render)

    def decide(self, vendor: str, operations: frozenset[str]) -> list[Decision]:
        """The rules that fire for this request, oldest first; counts it against limited rules.
        At most one rule answers a request (error, rate limit, block page); a later one that
        would answer too is not counted, so limited rules take effect one after another."""
        with self.store.transaction():
            return self._decide(vendor, operations)

    def _decide(self, vendor: str, operations: frozenset[str]) -> list[Decision]:
        decisions: list[Decision] = []
        answered = False
        rules = self.rules
        if not rules:
            self._exist = False  # seen just now (in this unit of work): none until the version moves
        for rule in rules:
            if not rule.matches(vendor, operations):
                continue
            if answered and rule.kind != "latency":
                continue  # the request is already answered by an earlier rule: this one waits

            remaining = None if rule.remaining is None else rule.remaining - 1
            fires = rule.rate >= 1.0 or self.rng.uniform(0.0, 1.0) < rule.rate
            rule = msgspec.structs.replace(
                rule, matched=rule.matched + 1, remaining=remaining, fired=rule.fired + (1 if fires else 0)
            )
            if remaining is not None and remaining <= 0:
                self.store.delete(RULES, GLOBAL, rule.id)
                self._changed()
            else:
                self.store.put(RULES, GLOBAL, rule.id, rule)
            if not fires:
                continue
            answered = answered or rule.kind != "latency"
            delay = rule.latency_ms
            if rule.kind == "latency" and rule.latency_max_ms is not None:
                delay = self.rng.uniform(rule.latency_ms, rule.latency_max_ms)
            decisions.append(Decision(rule, delay))
        return decisions


def fault_response(rule: FaultRule, vendor: str, scope: Scope, rng: Stream, render: FaultRenderer) -> Response:
    """What a rule that answers the request (error, rate limit, block page) sends."""
    message = f"Injected fault {rule.id} (passbox control plane)"
    if rule.kind == "error":
        return render(vendor, rule.status, message, {})
    headers = {"Retry-After": str(rule.retry_after)}
    if rule.kind == "rate_limit":
        return render(vendor, 429, message, headers)
    host = html.escape(dict(scope.get("headers", [])).get(b"host", b"this site")[:255].decode("latin-1"))
    ray = f"{rng.hex(8)}-SYD"
    return HTMLResponse(
        CLOUDFLARE_PAGE.format(host=host, ray=ray),
        status_code=429,
        headers={**headers, "Server": "cloudflare", "CF-RAY": ray, "Cache-Control": "no-store"},
    )
