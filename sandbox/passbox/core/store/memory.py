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

from passbox.core.store.base import Kind, T, Timer, take_count


class _Row(msgspec.Struct, gc=False, frozen=True):
    """A record as held: its place (seq), version, retirement, encoded data, and its tenant and
    key (so the indexes by seq can name it).

    Nothing the store holds is seen by Python's cycle collector, nor are the dicts that hold
    it: rows are never tracked (``gc=False``; they hold only strings, numbers and bytes, so
    they can be in no cycle) and every key is a string or an int. A dict is tracked again as
    soon as a tracked object (a tuple made at run time, say) goes into it, and the collector
    then walks all of it: with tuple keys, each create put the store's big dicts back in its
    view, and its pauses (up to 13 ms at 60,000 requests) were most of the create load's p99.
    """

    seq: int
    version: int
    retire_at: float | None
    data: bytes
    tenant: str
    key: str


class _Timed(msgspec.Struct, gc=False, frozen=True):
    """A timer as held: the timer, its place among timers scheduled at the same instant (kept
    while it is rescheduled), and the wall time its claim's lease runs to (None: unclaimed)."""

    timer: Timer
    seq: int
    lease: float | None


class MemoryStore:
    shared = False

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self._lock = threading.RLock()
        self._depth = 0
        self._undo: list[Callable[[], None]] = []
        self._seq = 0
        # kind -> tenant -> key -> row; kind -> seq -> row (insertion order across tenants)
        self._rows: dict[str, dict[str, dict[str, _Row]]] = {}
        self._order: dict[str, dict[int, _Row]] = {}
        # kind -> seqs of the rows with a retire_at, oldest first once sorted
        self._retirable: dict[str, dict[int, None]] = {}
        self._retirable_sorted: dict[str, bool] = {}
        # kind -> no retirable row retires before this (a lower bound; unset: unknown)
        self._retire_floor: dict[str, float] = {}
        self._counters: dict[str, int] = {}
        self._settings: dict[str, Any] = {}
        self._timers: dict[str, dict[str, _Timed]] = {}  # tenant -> key -> timer
        self._leased = 0  # timers with a lease
        # heap of (due, seq, tenant, key, claim): first due first, then first scheduled; stale entries skipped
        self._due: list[tuple[float, int, str, str, int]] = []

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
        return None if row is None else kind.decode(row.data)

    def get_versioned(self, kind: Kind[T], tenant: str, key: str) -> tuple[T, int] | None:
        row = self._row(kind, tenant, key)
        return None if row is None else (kind.decode(row.data), row.version)

    def _set_row(self, kind: str, tenant: str, key: str, row: _Row | None) -> None:
        """Place ``row`` (None: remove the key's) in every index, keeping an existing row's place."""
        retirable = self._retirable.setdefault(kind, {})
        if row is None:
            old = self._rows.get(kind, {}).get(tenant, {}).pop(key, None)
            if old is not None:
                self._order.get(kind, {}).pop(old.seq, None)
                retirable.pop(old.seq, None)
            return
        self._rows.setdefault(kind, {}).setdefault(tenant, {})[key] = row
        self._order.setdefault(kind, {})[row.seq] = row
        if row.retire_at is None:
            retirable.pop(row.seq, None)
        else:
            floor = self._retire_floor.get(kind)
            if floor is not None and row.retire_at < floor:
                self._retire_floor[kind] = row.retire_at  # stays a lower bound of every retire_at
            if row.seq not in retirable:
                if retirable and row.seq < next(reversed(retirable)):
                    self._retirable_sorted[kind] = False
                retirable[row.seq] = None

    def _write(self, kind: Kind[Any], tenant: str, key: str, value: Any, retire_at: float | None) -> int:
        data = kind.encode(value)
        with self._lock:
            before = self._row(kind, tenant, key)
            if before is None:
                self._seq += 1
                row = _Row(self._seq, 1, retire_at, data, tenant, key)
            else:
                row = _Row(before.seq, before.version + 1, retire_at, data, tenant, key)
            self._set_row(kind.name, tenant, key, row)
            self._log(lambda: self._restore(kind.name, tenant, key, before))
            return row.version

    def _restore(self, kind: str, tenant: str, key: str, row: _Row | None) -> None:
        """Undo a write or a delete: put ``row`` back (None: remove the key) in its place by seq."""
        self._set_row(kind, tenant, key, row)
        if row is None:
            return
        # A rolled-back delete (rare) re-inserts at the end: rebuild the orders by seq.
        self._order[kind] = dict(sorted(self._order[kind].items()))
        bucket = self._rows[kind][tenant]
        self._rows[kind][tenant] = dict(sorted(bucket.items(), key=lambda item: item[1].seq))
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
            if row is None or row.version != version:
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
        return [kind.decode(row.data) for row in _page(rows, newest_first, limit, offset)]

    def scan(
        self, kind: Kind[T], *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[tuple[str, T]]:
        rows = list(self._order.get(kind.name, {}).values())
        return [(row.tenant, kind.decode(row.data)) for row in _page(rows, newest_first, limit, offset)]

    def count(self, kind: Kind[T], tenant: str | None = None) -> int:
        if tenant is not None:
            return len(self._rows.get(kind.name, {}).get(tenant, {}))
        return len(self._order.get(kind.name, {}))

    def find(self, kind: Kind[T], key: str) -> tuple[str, T] | None:
        best: tuple[int, str, bytes] | None = None
        for tenant, bucket in self._rows.get(kind.name, {}).items():
            row = bucket.get(key)
            if row is not None and (best is None or row.seq < best[0]):
                best = (row.seq, tenant, row.data)
        return None if best is None else (best[1], kind.decode(best[2]))

    def tenants(self) -> list[str]:
        seen: dict[str, None] = {}
        for tenants in self._rows.values():
            seen.update(dict.fromkeys(tenant for tenant, bucket in tenants.items() if bucket))
        seen.update(dict.fromkeys(tenant for tenant, bucket in self._timers.items() if bucket))
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

    def take(self, name: str, count: int = 1) -> int:
        return self.incr(name, take_count(count))  # one process: its counter is the sequence

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

    def _timed(self, tenant: str, key: str) -> _Timed | None:
        return self._timers.get(tenant, {}).get(key)

    def _set_timer(self, tenant: str, key: str, timer: Timer | None, lease: float | None) -> None:
        before = self._timed(tenant, key)
        self._log(lambda: self._put_timer(tenant, key, before))
        if timer is None:
            self._put_timer(tenant, key, None)
            return
        if before is None:
            self._seq += 1
        self._put_timer(tenant, key, _Timed(timer, self._seq if before is None else before.seq, lease))

    def _put_timer(self, tenant: str, key: str, timed: _Timed | None) -> None:
        bucket = self._timers.setdefault(tenant, {})
        old = bucket.pop(key, None)
        if old is not None and old.lease is not None:
            self._leased -= 1
        if timed is None:
            return
        bucket[key] = timed
        if timed.lease is not None:
            self._leased += 1
        heapq.heappush(self._due, (timed.timer.due, timed.seq, tenant, key, timed.timer.claim))

    def schedule(self, tenant: str, key: str, due: float, job: str, payload: str = "") -> None:
        with self._lock:
            old = self._timed(tenant, key)
            claim = old.timer.claim + 1 if old is not None else 0
            self._set_timer(tenant, key, Timer(tenant, key, due, job, payload, claim), None)

    def cancel(self, tenant: str, key: str) -> bool:
        with self._lock:
            if self._timed(tenant, key) is None:
                return False
            self._set_timer(tenant, key, None, None)
            return True

    def timer(self, tenant: str, key: str) -> Timer | None:
        timed = self._timed(tenant, key)
        return None if timed is None else timed.timer

    def _all_timed(self) -> Iterator[_Timed]:
        for bucket in self._timers.values():
            yield from bucket.values()

    def timers(self, tenant: str | None = None) -> list[Timer]:
        found = self._all_timed() if tenant is None else iter(self._timers.get(tenant, {}).values())
        return [timed.timer for timed in sorted(found, key=lambda timed: (timed.timer.due, timed.seq))]

    def _live(self, entry: tuple[float, int, str, str, int]) -> bool:
        timed = self._timed(entry[2], entry[3])
        return timed is not None and timed.timer.claim == entry[4] and timed.timer.due == entry[0]

    def _live_heap(self) -> None:
        """Drop stale entries at the top, and rebuild when most of the heap is stale (timers
        cancelled or rescheduled leave their old entries behind)."""
        while self._due and not self._live(self._due[0]):
            heapq.heappop(self._due)
        if len(self._due) > 64 and len(self._due) > 2 * sum(len(bucket) for bucket in self._timers.values()):
            self._due = [entry for entry in self._due if self._live(entry)]
            heapq.heapify(self._due)

    def next_due(self, wall: float) -> float | None:
        with self._lock:
            self._live_heap()
            if not self._leased:
                return self._due[0][0] if self._due else None
            soonest: float | None = None
            for timed in self._all_timed():
                due = timed.timer.due
                if (timed.lease is None or timed.lease <= wall) and (soonest is None or due < soonest):
                    soonest = due
            return soonest

    def claim_due(self, now: float, wall: float, lease: float, owner: str, limit: int = 100) -> list[Timer]:
        with self._lock:
            claimed: list[Timer] = []
            held: list[tuple[float, int, str, str, int]] = []
            while self._due and self._due[0][0] <= now and len(claimed) < limit:
                entry = heapq.heappop(self._due)
                if not self._live(entry):
                    continue
                tenant, key = entry[2], entry[3]
                timed = self._timed(tenant, key)
                assert timed is not None  # live
                if timed.lease is not None and timed.lease > wall:
                    held.append(entry)  # claimed by a worker whose lease still runs
                    continue
                taken = msgspec.structs.replace(timed.timer, claim=timed.timer.claim + 1)
                self._set_timer(tenant, key, taken, wall + lease)
                claimed.append(taken)
            for entry in held:
                heapq.heappush(self._due, entry)
            self._live_heap()
            return claimed

    def finish(self, timer: Timer) -> bool:
        with self._lock:
            current = self._timed(timer.tenant, timer.key)
            if current is None or current.timer.claim != timer.claim:
                return False
            self._set_timer(timer.tenant, timer.key, None, None)
            return True

    # -- upkeep ------------------------------------------------------------------------------

    def retire(self, kind: Kind[T], now: float, keep: int, limit: int | None = None) -> int:
        with self._lock:
            retirable = self._retirable.get(kind.name, {})
            if not self._retirable_sorted.get(kind.name, True):
                retirable = self._retirable[kind.name] = dict.fromkeys(sorted(retirable))
                self._retirable_sorted[kind.name] = True
            order = self._order.get(kind.name, {})
            cap = len(retirable) if limit is None else limit
            due: list[int] = []
            if now >= self._retire_floor.get(kind.name, float("-inf")):  # else nothing can be due
                soonest = float("inf")
                for seq in retirable:
                    retire_at: float = order[seq].retire_at  # type: ignore[assignment]
                    if retire_at <= now:
                        due.append(seq)
                        if len(due) >= cap:
                            break
                    else:
                        soonest = min(soonest, retire_at)
                else:
                    self._retire_floor[kind.name] = soonest  # every row was seen: the exact floor
            excess = min(len(order) - len(due) - keep, cap)
            taken = set(due)
            over = [seq for seq in itertools.islice(retirable, len(due) + max(0, excess)) if seq not in taken]
            doomed = [order[seq] for seq in due + over[: max(0, excess)]]
            for row in doomed:
                self.delete(kind, row.tenant, row.key)
            return len(doomed)

    def trim(self, kind: Kind[T], keep: int) -> int:
        with self._lock:
            order = self._order.get(kind.name, {})
            doomed = list(itertools.islice(order.values(), max(0, len(order) - keep)))
            for row in doomed:
                self.delete(kind, row.tenant, row.key)
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
                self._leased = 0
                self._due.clear()
                self._seq = 0
                return
            for kind, tenants in self._rows.items():
                for row in tenants.pop(tenant, {}).values():
                    self._order[kind].pop(row.seq, None)
                    self._retirable.get(kind, {}).pop(row.seq, None)
            for timed in self._timers.pop(tenant, {}).values():
                if timed.lease is not None:
                    self._leased -= 1

    def close(self) -> None:
        return None


def _page(items: list[T], newest_first: bool, limit: int | None, offset: int) -> list[T]:
    if newest_first:
        items.reverse()
    end = None if limit is None else offset + limit
    return items[offset:end]
