"""The webhook outbox: events waiting to be delivered, the worker that sends them, every attempt.

A vendor enqueues a delivery (one event for one destination) with its exact body bytes and
a *target* naming the destination in the vendor's own terms. When an attempt is due, the
outbox asks the vendor's preparer for the URL and headers of that attempt (so a SEEK Pass
signature is fresh each time and uses the webhook's current secret), sends it with httpx,
and records the attempt. Any 2xx delivers it; anything else, a timeout or a connection
error schedules the next attempt after the retry schedule (with seeded jitter, divided by
the time-compression factor) until attempts run out. The event id and body never change
between attempts. Nothing is dropped while attempts remain.

Deliveries, their attempts and the delivery faults are records in the store; each attempt
is a timer row (job ``outbox.attempt``), so pending deliveries and retries survive a restart
and exactly one worker or replica claims each attempt. The POST itself runs outside any unit
of work; its result is written in one afterwards. A finished delivery becomes retirable
``retention`` seconds later. Headers that carry a secret are stored redacted.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from passbox.core.clock import Clock, isoformat_z
from passbox.core.journal import REDACTED, SECRET_HEADERS
from passbox.core.rand import Stream
from passbox.core.scheduler import Scheduler
from passbox.core.store import GLOBAL, Kind, Store, Timer

if TYPE_CHECKING:
    import httpx

JOB = "outbox.attempt"
RESPONSE_BODY_LIMIT = 4096
USER_AGENT = "passbox-webhooks/0.1"

Status = Literal["pending", "delivered", "failed", "abandoned"]
FaultKind = Literal["fail", "duplicate", "reorder", "stale_timestamp"]
FAULT_KINDS: tuple[FaultKind, ...] = ("fail", "duplicate", "reorder", "stale_timestamp")


class Prepared(msgspec.Struct, frozen=True):
    """What one attempt sends: where, and with which headers (the body is the delivery's)."""

    url: str
    headers: Mapping[str, str]


# (delivery, attempt unix time) -> Prepared, or None when the destination no longer exists.
Preparer = Callable[["Delivery", int], Prepared | None]


class Attempt(msgspec.Struct, frozen=True):
    number: int
    at: datetime
    url: str
    request_headers: dict[str, str]
    status_code: int | None
    response_body: str | None
    latency_ms: float
    error: str | None
    fault: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "at": isoformat_z(self.at, micro=True),
            "url": self.url,
            "request_headers": dict(self.request_headers),
            "status_code": self.status_code,
            "response_body": self.response_body,
            "latency_ms": round(self.latency_ms, 3),
            "error": self.error,
            "fault": self.fault,
        }


class Delivery(msgspec.Struct, frozen=True):
    id: str
    vendor: str
    tenant: str
    event_type: str
    event_id: str | None
    target: str
    url: str
    body: bytes
    created_at: datetime
    max_attempts: int
    status: Status = "pending"
    attempts: tuple[Attempt, ...] = ()
    next_attempt_at: datetime | None = None
    note: str | None = None
    meta: dict[str, str] = msgspec.field(default_factory=dict)
    # Injected faults applied to this delivery, in order (held back, duplicated, ...).
    faults: tuple[str, ...] = ()
    held: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "vendor": self.vendor,
            "tenant": self.tenant,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "target": self.target,
            "url": self.url,
            "body": self.body.decode("utf-8", "replace"),
            "created_at": isoformat_z(self.created_at, micro=True),
            "status": self.status,
            "max_attempts": self.max_attempts,
            "next_attempt_at": isoformat_z(self.next_attempt_at, micro=True) if self.next_attempt_at else None,
            "note": self.note,
            "faults": list(self.faults),
            "attempts": [attempt.to_dict() for attempt in self.attempts],
        }


