"""The shared machinery of one app, handed to each vendor. One per app; nothing global."""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from passbox.core.clock import Clock
from passbox.core.fakedata import FakeData
from passbox.core.pages import Pages
from passbox.core.personas import Persona
from passbox.core.rand import Rand
from passbox.core.scheduler import Scheduler
from passbox.core.store import Store
from passbox.core.webhooks import Outbox


class Core(msgspec.Struct, frozen=True):
    clock: Clock
    rand: Rand
    fake: FakeData
    store: Store
    scheduler: Scheduler
    outbox: Outbox
    pages: Pages
    personas: Mapping[str, Persona]
