"""The in-memory store: dicts in insertion order, an undo log for rollback, one lock.

The default of ``create_app()`` and the pytest plugin: ephemeral and fast. Records are kept
encoded by their kind's codec, as the SQL backends hold them (so a record read back is a
copy, and the cycle collector has nothing to walk); a transaction
records how to undo each write and replays that log backwards when the unit of work raises.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec

from passbox.core.store.base import Kind, T, Timer

# A record: (seq, version, retire_at, encoded data). Tuples of atomic values and encoded
# records are not tracked by Python's cycle collector, so a store of a million records adds
# nothing to the collector's pauses (live objects made full collections take 200 ms).
_Row = tuple[int, int, float | None, bytes]


class _Timers:
    """(tenant, key) -> Timer, held as plain tuples for the same reason as records."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], tuple[str, str, float, str, str, int]] = {}

    def get(self, at: tuple[str, str]) -> Timer | None:
        row = self._rows.get(at)
        return None if row is None else Timer(*row)

    def __getitem__(self, at: tuple[str, str]) -> Timer:
        return Timer(*self._rows[at])

    def __setitem__(self, at: tuple[str, str], timer: Timer) -> None:
        self._rows[at] = (timer.tenant, timer.key, timer.due, timer.job, timer.payload, timer.claim)

    def pop(self, at: tuple[str, str], default: None = None) -> Timer | None:
        row = self._rows.pop(at, None)
        return None if row is None else Timer(*row)

    def __contains__(self, at: object) -> bool:
        return at in self._rows

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def values(self) -> Iterator[Timer]:
        return (Timer(*row) for row in self._rows.values())

    def items(self) -> Iterator[tuple[tuple[str, str], Timer]]:
        return ((at, Timer(*row)) for at, row in self._rows.items())

    def live(self, at: tuple[str, str], claim: int, due: float) -> bool:
        row = self._rows.get(at)
        return row is not None and row[5] == claim and row[2] == due

    def clear(self) -> None:
        self._rows.clear()