class WebhookFault(msgspec.Struct, frozen=True):
    """An injected delivery fault: applies to the next ``remaining`` deliveries it matches.

    - ``fail``: the attempt is not sent and counts as failed (so it is retried);
    - ``duplicate``: the event is sent twice, one request right after the other;
    - ``reorder``: the delivery is held back ``delay_seconds`` (app clock), so later events
      arrive first;
    - ``stale_timestamp``: the attempt is signed with a timestamp ``stale_by`` seconds old,
      outside a receiver's tolerance (SEEK Pass; VerifyPass sends no timestamp).
    """

    id: str
    kind: FaultKind
    url: str | None = None
    vendor: str | None = None
    remaining: int = 1
    delay_seconds: float = 5.0
    stale_by: int = 960
    fired: int = 0

    def matches(self, delivery: Delivery, url: str) -> bool:
        return (self.url is None or self.url == url) and (self.vendor is None or self.vendor == delivery.vendor)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "url": self.url,
            "vendor": self.vendor,
            "remaining": self.remaining,
            "delay_seconds": self.delay_seconds,
            "stale_by": self.stale_by,
            "fired": self.fired,
        }


class RetryPolicy(msgspec.Struct, frozen=True):
    """Delays (seconds) before attempts 2, 3, ...; so ``len(schedule) + 1`` attempts in all."""

    schedule: tuple[float, ...] = (1.0, 10.0, 60.0, 300.0)
    jitter: float = 0.1
    compression: float = 1.0
    timeout: float = 10.0

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1

    def delay(self, attempt_number: int, rng: Stream) -> timedelta:
        """How long after failed attempt ``attempt_number`` (1-based) the next one runs."""
        base = self.schedule[attempt_number - 1]
        spread = rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        return timedelta(seconds=max(0.0, base * (1 + spread)) / self.compression)


DELIVERIES = Kind("outbox.deliveries", Delivery)
WEBHOOK_FAULTS = Kind("outbox.faults", WebhookFault)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: REDACTED if name.lower() in SECRET_HEADERS else value for name, value in headers.items()}


