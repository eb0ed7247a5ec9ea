"""What the control plane works on: the core, both vendor backends, the journal and faults."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from passbox.core.faults import Faults
from passbox.core.journal import Journal
from passbox.core.operations import OperationIndex
from passbox.core.runtime import Core
from passbox.core.specs import Spec
from passbox.core.store import Kind
from passbox.core.webhooks import DELIVERIES
from passbox.seekpass import backend as seekpass_backend
from passbox.seekpass.backend import SeekPassBackend
from passbox.settings import Settings
from passbox.verifypass import backend as verifypass_backend
from passbox.verifypass.backend import VerifyPassBackend

STARTUP_FAULTS = "startup-faults"
RETIRE_BATCH = 500  # records of a kind retired by one sweep (sweeps run every second)
RETIRABLE: tuple[Kind[Any], ...] = (
    seekpass_backend.REQUESTS,
    seekpass_backend.SESSIONS,
    verifypass_backend.ACTIVITY,
    verifypass_backend.CACHE,
    verifypass_backend.SPENT,
    DELIVERIES,
)


@dataclass
class ControlContext:
    settings: Settings
    core: Core
    spec: Spec
    seekpass: SeekPassBackend
    verifypass: VerifyPassBackend
    journal: Journal
    faults: Faults
    index: OperationIndex
    # Fault rules given at startup (--faults), restored by a full reset.
    startup_faults: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Drains still running after a clock change answered (kept so they are not collected).
    background: set[asyncio.Task[int]] = field(default_factory=set)

    async def settle(self, wait: float = 5.0) -> int | None:
        """Run what is due now (deliveries, expiries) before answering, so the caller sees it
        happened; after ``wait`` seconds (a slow receiver) answer anyway and let it finish in
        the background. Returns how many jobs ran, or None when it did not wait for all."""
        task = asyncio.ensure_future(self.core.scheduler.drain())
        done, _ = await asyncio.wait({task}, timeout=wait)
        if not done:
            self.background.add(task)
            task.add_done_callback(self.background.discard)
            return None
        return task.result()

    def apply_startup_faults(self) -> None:
        """Add the --faults rules once per fresh store (a restart finds them in the store)."""
        store = self.core.store
        with store.transaction():
            if store.counter(STARTUP_FAULTS) > 0:
                return
            store.incr(STARTUP_FAULTS)
            for rule in self.startup_faults.get("faults", []):
                add_fault(self, rule)
            for rule in self.startup_faults.get("webhook_faults", []):
                self.core.outbox.add_fault(**rule)

    def reset(self, tenant: str | None = None) -> None:
        """Back to fixtures and seed: everything (every record, timer, counter and id position,
        as if new; the seed, server secret and clock stay), or one tenant's records and timers."""
        self.journal.clear(tenant)
        self.core.store.clear(tenant)
        if tenant is None:
            self.apply_startup_faults()
        else:
            self.journal.recount()

    def retire(self) -> int:
        """Retention: retire finished records past their time or beyond the count cap."""
        now = self.core.clock.timestamp()
        keep = self.settings.max_records
        return sum(self.core.store.retire(kind, now, keep, RETIRE_BATCH) for kind in RETIRABLE)

    def tenants(self) -> set[str]:
        return {partner.tenant for partner in self.seekpass.partners.values()} | {
            account.tenant for account in self.verifypass.directory.accounts.values()
        }


def add_fault(context: ControlContext, spec: Mapping[str, Any]) -> Any:
    """Add a request fault rule from a validated FaultRuleCreate; an operation implies its vendor."""
    values = dict(spec)
    operation = values.get("operation", "*")
    if operation != "*":
        match = next((op for op in context.index.operations if op.operation_id == operation), None)
        if match is not None:
            values["vendor"] = match.vendor
    low, high = values.get("latency_ms", 0.0), values.get("latency_max_ms")
    if high is not None and high < low:
        values["latency_ms"], values["latency_max_ms"] = high, low
    return context.faults.add(**values)
