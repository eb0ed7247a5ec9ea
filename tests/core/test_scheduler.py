import asyncio
from datetime import timedelta

import pytest

from sandbox.core.clock import Clock
from sandbox.core.scheduler import Scheduler


@pytest.fixture
def clock() -> Clock:
    return Clock.frozen("2026-01-01T00:00:00Z")


async def test_jobs_run_only_once_due(clock: Clock) -> None:
    scheduler = Scheduler(clock)
    ran: list[str] = []
    scheduler.call_at(clock.now() + timedelta(seconds=10), lambda: ran.append("later"))
    scheduler.call_at(clock.now(), lambda: ran.append("now"))
    assert await scheduler.drain() == 1
    assert ran == ["now"]
    clock.advance(9.999)
    assert await scheduler.drain() == 0
    clock.advance(0.001)
    assert await scheduler.drain() == 1
    assert ran == ["now", "later"]
    assert scheduler.pending() == 0


async def test_due_jobs_run_in_time_order(clock: Clock) -> None:
    scheduler = Scheduler(clock, max_concurrency=1)
    ran: list[int] = []
    for offset in (3, 1, 2):
        scheduler.call_at(clock.now() + timedelta(seconds=offset), lambda offset=offset: ran.append(offset))
    clock.advance(5)
    await scheduler.drain()
    assert ran == [1, 2, 3]


async def test_a_key_replaces_and_cancels(clock: Clock) -> None:
    scheduler = Scheduler(clock)
    ran: list[str] = []
    scheduler.call_at(clock.now(), lambda: ran.append("first"), key="k")
    scheduler.call_at(clock.now(), lambda: ran.append("second"), key="k")
    scheduler.call_at(clock.now(), lambda: ran.append("gone"), key="x")
    assert scheduler.cancel("x")
    assert not scheduler.cancel("x")
    await scheduler.drain()
    assert ran == ["second"]


async def test_drain_runs_work_that_work_makes_due(clock: Clock) -> None:
    scheduler = Scheduler(clock)
    ran: list[str] = []

    async def parent() -> None:
        ran.append("parent")
        scheduler.call_at(clock.now(), lambda: ran.append("child"))

    scheduler.call_at(clock.now(), parent)
    assert await scheduler.drain() == 2
    assert ran == ["parent", "child"]


async def test_a_failing_job_is_recorded_and_does_not_stop_others(clock: Clock) -> None:
    scheduler = Scheduler(clock)
    ran: list[str] = []

    def boom() -> None:
        raise RuntimeError("receiver exploded")

    scheduler.call_at(clock.now(), boom, key="boom")
    scheduler.call_at(clock.now(), lambda: ran.append("ok"))
    await scheduler.drain()
    assert ran == ["ok"]
    assert list(scheduler.errors) == ["boom: RuntimeError: receiver exploded"]


async def test_background_loop_wakes_when_the_clock_moves(clock: Clock) -> None:
    scheduler = Scheduler(clock)
    done = asyncio.Event()
    scheduler.call_at(clock.now() + timedelta(hours=1), done.set)
    loop = asyncio.create_task(scheduler.run_forever())
    try:
        await asyncio.sleep(0)  # let the loop start and block on the frozen clock
        assert not done.is_set()
        clock.advance(timedelta(hours=1))
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        loop.cancel()


async def test_background_loop_runs_new_work_at_once(clock: Clock) -> None:
    scheduler = Scheduler(clock)
    loop = asyncio.create_task(scheduler.run_forever())
    try:
        await asyncio.sleep(0)
        done = asyncio.Event()
        scheduler.call_at(clock.now(), done.set)
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        loop.cancel()


async def test_background_loop_on_a_real_clock_waits_for_the_instant() -> None:
    now = [1_700_000_000.0]
    clock = Clock(source=lambda: now[0])
    scheduler = Scheduler(clock)
    done = asyncio.Event()
    # Due "now" on the fake source: the real-time wait is zero, so it runs without sleeping.
    scheduler.call_at(clock.now(), done.set)
    loop = asyncio.create_task(scheduler.run_forever())
    try:
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        loop.cancel()


async def test_clear_keys_forgets_a_prefix(clock: Clock) -> None:
    scheduler = Scheduler(clock)
    ran: list[str] = []
    scheduler.call_at(clock.now(), lambda: ran.append("a1"), key="a:1")
    scheduler.call_at(clock.now(), lambda: ran.append("b1"), key="b:1")
    scheduler.clear_keys("a:")
    await scheduler.drain()
    assert ran == ["b1"]
    scheduler.call_at(clock.now(), lambda: ran.append("c"))
    scheduler.clear()
    assert await scheduler.drain() == 0


async def test_moving_the_clock_from_another_thread_wakes_the_loop(clock: Clock) -> None:
    """A live-server test advances a clock shared with the server's thread."""
    import threading

    scheduler = Scheduler(clock)
    done = asyncio.Event()
    scheduler.call_at(clock.now() + timedelta(minutes=5), done.set)
    loop = asyncio.create_task(scheduler.run_forever())
    try:
        await asyncio.sleep(0)
        mover = threading.Thread(target=clock.advance, args=(timedelta(minutes=5),))
        mover.start()
        mover.join()
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        loop.cancel()
