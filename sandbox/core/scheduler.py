"""Timers on the app clock: webhook attempts, request expiry, anything that happens "later".

Work is scheduled at an instant of the app clock, never after a real delay, so moving the
clock makes it due. Two ways to run it:

- ``run_forever()``: the background loop started in the app lifespan. It waits for the next
  due instant (or, with a frozen clock, until the clock moves or new work arrives).
- ``drain()``: run everything due now, and everything that work makes due now, then return.
  Tests call it after acting (or after advancing the clock) instead of sleeping.

A failing job is logged and recorded in ``errors``; it never stops the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import inspect
import itertools
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sandbox.core.clock import Clock

log = logging.getLogger("passbox.scheduler")

Job = Callable[[], object]


@dataclass(order=True)
class _Entry:
    when: datetime
    seq: int
    key: str = field(compare=False)
    job: Job = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Scheduler:
    def __init__(
        self, clock: Clock, *, max_concurrency: int = 32, on_error: Callable[[BaseException], None] | None = None
    ) -> None:
        self._on_error = on_error
        self._clock = clock
        self._heap: list[_Entry] = []
        self._by_key: dict[str, _Entry] = {}
        self._seq = itertools.count()
        self._running: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(max_concurrency)
        self._loop: asyncio.AbstractEventLoop | None = None
        self.errors: deque[str] = deque(maxlen=100)
        clock.subscribe(self._wake_up)

    def _wake_up(self) -> None:
        """Wake the background loop; safe from any thread (a test may move a shared clock)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._wake.set()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    # -- scheduling --------------------------------------------------------------------------

    def call_at(self, when: datetime, job: Job, *, key: str | None = None) -> str:
        """Run ``job`` once the clock reaches ``when``. A job with the same key replaces the old one."""
        key = key or f"job-{next(self._seq)}"
        self.cancel(key)
        entry = _Entry(when, next(self._seq), key, job)
        heapq.heappush(self._heap, entry)
        self._by_key[key] = entry
        self._wake_up()
        return key

    def cancel(self, key: str) -> bool:
        entry = self._by_key.pop(key, None)
        if entry is None:
            return False
        entry.cancelled = True
        return True

    def pending(self) -> int:
        return len(self._by_key)

    def next_due(self) -> datetime | None:
        self._drop_cancelled()
        return self._heap[0].when if self._heap else None

    def clear(self) -> None:
        """Forget every scheduled job (jobs already running finish)."""
        for entry in self._heap:
            entry.cancelled = True
        self._heap.clear()
        self._by_key.clear()

    def clear_keys(self, prefix: str) -> None:
        """Forget the scheduled jobs whose key starts with ``prefix`` (by convention a job of a
        tenant has a key starting ``"<tenant>|"``, so one tenant can be reset alone)."""
        for key in [key for key in self._by_key if key.startswith(prefix)]:
            self.cancel(key)

    # -- running -----------------------------------------------------------------------------

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)

    def _start_due(self) -> int:
        now = self._clock.now()
        started = 0
        while True:
            self._drop_cancelled()
            if not self._heap or self._heap[0].when > now:
                return started
            entry = heapq.heappop(self._heap)
            self._by_key.pop(entry.key, None)
            task = asyncio.get_running_loop().create_task(self._run(entry))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            started += 1

    async def _run(self, entry: _Entry) -> None:
        async with self._limit:
            try:
                result = entry.job()
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                log.exception("scheduled job %s failed", entry.key)
                self.errors.append(f"{entry.key}: {type(exc).__name__}: {exc}")
                if self._on_error is not None:
                    self._on_error(exc)

    async def drain(self) -> int:
        """Run all due work to completion, including work it makes due; return how many jobs ran."""
        ran = 0
        while True:
            ran += self._start_due()
            if not self._running:
                return ran
            await asyncio.gather(*list(self._running))

    async def run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            self._start_due()
            self._wake.clear()
            due = self.next_due()
            timeout: float | None = None
            if due is not None and not self._clock.is_frozen:
                timeout = max(0.0, (due - self._clock.now()).total_seconds())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def shutdown(self) -> None:
        """Cancel jobs in flight (used when the app stops)."""
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*list(self._running), return_exceptions=True)
