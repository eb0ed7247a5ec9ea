"""Timers on the app clock: webhook attempts, request expiry, anything that happens "later".

Work is a row in the store (a :class:`~passbox.core.store.Timer`: tenant, key, due instant,
job name, payload), never a closure, so it survives a restart and any worker or replica can
run it. Jobs are looked up by name in the handlers the vendors register. A worker *claims*
due timers with a lease in wall time (time travel never shortens a lease), runs them and
*finishes* them; a handler that reschedules its own key (a retry) keeps the row. A worker
that dies leaves its claims to run out; another worker then runs the job again
(at-least-once, as webhooks are delivered).

Two ways to run work:

- ``run_forever()``: the background loop started in the app lifespan. It waits for the next
  due instant (or, with a frozen clock, until the clock moves or new work arrives); on a
  shared store it also looks again every ``poll_seconds``, since other processes add work.
  It is supervised: an error is logged, recorded and reported, and the loop goes on.
- ``drain()``: run everything due now, and everything that work makes due now, then return.
  Tests call it after acting (or after advancing the clock) instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from passbox.core.clock import Clock
from passbox.core.store import Store, Timer

log = logging.getLogger("passbox.scheduler")

Handler = Callable[[Timer], object]
CLAIM_BATCH = 64


@dataclass
class _Chore:
    """Upkeep run by the loop every ``interval`` wall seconds (journal flush, retention)."""

    interval: float
    run: Callable[[], object]
    next_at: float = 0.0
    again: Callable[[object], bool] | None = None  # given the result: is there more to do at once?


class Scheduler:
    def __init__(
        self,
        clock: Clock,
        store: Store,
        *,
        lease_seconds: float = 60.0,
        poll_seconds: float = 0.5,
        max_concurrency: int = 32,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._clock = clock
        self._store = store
        self._on_error = on_error
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._handlers: dict[str, Handler] = {}
        self._chores: list[_Chore] = []
        self._running: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(max_concurrency)
        self._loop: asyncio.AbstractEventLoop | None = None
        # The app-clock instant the loop looks for due work next (None: when woken). A timer
        # due later need not wake it: every created request schedules its expiry 48 h ahead.
        self._deadline: float | None = None
        self.errors: deque[str] = deque(maxlen=100)
        clock.subscribe(self._wake_up)

    def handle(self, job: str, handler: Handler) -> None:
        """Run ``handler(timer)`` for timers of ``job`` (sync or async)."""
        self._handlers[job] = handler

    def every(
        self, seconds: float, chore: Callable[[], object], *, again: Callable[[object], bool] | None = None
    ) -> None:
        """Run ``chore`` every ``seconds`` of wall time; when ``again(result)`` says a bounded run
        left work behind, it runs again on the loop's next turn (requests go first)."""
        self._chores.append(_Chore(seconds, chore, again=again))

    def _wake_up(self, due: float | None = None) -> None:
        """Wake the background loop (unless it will look before ``due`` anyway); safe from any
        thread (a test may move a shared clock)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._wake.set()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            if due is not None and self._deadline is not None and due > self._deadline:
                return  # the loop looks before ``due`` anyway
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    # -- scheduling --------------------------------------------------------------------------

    def call_at(self, when: datetime, job: str, tenant: str, key: str, payload: str = "") -> None:
        """Run ``job`` for ``tenant``/``key`` once the clock reaches ``when``; replaces a timer
        with the same tenant and key. Written in the caller's unit of work, if one is open."""
        if job not in self._handlers:
            raise KeyError(f"no handler for scheduled job {job!r}")
        due = when.timestamp()
        self._store.schedule(tenant, key, due, job, payload)
        self._wake_up(due)

    def cancel(self, tenant: str, key: str) -> bool:
        return self._store.cancel(tenant, key)

    def pending(self, tenant: str | None = None) -> int:
        return len(self._store.timers(tenant))

    def next_due(self) -> datetime | None:
        due = self._store.next_due(self._clock.wall())
        return None if due is None else datetime.fromtimestamp(due, UTC)

    # -- running -----------------------------------------------------------------------------

    def _start_due(self) -> int:
        started = 0
        while True:
            timers = self._store.claim_due(
                self._clock.timestamp(), self._clock.wall(), self.lease_seconds, self.owner, CLAIM_BATCH
            )
            for timer in timers:
                task = asyncio.get_running_loop().create_task(self._run(timer))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            started += len(timers)
            if len(timers) < CLAIM_BATCH:
                return started

    def _failed(self, what: str, exc: BaseException) -> None:
        log.error("%s failed", what, exc_info=exc)
        self.errors.append(f"{what}: {type(exc).__name__}: {exc}")
        if self._on_error is not None:
            self._on_error(exc)

    async def _run(self, timer: Timer) -> None:
        async with self._limit:
            try:
                handler = self._handlers.get(timer.job)
                if handler is None:
                    raise KeyError(f"no handler for scheduled job {timer.job!r}")
                result = handler(timer)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self._failed(f"scheduled job {timer.job} {timer.tenant}|{timer.key}", exc)
            # Not reached when cancelled (shutdown): the claim then runs out and another worker runs it.
            self._store.finish(timer)

    async def drain(self) -> int:
        """Run all due work to completion, including work it makes due; return how many jobs ran."""
        ran = 0
        while True:
            ran += self._start_due()
            if not self._running:
                return ran
            await asyncio.gather(*list(self._running))

    def _chores_due(self) -> float | None:
        """Run the chores that are due; seconds until the next one."""
        wall = self._clock.wall()
        soonest: float | None = None
        for chore in self._chores:
            if wall >= chore.next_at:
                chore.next_at = wall + chore.interval
                try:
                    result = chore.run()
                except Exception as exc:
                    self._failed("upkeep", exc)
                else:
                    if chore.again is not None and chore.again(result):
                        chore.next_at = wall
            wait = chore.next_at - wall
            soonest = wait if soonest is None else min(soonest, wait)
        return soonest

    def _timeout(self) -> float | None:
        timeout: float | None = None
        due = self._store.next_due(self._clock.wall())
        if due is not None and not self._clock.is_frozen:
            timeout = max(0.0, due - self._clock.timestamp())
        if self._store.shared:
            timeout = self.poll_seconds if timeout is None else min(timeout, self.poll_seconds)
        chore = self._chores_due()
        if chore is not None:
            timeout = chore if timeout is None else min(timeout, chore)
        return timeout

    async def run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            timeout: float | None = self.poll_seconds
            self._deadline = None
            try:
                self._clock.refresh()
                self._start_due()
                self._wake.clear()
                timeout = self._timeout()
            except Exception as exc:  # supervised: a broken store or chore never ends the loop
                self._failed("the scheduler loop", exc)
            if self._clock.is_frozen:
                self._deadline = self._clock.timestamp()  # stopped time: only work due now is due
            elif timeout is not None:
                self._deadline = self._clock.timestamp() + timeout
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def shutdown(self) -> None:
        """Cancel jobs in flight (used when the app stops); their leases run out elsewhere."""
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*list(self._running), return_exceptions=True)
