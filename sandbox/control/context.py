"""What the control plane works on: the core, both vendor backends, the journal and faults."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.core.faults import Faults
from sandbox.core.journal import Journal
from sandbox.core.operations import OperationIndex
from sandbox.core.runtime import Core
from sandbox.core.specs import Spec
from sandbox.seekpass.backend import SeekPassBackend
from sandbox.settings import Settings
from sandbox.verifypass.backend import VerifyPassBackend


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
        for rule in self.startup_faults.get("faults", []):
            add_fault(self, rule)
        for rule in self.startup_faults.get("webhook_faults", []):
            self.core.outbox.add_fault(**rule)

    def reset(self, tenant: str | None = None) -> None:
        """Back to fixtures and seed: everything, or one tenant's records, jobs and journal."""
        core = self.core
        if tenant is None:
            core.store.clear()
            core.scheduler.clear()
            core.rand.reset()
            self.journal.clear()
            self.faults.clear()
            core.outbox.faults.clear()
            self.apply_startup_faults()
            return
        core.store.clear(tenant)
        core.scheduler.clear_keys(f"{tenant}|")
        self.journal.clear(tenant)

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