class Outbox:
    def __init__(
        self,
        *,
        store: Store,
        scheduler: Scheduler,
        clock: Clock,
        rng: Stream,
        policy: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
        retention: float = 7 * 24 * 3600,
    ) -> None:
        self._store = store
        self._scheduler = scheduler
        self._clock = clock
        self._rng = rng
        self.policy = policy
        self._transport = transport
        self._preparers: dict[str, Preparer] = {}
        self._http: httpx.AsyncClient | None = None
        self.retention = retention
        scheduler.handle(JOB, self._on_timer)

    def register(self, vendor: str, preparer: Preparer) -> None:
        self._preparers[vendor] = preparer

    def _client(self) -> httpx.AsyncClient:
        # Built lazily so it belongs to the event loop that sends (and httpx is imported only by
        # a sandbox that delivers); trust_env=False keeps proxy settings of the machine away
        # from deliveries to local receivers.
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(
                transport=self._transport,
                timeout=self.policy.timeout,
                follow_redirects=False,
                trust_env=False,
                headers={"User-Agent": USER_AGENT},
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # -- writing -----------------------------------------------------------------------------

    def enqueue(
        self,
        *,
        vendor: str,
        tenant: str,
        event_type: str,
        event_id: str | None,
        target: str,
        url: str,
        body: bytes,
        delivery_id: str,
        meta: Mapping[str, str] | None = None,
    ) -> Delivery:
        """Store a delivery and schedule its first attempt now. Returns at once."""
        now = self._clock.now()
        delivery = Delivery(
            id=delivery_id,
            vendor=vendor,
            tenant=tenant,
            event_type=event_type,
            event_id=event_id,
            target=target,
            url=url,
            body=body,
            created_at=now,
            max_attempts=self.policy.max_attempts,
            next_attempt_at=now,
            meta=dict(meta or {}),
        )
        with self._store.transaction():
            self._store.put(DELIVERIES, tenant, delivery.id, delivery)
            self._schedule(delivery, now)
        return delivery

    def _schedule(self, delivery: Delivery, when: datetime) -> None:
        self._scheduler.call_at(when, JOB, delivery.tenant, f"outbox|{delivery.id}", delivery.id)

    def _save(self, delivery: Delivery) -> None:
        retire_at = None if delivery.status == "pending" else self._clock.timestamp() + self.retention
        self._store.put(DELIVERIES, delivery.tenant, delivery.id, delivery, retire_at=retire_at)

    async def _on_timer(self, timer: Timer) -> None:
        await self.attempt(timer.tenant, timer.payload)

    # -- reading -----------------------------------------------------------------------------

    def get(self, delivery_id: str) -> Delivery | None:
        found = self._store.find(DELIVERIES, delivery_id)
        return found[1] if found else None

    def list(
        self, tenant: str | None = None, *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[Delivery]:
        """Deliveries in the order they were queued, across tenants and vendors (or newest first)."""
        if tenant is not None:
            return self._store.values(DELIVERIES, tenant, newest_first=newest_first, limit=limit, offset=offset)
        return [
            delivery
            for _, delivery in self._store.scan(DELIVERIES, newest_first=newest_first, limit=limit, offset=offset)
        ]

    # -- faults ------------------------------------------------------------------------------

    @property
    def faults(self) -> builtins.list[WebhookFault]:
        return self._store.values(WEBHOOK_FAULTS, GLOBAL)

    def add_fault(self, **spec: Any) -> WebhookFault:
        with self._store.transaction():
            fault = WebhookFault(id=f"webhook-fault-{self._store.incr('webhook-fault')}", **spec)
            self._store.put(WEBHOOK_FAULTS, GLOBAL, fault.id, fault)
        return fault

    def remove_fault(self, fault_id: str) -> bool:
        return self._store.delete(WEBHOOK_FAULTS, GLOBAL, fault_id)

    def clear_faults(self) -> None:
        with self._store.transaction():
            for fault in self.faults:
                self._store.delete(WEBHOOK_FAULTS, GLOBAL, fault.id)

    def _take_fault(self, delivery: Delivery, url: str, *, skip_reorder: bool) -> WebhookFault | None:
        with self._store.transaction():
            for fault in self.faults:
                if skip_reorder and fault.kind == "reorder":
                    continue
                if fault.matches(delivery, url):
                    fault = msgspec.structs.replace(fault, remaining=fault.remaining - 1, fired=fault.fired + 1)
                    if fault.remaining <= 0:
                        self._store.delete(WEBHOOK_FAULTS, GLOBAL, fault.id)
                    else:
                        self._store.put(WEBHOOK_FAULTS, GLOBAL, fault.id, fault)
                    return fault
        return None

    # -- sending -----------------------------------------------------------------------------

    async def _post(
        self, url: str, body: bytes, headers: Mapping[str, str]
    ) -> tuple[int | None, str | None, str | None, float]:
        """(status, response body, error, latency ms) of one POST."""
        status_code: int | None = None
        response_body: str | None = None
        error: str | None = None
        start = self._clock.monotonic()
        client = self._client()
        import httpx

        try:
            response = await client.post(url, content=body, headers=dict(headers))
            status_code = response.status_code
            response_body = response.text[:RESPONSE_BODY_LIMIT]
            if not 200 <= status_code < 300:
                error = f"receiver answered {status_code}"
        except httpx.TimeoutException:
            error = f"timed out after {self.policy.timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return status_code, response_body, error, (self._clock.monotonic() - start) * 1000

    async def attempt(self, tenant: str, delivery_id: str) -> Delivery | None:
        delivery = self._store.get(DELIVERIES, tenant, delivery_id)
        if delivery is None or delivery.status != "pending":
            return delivery
        started_at = self._clock.now()
        # Signed with the wall-clock time of the attempt, not sandbox time (as Stripe signs test
        # clock events): a receiver checks freshness against its own clock, whatever time travel did.
        timestamp = int(self._clock.wall())
        preparer = self._preparers.get(delivery.vendor)
        prepared = preparer(delivery, timestamp) if preparer else None
        if prepared is None:
            done = msgspec.structs.replace(
                delivery, status="abandoned", next_attempt_at=None, note="the destination no longer exists"
            )
            self._save(done)
            return done

        fault = self._take_fault(delivery, prepared.url, skip_reorder=delivery.held)
        if fault is not None and fault.kind == "reorder":
            when = started_at + timedelta(seconds=fault.delay_seconds)
            held = msgspec.structs.replace(
                delivery,
                next_attempt_at=when,
                held=True,
                faults=(*delivery.faults, f"{fault.id}: held back {fault.delay_seconds:g} s to arrive out of order"),
            )
            with self._store.transaction():
                self._save(held)
                self._schedule(held, when)
            return held
        if fault is not None and fault.kind == "stale_timestamp" and preparer is not None:
            prepared = preparer(delivery, timestamp - fault.stale_by) or prepared

        headers = {"Content-Type": "application/json", **prepared.headers}
        stored_headers = redact_headers(headers)
        fault_note = f"{fault.id}: {fault.kind}" if fault is not None else None
        attempts: list[Attempt] = []
        number = len(delivery.attempts) + 1
        if fault is not None and fault.kind == "fail":
            attempts.append(
                Attempt(number, started_at, prepared.url, stored_headers, None, None, 0.0,
                        f"injected fault {fault.id}: the delivery failed on purpose", fault_note)
            )  # fmt: skip
        else:
            sends = 2 if fault is not None and fault.kind == "duplicate" else 1
            for n in range(sends):
                status_code, response_body, error, latency = await self._post(prepared.url, delivery.body, headers)
                attempts.append(
                    Attempt(number + n, started_at, prepared.url, stored_headers, status_code, response_body, latency,
                            error,
                            fault_note)
                )  # fmt: skip

        with self._store.transaction():
            return self._record(tenant, delivery_id, attempts, fault_note)

    def _record(
        self, tenant: str, delivery_id: str, attempts: builtins.list[Attempt], fault_note: str | None
    ) -> Delivery | None:
        """Write what an attempt did (in one unit of work with the next attempt's timer)."""
        # The record may have changed while we waited on the network (a reset, say).
        current = self._store.get(DELIVERIES, tenant, delivery_id)
        if current is None:
            return None
        all_attempts = (*current.attempts, *attempts)
        faults = (*current.faults, fault_note) if fault_note else current.faults
        if any(attempt.ok for attempt in attempts):
            updated = msgspec.structs.replace(
                current, status="delivered", attempts=all_attempts, next_attempt_at=None, faults=faults
            )
        elif len(all_attempts) >= current.max_attempts:
            updated = msgspec.structs.replace(
                current,
                status="failed",
                attempts=all_attempts,
                next_attempt_at=None,
                note="out of attempts",
                faults=faults,
            )
        else:
            when = self._clock.now() + self.policy.delay(len(all_attempts), self._rng)
            updated = msgspec.structs.replace(current, attempts=all_attempts, next_attempt_at=when, faults=faults)
            self._schedule(updated, when)
        self._save(updated)
        return updated

    def redeliver(self, delivery_id: str) -> Delivery | None:
        """Queue a finished delivery again with a fresh set of attempts (history kept)."""
        found = self._store.find(DELIVERIES, delivery_id)
        if found is None:
            return None
        delivery = found[1]
        now = self._clock.now()
        again = msgspec.structs.replace(
            delivery,
            status="pending",
            max_attempts=len(delivery.attempts) + self.policy.max_attempts,
            next_attempt_at=now,
            note=None,
        )
        with self._store.transaction():
            self._save(again)
            self._schedule(again, now)
        return again
