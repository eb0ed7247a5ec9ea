"""The store's contract: typed records, counters, timers and settings in units of work.

Every piece of state of an app lives in one store (design.md, decision 3). Records are
immutable dataclasses of a declared :class:`Kind`, partitioned by tenant (a vendor-qualified
id such as ``seekpass:<client_id>``); one codec (msgspec) turns every kind into bytes and
back, so the SQL backends hold exactly what the memory backend holds.

A *unit of work* is ``with store.transaction():`` around synchronous code: everything it
writes (records, counters, timers, settings) commits together or, when it raises, not at
all. Code inside never awaits, so nothing is checked before an ``await`` and written after
it. Transactions nest: an inner one joins the outer. Outside a transaction every call is a
unit of work of its own. On an event loop the SQL stores
commit the units of work of one loop turn together (each in a savepoint, so one that raises
undoes itself alone); a caller that acknowledges a write awaits ``durable()`` first. Write
transactions are serialised (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: an advisory transaction lock; memory: a lock), which is what makes
insert-if-absent, compare-and-set and counters atomic across threads, workers and replicas.

Timers are rows with a due instant on the app clock (never closures): a worker *claims* due
timers with a lease measured in wall time, runs their job by name, and *finishes* them; a
claim whose worker died runs out and the timer is claimed again (at-least-once).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import msgspec

T = TypeVar("T")

GLOBAL = ""  # the tenant of state that belongs to no partner (fault rules, the journal)


class StoreError(Exception):
    """The store cannot be opened or used (bad URL, missing driver, broken database)."""


def take_count(count: int) -> int:
    """``count`` for ``Store.take``, which hands out one position or more: a count of 0 or less
    would answer with a position already handed out (or step a counter back)."""
    if count < 1:
        raise ValueError(f"take hands out at least one position, not {count}")
    return count


@dataclass(frozen=True, eq=False)
class Kind(Generic[T]):
    """A named kind of record and its type; the codec decodes a kind's rows into ``type``.

    Records are JSON. A ``packed`` kind's are MessagePack: for big records written often and
    read rarely (the journal's batches), where bytes then stay bytes instead of base64 text and
    encoding is one pass in C. A packed kind still reads the JSON rows an earlier passbox wrote
    (a JSON object starts with ``{``; a MessagePack map never does)."""

    name: str
    type: type[T]
    packed: bool = False

    def __post_init__(self) -> None:
        decoder: Any = msgspec.json.Decoder(self.type)
        object.__setattr__(self, "_decoder", decoder)
        if self.packed:
            object.__setattr__(self, "_unpacker", msgspec.msgpack.Decoder(self.type))

    def encode(self, value: T) -> bytes:
        if not isinstance(value, self.type):
            raise TypeError(f"{self.name} holds {self.type.__name__} records, not {type(value).__name__}")
        return _PACKER.encode(value) if self.packed else _ENCODER.encode(value)

    def decode(self, data: bytes | memoryview | str) -> T:
        if isinstance(data, memoryview):
            data = bytes(data)
        if self.packed and not (data[:1] == b"{" or data[:1] == "{"):
            unpacked: T = self.__dict__["_unpacker"].decode(data)
            return unpacked
        decoded: T = self.__dict__["_decoder"].decode(data)
        return decoded


_ENCODER = msgspec.json.Encoder()
_PACKER = msgspec.msgpack.Encoder()


class Timer(msgspec.Struct, frozen=True):
    """Scheduled work: run ``job`` for ``tenant``/``key`` once the app clock reaches ``due``."""

    tenant: str
    key: str
    due: float  # Unix seconds on the app clock
    job: str
    payload: str = ""
    claim: int = 0  # bumped by every claim and every reschedule; finish() needs the current one

    @property
    def due_at(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.due, _dt.UTC)


class Store(Protocol):
    """What every backend implements (see the module docstring for the rules)."""

    url: str
    # Whether other processes may share this store (then clock and rules are re-read per request).
    shared: bool

    def transaction(self) -> AbstractContextManager[Store]: ...

    async def durable(self) -> None:
        """Return once every unit of work the current task ran is committed (SQL stores commit
        the units of one turn of the event loop together; the memory store has nothing to wait for)."""
        ...

    # -- records -----------------------------------------------------------------------------
    def get(self, kind: Kind[T], tenant: str, key: str) -> T | None: ...

    def get_versioned(self, kind: Kind[T], tenant: str, key: str) -> tuple[T, int] | None:
        """The record and its version (1 on insert, +1 on every write)."""
        ...

    def put(self, kind: Kind[T], tenant: str, key: str, value: T, *, retire_at: float | None = None) -> int:
        """Insert or replace (a replaced record keeps its place in the order); returns the new version.
        ``retire_at`` (app-clock Unix seconds) makes the record retirable from then on."""
        ...

    def insert(self, kind: Kind[T], tenant: str, key: str, value: T, *, retire_at: float | None = None) -> bool:
        """Insert only if absent; False (and nothing written) when the key exists."""
        ...

    def cas(
        self, kind: Kind[T], tenant: str, key: str, value: T, version: int, *, retire_at: float | None = None
    ) -> bool:
        """Replace only if the stored version is ``version``."""
        ...

    def delete(self, kind: Kind[T], tenant: str, key: str) -> bool: ...

    def values(
        self, kind: Kind[T], tenant: str, *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[T]:
        """Records of one kind and tenant in insertion order (or newest first)."""
        ...

    def scan(
        self, kind: Kind[T], *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[tuple[str, T]]:
        """(tenant, record) of every tenant, in insertion order across tenants (or newest first)."""
        ...

    def count(self, kind: Kind[T], tenant: str | None = None) -> int: ...

    def find(self, kind: Kind[T], key: str) -> tuple[str, T] | None:
        """The (tenant, record) holding ``key`` among all tenants (the oldest, if several)."""
        ...

    def tenants(self) -> list[str]: ...

    # -- counters ----------------------------------------------------------------------------
    def incr(self, name: str, by: int = 1) -> int:
        """Add ``by`` to a counter (absent counters start at 0); returns the new value."""
        ...

    def counter(self, name: str) -> int: ...

    def take(self, name: str, count: int = 1) -> int:
        """The next ``count`` positions of the sequence ``name`` (returns the last; they are
        contiguous): no two takes get the same position, in any process sharing the store,
        until ``clear()`` starts the sequences over, and a unit of work that rolls back gives
        its positions back. A backend may reserve positions in blocks (SQLite): then the
        sequence's counter runs ahead of what was taken, takes of several processes
        interleave, and positions reserved but never taken are skipped, as after a restart."""
        ...

    # -- settings (one typed value per name, never cleared by reset) ----------------------------
    def get_setting(self, kind: Kind[T], name: str) -> T | None: ...

    def set_setting(self, kind: Kind[T], name: str, value: T) -> None: ...

    def get_settings(self, wanted: Sequence[tuple[Kind[Any], str]]) -> list[Any]:
        """Several settings in one read, in the order asked (None for one that is unset)."""
        ...

    def insert_setting(self, kind: Kind[T], name: str, value: T) -> T:
        """Set ``name`` unless it is set already; returns the value that is stored."""
        ...

    # -- timers ------------------------------------------------------------------------------
    def schedule(self, tenant: str, key: str, due: float, job: str, payload: str = "") -> None:
        """Create or replace a timer (a replaced timer drops any claim on it)."""
        ...

    def cancel(self, tenant: str, key: str) -> bool: ...

    def timer(self, tenant: str, key: str) -> Timer | None: ...

    def timers(self, tenant: str | None = None) -> list[Timer]:
        """Pending timers, soonest first."""
        ...

    def next_due(self, wall: float) -> float | None:
        """The soonest due instant among timers not leased at ``wall``."""
        ...

    def claim_due(self, now: float, wall: float, lease: float, owner: str, limit: int = 100) -> list[Timer]:
        """Lease up to ``limit`` timers due at ``now`` (app clock) and not leased at ``wall``."""
        ...

    def finish(self, timer: Timer) -> bool:
        """Delete a claimed timer, unless it was claimed again or rescheduled since."""
        ...

    # -- upkeep ------------------------------------------------------------------------------
    def retire(self, kind: Kind[T], now: float, keep: int, limit: int | None = None) -> int:
        """Delete records of ``kind`` retirable at ``now``, and the oldest retirable ones beyond
        ``keep`` in all; records with no ``retire_at`` are never retired. At most ``limit`` of
        each sort in one call (so a sweep never holds the write lock long). Returns how many."""
        ...

    def trim(self, kind: Kind[T], keep: int) -> int:
        """Delete the oldest records of ``kind`` beyond ``keep`` (for logs such as the journal)."""
        ...

    def clear(self, tenant: str | None = None) -> None:
        """Forget every record, timer and counter (settings stay), or one tenant's records and timers."""
        ...

    def close(self) -> None: ...
