"""The in-memory store: dicts in insertion order, an undo log for rollback, one lock.

The default of ``create_app()`` and the pytest plugin: ephemeral and fast. Records are kept
as the immutable objects they are (the SQL backends hold their encoded form); a transaction
records how to undo each write and replays that log backwards when the unit of work raises.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from passbox.core.store.base import Kind, T, Timer


@dataclass(slots=True)
class _Row:
    seq: int
    version: int
    retire_at: float | None
    value: Any


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
        self._counters: dict[str, int] = {}
        self._settings: dict[str, Any] = {}
        self._timers: dict[tuple[str, str], Timer] = {}
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

    def _log(self, undo: Callable[[], None]) -> None:
        if self._depth:
            self._undo.append(undo)

    # -- records -----------------------------------------------------------------------------

    def _row(self, kind: Kind[Any], tenant: str, key: str) -> _Row | None:
        return self._rows.get(kind.name, {}).get(tenant, {}).get(key)

    def get(self, kind: Kind[T], tenant: str, key: str) -> T | None:
        row = self._row(kind, tenant, key)
        return None if row is None else row.value

    def get_versioned(self, kind: Kind[T], tenant: str, key: str) -> tuple[T, int] | None:
        row = self._row(kind, tenant, key)
        return None if row is None else (row.value, row.version)

    def _write(self, kind: Kind[Any], tenant: str, key: str, value: Any, retire_at: float | None) -> int:
        if not isinstance(value, kind.type):
            raise TypeError(f"{kind.name} holds {kind.type.__name__} records, not {type(value).__name__}")
        with self._lock:
            bucket = self._rows.setdefault(kind.name, {}).setdefault(tenant, {})
            row = bucket.get(key)
            if row is None:
                self._seq += 1
                row = bucket[key] = _Row(self._seq, 1, retire_at, value)
                self._order.setdefault(kind.name, {})[(tenant, key)] = row
                self._log(lambda: self._forget(kind.name, tenant, key))
                return 1
            before = (row.version, row.retire_at, row.value)

            def undo() -> None:
                row.version, row.retire_at, row.value = before

            self._log(undo)
            row.version += 1
            row.retire_at = retire_at
            row.value = value
            return row.version

    def _drop(self, kind: str, tenant: str, key: str) -> _Row | None:
        row = self._rows.get(kind, {}).get(tenant, {}).pop(key, None)
        if row is not None:
            self._order[kind].pop((tenant, key), None)
        return row

    def _forget(self, kind: str, tenant: str, key: str) -> None:
        self._drop(kind, tenant, key)

    def _restore(self, kind: str, tenant: str, key: str, row: _Row) -> None:
        self._rows.setdefault(kind, {}).setdefault(tenant, {})[key] = row
        order = self._order.setdefault(kind, {})
        order[(tenant, key)] = row
        # Put it back in its place: rebuild the order by seq (rare: only a rolled-back delete).
        self._order[kind] = dict(sorted(order.items(), key=lambda item: item[1].seq))
        bucket = self._rows[kind][tenant]
        self._rows[kind][tenant] = dict(sorted(bucket.items(), key=lambda item: item[1].seq))

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
            if row is None or row.version != version:
                return False
            self._write(kind, tenant, key, value, retire_at)
            return True

    def delete(self, kind: Kind[T], tenant: str, key: str) -> bool:
        with self._lock:
            row = self._drop(kind.name, tenant, key)
            if row is None:
                return False
            self._log(lambda: self._restore(kind.name, tenant, key, row))
            return True

    def values(
        self, kind: Kind[T], tenant: str, *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[T]:
        rows = list(self._rows.get(kind.name, {}).get(tenant, {}).values())
        return [row.value for row in _page(rows, newest_first, limit, offset)]

    def scan(
        self, kind: Kind[T], *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[tuple[str, T]]:
        items = list(self._order.get(kind.name, {}).items())
        return [(tenant, row.value) for (tenant, _), row in _page(items, newest_first, limit, offset)]

    def count(self, kind: Kind[T], tenant: str | None = None) -> int:
        if tenant is not None:
            return len(self._rows.get(kind.name, {}).get(tenant, {}))
        return len(self._order.get(kind.name, {}))

    def find(self, kind: Kind[T], key: str) -> tuple[str, T] | None:
        best: tuple[int, str, Any] | None = None
        for tenant, bucket in self._rows.get(kind.name, {}).items():
            row = bucket.get(key)
            if row is not None and (best is None or row.seq < best[0]):
                best = (row.seq, tenant, row.value)
        return None if best is None else (best[1], best[2])

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
        timer = self._timers.get((entry[2], entry[3]))
        return timer is not None and timer.claim == entry[4] and timer.due == entry[0]

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
                taken = replace(timer, claim=timer.claim + 1)
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
            order = self._order.get(kind.name, {})
            retirable = [(at, row) for at, row in order.items() if row.retire_at is not None]
            excess = max(0, len(order) - keep)
            cap = len(retirable) if limit is None else limit
            due = [at for at, row in retirable if row.retire_at <= now][:cap]  # type: ignore[operator]
            taken = set(due)
            over = [at for at, _ in retirable if at not in taken][: min(max(0, excess - len(due)), cap)]
            doomed = due + over
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