class MemoryStore:
    shared = False

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._depth = 0
        self._undo: list[Callable[[], None]] = []
        self._seq = 0
        # kind -> tenant -> key -> row; kind -> (tenant, key) -> row (insertion order across tenants)
        self._rows: dict[str, dict[str, dict[str, _Row]]] = {}
        self._order: dict[str, dict[tuple[str, str], _Row]] = {}
        # kind -> (tenant, key) -> seq of the rows with a retire_at, oldest first once sorted
        self._retirable: dict[str, dict[tuple[str, str], int]] = {}
        self._retirable_sorted: dict[str, bool] = {}
        # kind -> no retirable row retires before this (a lower bound; unset: unknown)
        self._retire_floor: dict[str, float] = {}
        self._counters: dict[str, int] = {}
        self._settings: dict[str, Any] = {}
        self._timers = _Timers()
        self._leases: dict[tuple[str, str], float] = {}
        # heap of (due, seq, tenant, key, claim): first due first, then first scheduled; stale entries skipped
        self._due: list[tuple[float, int, str, str, int]] = []
        self._timer_seq: dict[tuple[str, str], int] = {}

    # -- units of work -----------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[MemoryStore]:
        with self._lock:
            self._depth += 1
            mark = len(self._undo)
            try:
                yield self
            except BaseException:
                while len(self._undo) > mark:
                    self._undo.pop()()
                raise
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._undo.clear()

    async def durable(self) -> None:
        return None  # every unit of work is done when it returns

    def _log(self, undo: Callable[[], None]) -> None:
        if self._depth:
            self._undo.append(undo)

    # -- records -----------------------------------------------------------------------------

    def _row(self, kind: Kind[Any], tenant: str, key: str) -> _Row | None:
        return self._rows.get(kind.name, {}).get(tenant, {}).get(key)

    def get(self, kind: Kind[T], tenant: str, key: str) -> T | None:
        row = self._row(kind, tenant, key)
        return None if row is None else kind.decode(row[3])

    def get_versioned(self, kind: Kind[T], tenant: str, key: str) -> tuple[T, int] | None:
        row = self._row(kind, tenant, key)
        return None if row is None else (kind.decode(row[3]), row[1])

    def _set_row(self, kind: str, tenant: str, key: str, row: _Row | None) -> None:
        """Place ``row`` (None: remove it) in every index, keeping an existing row's place."""
        at = (tenant, key)
        retirable = self._retirable.setdefault(kind, {})
        if row is None:
            self._rows.get(kind, {}).get(tenant, {}).pop(key, None)
            self._order.get(kind, {}).pop(at, None)
            retirable.pop(at, None)
            return
        self._rows.setdefault(kind, {}).setdefault(tenant, {})[key] = row
        self._order.setdefault(kind, {})[at] = row
        if row[2] is None:
            retirable.pop(at, None)
        else:
            floor = self._retire_floor.get(kind)
            if floor is not None and row[2] < floor:
                self._retire_floor[kind] = row[2]  # stays a lower bound of every retire_at
            if at not in retirable:
                if retirable and row[0] < next(reversed(retirable.values())):
                    self._retirable_sorted[kind] = False
                retirable[at] = row[0]

    def _write(self, kind: Kind[Any], tenant: str, key: str, value: Any, retire_at: float | None) -> int:
        data = kind.encode(value)
        with self._lock:
            before = self._row(kind, tenant, key)
            if before is None:
                self._seq += 1
                row: _Row = (self._seq, 1, retire_at, data)
            else:
                row = (before[0], before[1] + 1, retire_at, data)
            self._set_row(kind.name, tenant, key, row)
            self._log(lambda: self._restore(kind.name, tenant, key, before))
            return row[1]

    def _restore(self, kind: str, tenant: str, key: str, row: _Row | None) -> None:
        """Undo a write or a delete: put ``row`` back (None: remove the key) in its place by seq."""
        self._set_row(kind, tenant, key, row)
        if row is None:
            return
        # A rolled-back delete (rare) re-inserts at the end: rebuild the orders by seq.
        self._order[kind] = dict(sorted(self._order[kind].items(), key=lambda item: item[1][0]))
        bucket = self._rows[kind][tenant]
        self._rows[kind][tenant] = dict(sorted(bucket.items(), key=lambda item: item[1][0]))
        self._retirable_sorted[kind] = False

    def put(self, kind: Kind[T], tenant: str, key: str, value: T, *, retire_at: float | None = None) -> int:
        return self._write(kind, tenant, key, value, retire_at)

    def insert(self, kind: Kind[T], tenant: str, key: str, value: T, *, retire_at: float | None = None) -> bool:
        with self._lock:
            if self._row(kind, tenant, key) is not None:
                return False
            self._write(kind, tenant, key, value, retire_at)
            return True

    def cas(
        self, kind: Kind[T], tenant: str, key: str, value: T, version: int, *, retire_at: float | None = None
    ) -> bool:
        with self._lock:
            row = self._row(kind, tenant, key)
            if row is None or row[1] != version:
                return False
            self._write(kind, tenant, key, value, retire_at)
            return True

    def delete(self, kind: Kind[T], tenant: str, key: str) -> bool:
        with self._lock:
            row = self._row(kind, tenant, key)
            if row is None:
                return False
            self._set_row(kind.name, tenant, key, None)
            self._log(lambda: self._restore(kind.name, tenant, key, row))
            return True

    def values(
        self, kind: Kind[T], tenant: str, *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[T]:
        rows = list(self._rows.get(kind.name, {}).get(tenant, {}).values())
        return [kind.decode(row[3]) for row in _page(rows, newest_first, limit, offset)]

    def scan(
        self, kind: Kind[T], *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[tuple[str, T]]:
        items = list(self._order.get(kind.name, {}).items())
        return [(tenant, kind.decode(row[3])) for (tenant, _), row in _page(items, newest_first, limit, offset)]

    def count(self, kind: Kind[T], tenant: str | None = None) -> int:
        if tenant is not None:
            return len(self._rows.get(kind.name, {}).get(tenant, {}))
        return len(self._order.get(kind.name, {}))

    def find(self, kind: Kind[T], key: str) -> tuple[str, T] | None:
        best: tuple[int, str, bytes] | None = None
        for tenant, bucket in self._rows.get(kind.name, {}).items():
            row = bucket.get(key)
            if row is not None and (best is None or row[0] < best[0]):
                best = (row[0], tenant, row[3])
        return None if best is None else (best[1], kind.decode(best[2]))

    def tenants(self) -> list[str]:
        seen: dict[str, None] = {}
        for tenants in self._rows.values():
            seen.update(dict.fromkeys(tenant for tenant, bucket in tenants.items() if bucket))
        for tenant, _ in self._timers:
            seen[tenant] = None
        return list(seen)

    # -- counters and settings -----------------------------------------------------------------

    def incr(self, name: str, by: int = 1) -> int:
        with self._lock:
            before = self._counters.get(name)
            self._counters[name] = (before or 0) + by

            def undo() -> None:
                if before is None:
                    self._counters.pop(name, None)
                else:
                    self._counters[name] = before

            self._log(undo)
            return self._counters[name]

    def counter(self, name: str) -> int:
        return self._counters.get(name, 0)

    def get_setting(self, kind: Kind[T], name: str) -> T | None:
        return self._settings.get(name)

    def get_settings(self, wanted: Sequence[tuple[Kind[Any], str]]) -> list[Any]:
        return [self._settings.get(name) for _, name in wanted]

    def set_setting(self, kind: Kind[T], name: str, value: T) -> None:
        if not isinstance(value, kind.type):
            raise TypeError(f"setting {name} holds {kind.type.__name__}, not {type(value).__name__}")
        with self._lock:
            missing = name not in self._settings
            before = self._settings.get(name)

            def undo() -> None:
                if missing:
                    self._settings.pop(name, None)
                else:
                    self._settings[name] = before

            self._log(undo)
            self._settings[name] = value

    def insert_setting(self, kind: Kind[T], name: str, value: T) -> T:
        with self._lock:
            if name not in self._settings:
                self.set_setting(kind, name, value)
            return self._settings[name]  # type: ignore[no-any-return]

    # -- timers ------------------------------------------------------------------------------

    def _set_timer(self, timer: Timer | None, at: tuple[str, str], lease: float | None) -> None:
        before, lease_before = self._timers.get(at), self._leases.get(at)

        def undo() -> None:
            self._put_timer(at, before, lease_before)

        self._log(undo)
        self._put_timer(at, timer, lease)

    def _put_timer(self, at: tuple[str, str], timer: Timer | None, lease: float | None) -> None:
        if timer is None:
            self._timers.pop(at, None)
            self._timer_seq.pop(at, None)
        else:
            self._timers[at] = timer
            if at not in self._timer_seq:
                self._seq += 1
                self._timer_seq[at] = self._seq
            heapq.heappush(self._due, (timer.due, self._timer_seq[at], timer.tenant, timer.key, timer.claim))
        if lease is None:
            self._leases.pop(at, None)
        else:
            self._leases[at] = lease

    def schedule(self, tenant: str, key: str, due: float, job: str, payload: str = "") -> None:
        with self._lock:
            old = self._timers.get((tenant, key))
            claim = old.claim + 1 if old is not None else 0
            self._set_timer(Timer(tenant, key, due, job, payload, claim), (tenant, key), None)

    def cancel(self, tenant: str, key: str) -> bool:
        with self._lock:
            if (tenant, key) not in self._timers:
                return False
            self._set_timer(None, (tenant, key), None)
            return True

    def timer(self, tenant: str, key: str) -> Timer | None:
        return self._timers.get((tenant, key))

    def timers(self, tenant: str | None = None) -> list[Timer]:
        found = [timer for timer in self._timers.values() if tenant is None or timer.tenant == tenant]
        return sorted(found, key=lambda timer: (timer.due, self._timer_seq[(timer.tenant, timer.key)]))

    def _live(self, entry: tuple[float, int, str, str, int]) -> bool:
        return self._timers.live((entry[2], entry[3]), entry[4], entry[0])

    def _live_heap(self) -> None:
        """Drop stale entries at the top, and rebuild when most of the heap is stale (timers
        cancelled or rescheduled leave their old entries behind)."""
        while self._due and not self._live(self._due[0]):
            heapq.heappop(self._due)
        if len(self._due) > 64 and len(self._due) > 2 * len(self._timers):
            self._due = [entry for entry in self._due if self._live(entry)]
            heapq.heapify(self._due)

    def next_due(self, wall: float) -> float | None:
        with self._lock:
            self._live_heap()
            if not self._leases:
                return self._due[0][0] if self._due else None
            soonest: float | None = None
            for at, timer in self._timers.items():
                lease = self._leases.get(at)
                if (lease is None or lease <= wall) and (soonest is None or timer.due < soonest):
                    soonest = timer.due
            return soonest

    def claim_due(self, now: float, wall: float, lease: float, owner: str, limit: int = 100) -> list[Timer]:
        with self._lock:
            claimed: list[Timer] = []
            held: list[tuple[float, int, str, str, int]] = []
            while self._due and self._due[0][0] <= now and len(claimed) < limit:
                entry = heapq.heappop(self._due)
                if not self._live(entry):
                    continue
                at = (entry[2], entry[3])
                current = self._leases.get(at)
                if current is not None and current > wall:
                    held.append(entry)  # claimed by a worker whose lease still runs
                    continue
                timer = self._timers[at]
                taken = msgspec.structs.replace(timer, claim=timer.claim + 1)
                self._set_timer(taken, at, wall + lease)
                claimed.append(taken)
            for entry in held:
                heapq.heappush(self._due, entry)
            self._live_heap()
            return claimed

    def finish(self, timer: Timer) -> bool:
        with self._lock:
            at = (timer.tenant, timer.key)
            current = self._timers.get(at)
            if current is None or current.claim != timer.claim:
                return False
            self._set_timer(None, at, None)
            return True

    # -- upkeep ------------------------------------------------------------------------------

    def retire(self, kind: Kind[T], now: float, keep: int, limit: int | None = None) -> int:
        with self._lock:
            retirable = self._retirable.get(kind.name, {})
            if not self._retirable_sorted.get(kind.name, True):
                retirable = self._retirable[kind.name] = dict(sorted(retirable.items(), key=lambda item: item[1]))
                self._retirable_sorted[kind.name] = True
            order = self._order.get(kind.name, {})
            cap = len(retirable) if limit is None else limit
            due: list[tuple[str, str]] = []
            if now >= self._retire_floor.get(kind.name, float("-inf")):  # else nothing can be due
                soonest = float("inf")
                for at in retirable:
                    retire_at: float = order[at][2]  # type: ignore[assignment]
                    if retire_at <= now:
                        due.append(at)
                        if len(due) >= cap:
                            break
                    else:
                        soonest = min(soonest, retire_at)
                else:
                    self._retire_floor[kind.name] = soonest  # every row was seen: the exact floor
            excess = min(len(order) - len(due) - keep, cap)
            taken = set(due)
            over = [at for at in itertools.islice(retirable, len(due) + max(0, excess)) if at not in taken]
            doomed = due + over[: max(0, excess)]
            for tenant, key in doomed:
                self.delete(kind, tenant, key)
            return len(doomed)

    def trim(self, kind: Kind[T], keep: int) -> int:
        with self._lock:
            order = self._order.get(kind.name, {})
            doomed = list(itertools.islice(order, max(0, len(order) - keep)))
            for tenant, key in doomed:
                self.delete(kind, tenant, key)
            return len(doomed)

    def clear(self, tenant: str | None = None) -> None:
        with self._lock:
            if self._depth:
                raise RuntimeError("clear() cannot run inside a transaction")
            if tenant is None:
                self._rows.clear()
                self._order.clear()
                self._retirable.clear()
                self._retirable_sorted.clear()
                self._retire_floor.clear()
                self._counters.clear()
                self._timers.clear()
                self._timer_seq.clear()
                self._leases.clear()
                self._due.clear()
                self._seq = 0
                return
            for kind, tenants in self._rows.items():
                for key in tenants.pop(tenant, {}):
                    self._order[kind].pop((tenant, key), None)
                    self._retirable.get(kind, {}).pop((tenant, key), None)
            for at in [at for at in self._timers if at[0] == tenant]:
                self._timers.pop(at)
                self._timer_seq.pop(at, None)
                self._leases.pop(at, None)

    def close(self) -> None:
        return None


def _page(items: list[T], newest_first: bool, limit: int | None, offset: int) -> list[T]:
    if newest_first:
        items.reverse()
    end = None if limit is None else offset + limit
    return items[offset:end]
