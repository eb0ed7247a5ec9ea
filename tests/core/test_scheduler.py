"""The scheduler: timers as rows in the store, run by name, once due, on each backend."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest

from passbox.core.clock import Clock
from passbox.core.scheduler import Scheduler
from passbox.core.store import MemoryStore, Store, Timer, open_store


@pytest.fixture
def clock() -> Clock:
    return Clock.frozen("2026-01-01T00:00:00Z")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    opened.clear()
    yield opened
    opened.close()


def recording(scheduler: Scheduler, ran: list[str], job: str = "record") -> None:
    scheduler.handle(job, lambda timer: ran.append(timer.payload))


async def test_jobs_run_only_once_due(clock: Clock, store: Store) -> None:
    scheduler = Scheduler(clock, store)
    ran: list[str] = []
    recording(scheduler, ran)
    scheduler.call_at(clock.now() + timedelta(seconds=10), "record", "t", "later", "later")
    scheduler.call_at(clock.now(), "record", "t", "now", "now")
    assert await scheduler.drain() == 1
    assert ran == ["now"]
    clock.advance(9.999)
    assert await scheduler.drain() == 0
    clock.advance(0.001)
    assert await scheduler.drain() == 1
    assert ran == ["now", "later"]
    assert scheduler.pending() == 0


async def test_due_jobs_run_in_time_order(clock: Clock, store: Store) -> None:
    scheduler = Scheduler(clock, store, max_concurrency=1)
    ran: list[str] = []
    recording(scheduler, ran)
    for offset in (3, 1, 2):
        scheduler.call_at(clock.now() + timedelta(seconds=offset), "record", "t", f"k{offset}", str(offset))
    clock.advance(5)
    await scheduler.drain()
    assert ran == ["1", "2", "3"]


async def test_a_key_replaces_and_cancels(clock: Clock, store: Store) -> None:
    scheduler = Scheduler(clock, store)
    ran: list[str] = []
    recording(scheduler, ran)
    scheduler.call_at(clock.now(), "record", "t", "k", "first")
    scheduler.call_at(clock.now(), "record", "t", "k", "second")
    scheduler.call_at(clock.now(), "record", "t", "x", "gone")
    assert scheduler.cancel("t", "x")
    assert not scheduler.cancel("t", "x")
    await scheduler.drain()
    assert ran == ["second"]


async def test_an_unknown_job_cannot_be_scheduled(clock: Clock, store: Store) -> None:
    scheduler = Scheduler(clock, store)
    with pytest.raises(KeyError, match="no handler"):
        scheduler.call_at(clock.now(), "nobody", "t", "k")
    assert scheduler.pending() == 0


async def test_drain_runs_work_that_work_makes_due(clock: Clock, store: Store) -> None:
    scheduler = Scheduler(clock, store)
    ran: list[str] = []
    recording(scheduler, ran, "child")

    async def parent(timer: Timer) -> None:
        ran.append("parent")
        scheduler.call_at(clock.now(), "child", "t", "child", "child")

    scheduler.handle("parent", parent)
    scheduler.call_at(clock.now(), "parent", "t", "parent")
    assert await scheduler.drain() == 2
    assert ran == ["parent", "child"]


async def test_a_failing_job_is_recorded_and_does_not_stop_others(clock: Clock, store: Store) -> None:
    scheduler = Scheduler(clock, store)
    ran: list[str] = []
    recording(scheduler, ran)

    def boom(timer: Timer) -> None:
        raise RuntimeError("receiver exploded")

    scheduler.handle("boom", boom)
    scheduler.call_at(clock.now(), "boom", "t", "boom")
    scheduler.call_at(clock.now(), "record", "t", "ok", "ok")
    await scheduler.drain()
    assert ran == ["ok"]
    assert list(scheduler.errors) == ["scheduled job boom t|boom: RuntimeError: receiver exploded"]
    assert scheduler.pending() == 0


@pytest.fixture
def shared(shared_store_url: str) -> Iterator[Store]:
    opened = open_store(shared_store_url)
    opened.clear()
    yield opened
    opened.close()


async def test_work_survives_the_scheduler_that_scheduled_it(
    clock: Clock, shared: Store, shared_store_url: str
) -> None:
    """A timer is a row: a new scheduler on the same store (a restart, another worker) runs it."""
    store = shared
    first = Scheduler(clock, store)
    first.handle("record", lambda timer: None)
    first.call_at(clock.now() + timedelta(hours=48), "record", "t", "expire", "request-1")
    reopened = open_store(shared_store_url)
    try:
        second = Scheduler(clock, reopened)
        ran: list[str] = []
        recording(second, ran)
        clock.advance(timedelta(hours=48))
        assert await second.drain() == 1
        assert ran == ["request-1"]
    finally:
        reopened.close()


async def test_a_claimed_job_is_not_run_by_another_worker_until_the_lease_runs_out(
    clock: Clock, shared: Store, shared_store_url: str
) -> None:
    store = shared
    wall = [1_000.0]
    clock = Clock(frozen_at=clock.now(), source=lambda: wall[0])
    reopened = open_store(shared_store_url)
    try:
        dead = Scheduler(clock, store, lease_seconds=30)
        alive = Scheduler(clock, reopened, lease_seconds=30)
        ran: list[str] = []
        recording(alive, ran)
        dead.handle("record", lambda timer: None)
        alive.call_at(clock.now(), "record", "t", "k", "attempt")
        [claimed] = store.claim_due(clock.timestamp(), wall[0], 30, dead.owner)  # then the worker dies
        assert await alive.drain() == 0
        wall[0] += 29
        assert await alive.drain() == 0
        wall[0] += 2
        assert await alive.drain() == 1
        assert ran == ["attempt"]
        assert not store.finish(claimed)
    finally:
        reopened.close()


async def test_background_loop_wakes_when_the_clock_moves(clock: Clock, store: Store) -> None:
    scheduler = Scheduler(clock, store)
    done = asyncio.Event()
    scheduler.handle("done", lambda timer: done.set())
    scheduler.call_at(clock.now() + timedelta(hours=1), "done", "t", "k")
    loop = asyncio.create_task(scheduler.run_forever())
    try:
        await asyncio.sleep(0)  # let the loop start and block on the frozen clock
        assert not done.is_set()
        clock.advance(timedelta(hours=1))
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        loop.cancel()


async def test_background_loop_runs_new_work_at_once(clock: Clock, store: Store) -> None:
    scheduler = Scheduler(clock, store)
    done = asyncio.Event()
    scheduler.handle("done", lambda timer: done.set())
    loop = asyncio.create_task(scheduler.run_forever())
    try:
        await asyncio.sleep(0)
        scheduler.call_at(clock.now(), "done", "t", "k")
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        loop.cancel()


async def test_background_loop_on_a_real_clock_waits_for_the_instant(store: Store) -> None:
    """Work due in an hour of a (fake) real clock does not run before that hour has passed."""
    now = [1_700_000_000.0]
    clock = Clock(source=lambda: now[0])
    scheduler = Scheduler(clock, store)
    done = asyncio.Event()
    scheduler.handle("done", lambda timer: done.set())
    scheduler.handle("nudge", lambda timer: None)
    start = clock.now()
    scheduler.call_at(start + timedelta(hours=1), "done", "t", "k")
    loop = asyncio.create_task(scheduler.run_forever())
    try:
        for _ in range(20):  # give an eager loop every chance to run it early
            await asyncio.sleep(0)
        assert not done.is_set()
        assert scheduler.pending() == 1
        now[0] += 3600  # the fake system time jumps, which no real sleep follows...
        # ...so wake the loop with work due before the instant it waits for
        scheduler.call_at(start + timedelta(minutes=30), "nudge", "t", "nudge")
        await asyncio.wait_for(done.wait(), timeout=5)
        assert store.timers() == []
    finally:
        loop.cancel()


async def test_work_due_after_the_loops_next_look_does_not_wake_it(clock: Clock) -> None:
    """Every created request schedules its expiry 48 h ahead: that must not wake the loop."""

    class Counting(MemoryStore):
        claims = 0

        def claim_due(self, now: float, wall: float, lease: float, owner: str, limit: int = 100) -> list[Timer]:
            self.claims += 1
            return super().claim_due(now, wall, lease, owner, limit)

    store = Counting()
    scheduler = Scheduler(clock, store)
    ran: list[str] = []
    recording(scheduler, ran)
    scheduler.call_at(clock.now() + timedelta(hours=1), "record", "t", "first", "first")
    loop = asyncio.create_task(scheduler.run_forever())
    try:
        for _ in range(5):
            await asyncio.sleep(0)
        looked = store.claims
        assert looked >= 1
        for n in range(50):
            scheduler.call_at(clock.now() + timedelta(hours=48), "record", "t", f"later-{n}", "later")
            await asyncio.sleep(0)
        assert store.claims == looked  # nothing woke it
        scheduler.call_at(clock.now() - timedelta(seconds=1), "record", "t", "due", "due")
        for _ in range(20):
            if ran:
                break
            await asyncio.sleep(0)
        assert ran == ["due"]  # work due before its next look wakes it at once
    finally:
        loop.cancel()


async def test_the_background_loop_survives_a_broken_store(clock: Clock) -> None:
    """A failure in the loop itself is reported and the loop goes on (it is supervised)."""

    class Flaky(MemoryStore):
        fail = True

        def claim_due(self, now: float, wall: float, lease: float, owner: str, limit: int = 100) -> list[Timer]:
            if self.fail:
                self.fail = False
                raise RuntimeError("database went away")
            return super().claim_due(now, wall, lease, owner, limit)

    store = Flaky()
    errors: list[BaseException] = []
    scheduler = Scheduler(clock, store, poll_seconds=0.01, on_error=errors.append)
    done = asyncio.Event()
    scheduler.handle("done", lambda timer: done.set())
    scheduler.call_at(clock.now(), "done", "t", "k")
    loop = asyncio.create_task(scheduler.run_forever())
    try:
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        loop.cancel()
    assert [str(error) for error in errors] == ["database went away"]


async def test_moving_the_clock_from_another_thread_wakes_the_loop(clock: Clock, store: Store) -> None:
    """A live-server test advances a clock shared with the server's thread."""
    scheduler = Scheduler(clock, store)
    done = asyncio.Event()
    scheduler.handle("done", lambda timer: done.set())
    scheduler.call_at(clock.now() + timedelta(minutes=5), "done", "t", "k")
    loop = asyncio.create_task(scheduler.run_forever())
    try:
        await asyncio.sleep(0)
        mover = threading.Thread(target=clock.advance, args=(timedelta(minutes=5),))
        mover.start()
        mover.join()
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        loop.cancel()


async def test_a_chore_that_left_work_behind_runs_again_on_the_next_turn(clock: Clock, store: Store) -> None:
    """A bounded sweep (retention: 500 records a kind) keeps up with any backlog."""
    scheduler = Scheduler(clock, store)
    backlog = [1200]
    runs: list[int] = []

    def sweep() -> int:
        done = min(500, backlog[0])
        backlog[0] -= done
        runs.append(done)
        return done

    scheduler.every(3600, sweep, again=lambda done: done == 500)
    loop = asyncio.create_task(scheduler.run_forever())
    try:
        for _ in range(50):
            if backlog[0] == 0 and len(runs) == 3:
                break
            await asyncio.sleep(0)
        assert runs == [500, 500, 200]  # then it waits its hour
        for _ in range(20):
            await asyncio.sleep(0)
        assert runs == [500, 500, 200]
    finally:
        loop.cancel()
