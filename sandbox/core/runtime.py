"""The shared machinery of one app, handed to each vendor. One per app; nothing global."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sandbox.core.clock import Clock
from sandbox.core.fakedata import FakeData
from sandbox.core.pages import Pages
from sandbox.core.personas import Persona
from sandbox.core.rand import Rand
from sandbox.core.scheduler import Scheduler
from sandbox.core.store import Store
from sandbox.core.webhooks import Outbox


@dataclass(frozen=True)
class Core:
    clock: Clock
    rand: Rand
    fake: FakeData
    store: Store
    scheduler: Scheduler
    outbox: Outbox
    pages: Pages
    personas: Mapping[str, Persona]
