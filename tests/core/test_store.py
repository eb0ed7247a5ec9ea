"""The store contract: every operation, rollback, and the atomic operations under concurrency,
on each backend (memory, a real SQLite file, a real PostgreSQL server)."""

from __future__ import annotations

import contextlib
import gc
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from passbox.core.store import GLOBAL, Kind, MemoryStore, Store, StoreError, open_store
from passbox.core.store.sql import schema
from passbox.core.store.sqlite import BLOCK, CHECKPOINT_EVERY, READ_CACHE_BYTES, READ_CACHE_ENTRIES, SQLiteStore


@dataclass(frozen=True, slots=True)
class Thing:
    name: str
    n: int = 0
    at: datetime | None = None
    tags: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    blob: bytes = b""


THINGS = Kind("test.things", Thing)
COUNTS = Kind("test.counts", int)
OTHER = Kind("test.other", str)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    opened.clear()
    yield opened
    opened.close()


@pytest.fixture
def second(store: Store, store_url: str) -> Iterator[Store]:
    """Another connection to the same store (another worker or replica); memory has only one."""
    if not store.shared:
        yield store
        return
    other = open_store(store_url)
    yield other
    other.close()


def test_records_round_trip_through_the_codec(store: Store) -> None:
    thing = Thing("a", 3, datetime(2026, 3, 2, 9, 30, 0, 123456, tzinfo=UTC), ("x", "y"), {"k": "v"}, b"\x00\xff")
    assert store.put(THINGS, "t1", "a", thing) == 1
    assert store.get(THINGS, "t1", "a") == thing
    assert store.get(THINGS, "t2", "a") is None
    assert store.get(OTHER, "t1", "a") is None


def test_a_record_of_the_wrong_type_is_refused(store: Store) -> None:
    with pytest.raises(TypeError, match=r"test\.things holds Thing"):
        store.put(THINGS, "t", "k", "not a thing")  # type: ignore[arg-type]
    assert store.count(THINGS) == 0


def test_tenants_never_see_each_other(store: Store) -> None:
    store.put(OTHER, "a", "1", "a-one")
    store.put(OTHER, "b", "1", "b-one")
    assert store.get(OTHER, "a", "1") == "a-one"
    assert store.get(OTHER, "b", "1") == "b-one"
    assert store.values(OTHER, "a") == ["a-one"]
    assert store.count(OTHER) == 2
    assert store.count(OTHER, "a") == 1
    assert store.tenants() == ["a", "b"]


def test_put_replaces_in_place_and_counts_versions(store: Store) -> None:
    for key in "xyz":
        store.put(OTHER, "t", key, key.upper())
    assert store.put(OTHER, "t", "x", "X2") == 2
    assert store.values(OTHER, "t") == ["X2", "Y", "Z"]
    assert store.values(OTHER, "t", newest_first=True) == ["Z", "Y", "X2"]
    assert store.values(OTHER, "t", limit=2, offset=1) == ["Y", "Z"]
    assert store.get_versioned(OTHER, "t", "x") == ("X2", 2)


def test_scan_orders_across_tenants_and_find_takes_the_oldest(store: Store) -> None:
    store.put(OTHER, "t2", "a", "first")
    store.put(OTHER, "t1", "b", "second")
    store.put(OTHER, "t1", "a", "third")
    assert store.scan(OTHER) == [("t2", "first"), ("t1", "second"), ("t1", "third")]
    assert store.scan(OTHER, newest_first=True, limit=1) == [("t1", "third")]
    assert store.find(OTHER, "a") == ("t2", "first")
    assert store.find(OTHER, "zz") is None


def test_insert_only_if_absent_and_compare_and_set(store: Store) -> None:
    assert store.insert(OTHER, "t", "k", "one")
    assert not store.insert(OTHER, "t", "k", "two")
    assert store.get(OTHER, "t", "k") == "one"
    assert not store.cas(OTHER, "t", "k", "stale", version=7)
    assert store.cas(OTHER, "t", "k", "three", version=1)
    assert store.get_versioned(OTHER, "t", "k") == ("three", 2)
    assert not store.cas(OTHER, "t", "missing", "x", version=1)


def test_delete(store: Store) -> None:
    store.put(OTHER, "t", "k", "v")
    assert store.delete(OTHER, "t", "k")
    assert not store.delete(OTHER, "t", "k")
    assert store.get(OTHER, "t", "k") is None


def test_a_record_written_after_the_newest_was_deleted_still_sorts_last(store: Store) -> None:
    store.put(OTHER, "t", "a", "first")
    store.put(OTHER, "t", "b", "second")
    store.delete(OTHER, "t", "b")
    store.put(OTHER, "t", "c", "third")
    store.put(OTHER, "t", "b", "fourth")
    assert store.values(OTHER, "t") == ["first", "third", "fourth"]
    assert store.values(OTHER, "t", newest_first=True, limit=1) == ["fourth"]


def test_counters_and_settings(store: Store) -> None:
    assert store.counter("c") == 0
    assert store.incr("c") == 1
    assert store.incr("c", 5) == 6
    assert store.counter("c") == 6
    assert store.get_setting(OTHER, "s") is None
    assert store.insert_setting(OTHER, "s", "first") == "first"
    assert store.insert_setting(OTHER, "s", "second") == "first"
    store.set_setting(OTHER, "s", "third")
    assert store.get_setting(OTHER, "s") == "third"


def test_a_sequence_hands_out_each_position_once_and_a_reset_starts_it_over(store: Store, second: Store) -> None:
    assert [store.take("s"), store.take("s", 3), store.take("s")] == [1, 4, 5]  # a take of 3 ends at 4
    mine = {1, 2, 3, 4, 5}
    theirs = {second.take("s") for _ in range(100)}  # another worker's: after the positions reserved
    assert len(theirs) == 100 and not theirs & mine
    last = store.take("s")
    assert last not in theirs | mine
    assert store.take("other") == 1  # each sequence on its own
    for count in (0, -1, -(2**40)):
        with pytest.raises(ValueError, match="at least one position"):
            store.take("s", count)
    assert store.take("s") == last + 1  # a refused take moved nothing
    try:
        with store.transaction():
            given_back = store.take("s", 2)
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    assert store.take("s", 2) == given_back  # a unit that rolled back gave its positions back
    store.clear()
    assert store.take("s") == 1
    mine = {store.take("s") for _ in range(200)}  # past what the other had reserved before the reset
    with second.transaction():  # in a write transaction another worker sees the reset at once
        after = {second.take("s") for _ in range(100)}
    assert len(after) == 100 and not after & (mine | {1})


SETTINGS = ((OTHER, "s"), (COUNTS, "n"))


def test_get_settings_sees_every_change_at_once(store: Store, second: Store) -> None:
    """The edge reads these on every request; SQLite answers from a cache while no connection
    has committed, so this checks that nothing stale ever comes out of it."""
    assert store.get_settings(SETTINGS) == [None, None]
    store.set_setting(OTHER, "s", "mine")
    assert store.get_settings(SETTINGS) == ["mine", None]
    second.set_setting(COUNTS, "n", 2)  # another worker or replica
    assert store.get_settings(SETTINGS) == ["mine", 2]
    second.set_setting(COUNTS, "n", 3)
    assert store.get_settings(SETTINGS) == ["mine", 3]
    assert store.get_settings(SETTINGS[:1]) == ["mine"]
    seen = []

    def doomed() -> None:
        with store.transaction():
            store.set_setting(OTHER, "s", "rolled back")
            seen.extend(store.get_settings(SETTINGS))
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError, match="undo"):
        doomed()
    assert seen == ["rolled back", 3]
    assert store.get_settings(SETTINGS) == ["mine", 3]
    assert second.get_settings(SETTINGS) == ["mine", 3]


def test_a_unit_of_work_that_raises_leaves_nothing_behind(store: Store) -> None:
    store.put(OTHER, "t", "kept", "before")
    store.incr("c")
    store.schedule("t", "timer-kept", 10.0, "job")

    def doomed() -> None:
        with store.transaction():
            store.put(OTHER, "t", "kept", "changed")
            store.put(OTHER, "t", "new", "new")
            store.delete(OTHER, "t", "kept")
            store.incr("c")
            store.incr("fresh")
            store.set_setting(OTHER, "s", "set")
            store.schedule("t", "timer-new", 1.0, "job")
            store.cancel("t", "timer-kept")
            with store.transaction():  # a nested unit joins the outer one
                store.put(OTHER, "t", "nested", "nested")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        doomed()
    assert store.values(OTHER, "t") == ["before"]
    assert store.get_versioned(OTHER, "t", "kept") == ("before", 1)
    assert (store.counter("c"), store.counter("fresh")) == (1, 0)
    assert store.get_setting(OTHER, "s") is None
    assert [timer.key for timer in store.timers()] == ["timer-kept"]


def test_a_unit_of_work_commits_together(store: Store, second: Store) -> None:
    with store.transaction():
        store.put(OTHER, "t", "a", "A")
        store.incr("c")
        store.schedule("t", "k", 5.0, "job", "payload")
    assert second.get(OTHER, "t", "a") == "A"
    assert second.counter("c") == 1
    [timer] = second.timers()
    assert (timer.tenant, timer.key, timer.due, timer.job, timer.payload) == ("t", "k", 5.0, "job", "payload")


def test_timers_are_claimed_once_and_finished(store: Store, second: Store) -> None:
    store.schedule("t", "later", 100.0, "job")
    store.schedule("t", "now", 10.0, "job")
    assert store.next_due(wall=0.0) == 10.0
    [claimed] = store.claim_due(now=50.0, wall=1000.0, lease=30.0, owner="a")
    assert claimed.key == "now"
    assert second.claim_due(now=50.0, wall=1000.0, lease=30.0, owner="b") == []  # leased to a
    assert store.next_due(wall=1000.0) == 100.0  # a leased timer is not due for anyone else
    assert store.finish(claimed)
    assert not store.finish(claimed)
    assert [timer.key for timer in store.timers()] == ["later"]


def test_a_lease_that_runs_out_lets_another_worker_claim(store: Store, second: Store) -> None:
    store.schedule("t", "k", 10.0, "job")
    [first] = store.claim_due(now=10.0, wall=1000.0, lease=30.0, owner="dead")
    [again] = second.claim_due(now=10.0, wall=1031.0, lease=30.0, owner="alive")
    assert again.claim > first.claim
    assert not store.finish(first)  # the dead worker's late finish does not delete the new claim
    assert second.finish(again)
    assert store.timers() == []


def test_rescheduling_a_claimed_timer_keeps_it(store: Store) -> None:
    store.schedule("t", "retry", 10.0, "job")
    [claimed] = store.claim_due(now=10.0, wall=0.0, lease=30.0, owner="a")
    store.schedule("t", "retry", 20.0, "job")  # the job scheduled its next attempt
    assert not store.finish(claimed)
    [timer] = store.timers()
    assert timer.due == 20.0
    assert store.claim_due(now=20.0, wall=0.0, lease=30.0, owner="a")[0].key == "retry"


def test_retire_and_trim(store: Store) -> None:
    for n in range(5):
        store.put(OTHER, "t", f"done-{n}", "done", retire_at=100.0 + n)
    store.put(OTHER, "t", "active", "active")  # no retire_at: never retired
    assert store.retire(OTHER, now=101.0, keep=100) == 2
    assert store.count(OTHER) == 4
    assert store.retire(OTHER, now=0.0, keep=2) == 2  # the oldest retirable beyond the cap
    assert store.values(OTHER, "t") == ["done", "active"]
    assert store.get(OTHER, "t", "active") == "active"
    for n in range(5):
        store.put(COUNTS, GLOBAL, str(n), n)
    assert store.trim(COUNTS, keep=2) == 3
    assert store.values(COUNTS, GLOBAL) == [3, 4]


def test_a_record_that_retires_sooner_than_all_others_is_not_missed(store: Store) -> None:
    """A sweep that finds nothing due may remember when the first record is due; records
    written after it (or changed to retire sooner) still retire on time."""
    store.put(OTHER, "t", "late", "late", retire_at=500.0)
    assert store.retire(OTHER, now=100.0, keep=100) == 0
    store.put(OTHER, "t", "early", "early", retire_at=150.0)
    store.put(OTHER, "t", "late", "late", retire_at=140.0)  # changed to retire sooner
    assert store.retire(OTHER, now=149.0, keep=100) == 1
    assert store.values(OTHER, "t") == ["early"]
    assert store.retire(OTHER, now=150.0, keep=100) == 1
    assert store.count(OTHER) == 0


def test_clear_one_tenant_or_everything(store: Store) -> None:
    store.put(OTHER, "a", "k", "a")
    store.put(OTHER, "b", "k", "b")
    store.schedule("a", "k", 1.0, "job")
    store.schedule("b", "k", 1.0, "job")
    store.incr("c")
    store.set_setting(OTHER, "kept", "setting")
    store.clear("a")
    assert store.values(OTHER, "a") == []
    assert store.values(OTHER, "b") == ["b"]
    assert [timer.tenant for timer in store.timers()] == ["b"]
    store.clear()
    assert store.count(OTHER) == 0
    assert store.timers() == []
    assert store.counter("c") == 0
    assert store.get_setting(OTHER, "kept") == "setting"


def run_at_once(count: int, work: Callable[[int], object]) -> list[object]:
    """``work(n)`` on ``count`` threads released together."""
    barrier = threading.Barrier(count)

    def go(n: int) -> object:
        barrier.wait(timeout=30)
        return work(n)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(go, range(count)))


@pytest.fixture
def connect(store: Store, store_url: str) -> Iterator[Callable[[], Store]]:
    """A new connection per call on shared stores (as workers have); the one store otherwise."""
    opened: list[Store] = []

    def new() -> Store:
        if not store.shared:
            return store
        conn = open_store(store_url)
        opened.append(conn)
        return conn

    yield new
    for conn in opened:
        conn.close()


def test_concurrent_insert_if_absent_has_one_winner(store: Store, connect: Callable[[], Store]) -> None:

    def attempt(n: int) -> bool:
        return connect().insert(OTHER, "t", "spent-token", f"by-{n}")

    results = run_at_once(8, attempt)
    assert results.count(True) == 1
    assert store.count(OTHER) == 1


def test_concurrent_counters_never_repeat(store: Store, connect: Callable[[], Store]) -> None:

    def draw(n: int) -> list[int]:
        conn = connect()
        return [conn.incr("ids") for _ in range(25)]

    drawn = [value for values in run_at_once(8, draw) for value in values]  # type: ignore[attr-defined]
    assert sorted(drawn) == list(range(1, 201))


def test_concurrent_takes_never_repeat(store: Store, connect: Callable[[], Store]) -> None:

    def draw(n: int) -> list[int]:
        conn, size = connect(), 1 + n % 2
        taken: list[int] = []
        for _ in range(100):
            last = conn.take("ids", size)
            taken.extend(range(last - size + 1, last + 1))
        return taken

    drawn = [value for values in run_at_once(8, draw) for value in values]  # type: ignore[attr-defined]
    assert len(drawn) == 1200 and len(set(drawn)) == 1200


def test_concurrent_check_then_act_in_a_unit_of_work_is_atomic(store: Store, connect: Callable[[], Store]) -> None:
    """Read-modify-write of a code counter: each of 8 callers gets a different code."""
    codes = ["NURSE-0001", "NURSE-0002", "NURSE-0003"]

    def take(n: int) -> str | None:
        conn = connect()
        with conn.transaction():
            used = conn.get(COUNTS, "t", "widget") or 0
            if used >= len(codes):
                return None
            conn.put(COUNTS, "t", "widget", used + 1)
            return codes[used]

    handed = run_at_once(8, take)
    assert sorted(code for code in handed if code is not None) == codes  # type: ignore[type-var]
    assert handed.count(None) == 5


def test_concurrent_claims_have_one_owner(store: Store, connect: Callable[[], Store]) -> None:
    for n in range(20):
        store.schedule("t", f"k{n}", 1.0, "job")

    def claim(n: int) -> list[str]:
        return [timer.key for timer in connect().claim_due(now=5.0, wall=0.0, lease=60.0, owner=str(n), limit=3)]

    claimed = [key for keys in run_at_once(8, claim) for key in keys]  # type: ignore[attr-defined]
    assert len(claimed) == len(set(claimed)) == 20


def test_a_store_survives_reopening(shared_store_url: str) -> None:
    store = open_store(shared_store_url)
    store.clear()
    assert store.shared
    store.put(OTHER, "t", "k", "kept")
    store.incr("ids")
    store.close()
    reopened = open_store(shared_store_url)
    assert reopened.get(OTHER, "t", "k") == "kept"
    assert reopened.counter("ids") == 1
    reopened.close()


def test_a_new_sqlite_file_has_small_pages_and_a_bounded_log_and_an_older_file_still_opens(tmp_path: Path) -> None:
    fresh = SQLiteStore(tmp_path / "new.db")
    assert fresh._conn.execute("PRAGMA page_size").fetchone() == (2048,)
    assert fresh._conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert fresh._conn.execute("PRAGMA wal_autocheckpoint").fetchone() == (4000,)  # 8 MiB of log at most
    fresh.put(OTHER, "t", "k", "v")
    assert fresh._conn.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone() is None
    fresh.close()
    # A file an earlier passbox made: 4 KiB pages and AUTOINCREMENT seq columns.
    old_path = tmp_path / "old.db"
    old = sqlite3.connect(old_path)
    old.execute("PRAGMA page_size = 4096")
    old.executescript(";".join(schema("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB")))
    old.close()
    reopened = SQLiteStore(old_path)
    assert reopened._conn.execute("PRAGMA page_size").fetchone() == (4096,)
    reopened.put(OTHER, "t", "a", "one")
    reopened.put(OTHER, "t", "b", "two")
    assert reopened.values(OTHER, "t") == ["one", "two"]
    reopened.close()


def test_the_retention_cap_reads_only_retirable_records(tmp_path: Path) -> None:
    """With more unfinished records than the cap keeps, the cap's sweep finds nothing to
    retire; it must not walk every record to learn that (it ran each second for each kind and
    stalled the loop for 14 ms with 13,600 unfinished requests). SQLite's count of virtual
    machine steps is deterministic: thousands of records walked would be tens of thousands."""
    store = SQLiteStore(tmp_path / "cap.db")
    with store.transaction():
        for n in range(5000):
            store.put(OTHER, "t", f"unfinished-{n}", "x")  # no retire_at: never retired
        store.put(OTHER, "t", "finished", "x", retire_at=1e12)  # retirable, not yet due
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store._conn.set_progress_handler(count, 10)  # called every 10 steps
    assert store.count(OTHER) == 5001
    counting, steps = steps, 0
    assert store.retire(OTHER, now=0.0, keep=100, limit=500) == 1  # the one retirable record, by the cap
    store._conn.set_progress_handler(None, 0)
    # retire() counts the kind once (as above), and otherwise reads the retirable records only.
    assert steps - counting < 200, f"{steps * 10} SQLite steps for retire(), {counting * 10} for a count"
    assert store.count(OTHER) == 5000
    store.close()


@pytest.mark.parametrize(
    "url", ["redis://localhost", "sqlite://relative", "sqlite:///", "nonsense", "postgresql://127.0.0.1:1/none"]
)
def test_a_bad_store_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(StoreError):
        open_store(url)


def test_memory_is_the_default_backend() -> None:
    assert isinstance(open_store("memory://"), MemoryStore)


def test_a_retire_call_is_bounded(store: Store) -> None:
    for n in range(6):
        store.put(OTHER, "t", f"old-{n}", "old", retire_at=1.0)
    assert store.retire(OTHER, now=10.0, keep=100, limit=2) == 2  # a sweep never holds the lock long
    assert store.count(OTHER) == 4
    assert store.retire(OTHER, now=10.0, keep=100) == 4


# -- group commit (SQL stores, on an event loop) ---------------------------------------------------


@pytest.fixture
def grouped(shared_store_url: str) -> Iterator[tuple[Store, Store]]:
    """A store that commits in groups, and a second connection that only reads."""
    if shared_store_url.startswith("postgresql"):
        from passbox.core.store.postgres import PostgresStore

        store: Store = PostgresStore(shared_store_url, group_commit=True)  # open_store does not group there
    else:
        store = open_store(shared_store_url, group_commit=True)
    store.clear()
    reader = open_store(shared_store_url)
    yield store, reader
    store.close()
    reader.close()


async def test_the_units_of_one_loop_turn_commit_together_before_durable_returns(
    grouped: tuple[Store, Store],
) -> None:
    store, reader = grouped
    store.put(OTHER, "t", "a", "first")
    with store.transaction():
        store.incr("ids")
        store.put(OTHER, "t", "b", "second")
    assert store.get(OTHER, "t", "b") == "second"  # this connection reads its own writes
    assert reader.get(OTHER, "t", "a") is None  # nobody else does before the commit
    await store.durable()
    assert [reader.get(OTHER, "t", key) for key in ("a", "b")] == ["first", "second"]
    assert reader.counter("ids") == 1
    await store.durable()  # nothing pending: returns at once


async def test_a_unit_that_raises_in_a_group_undoes_itself_alone(grouped: tuple[Store, Store]) -> None:
    store, reader = grouped
    store.incr("before")

    def failing_unit() -> None:
        with store.transaction():
            store.incr("failed")
            store.put(OTHER, "t", "failed", "no")
            raise RuntimeError("the unit of work fails")

    with pytest.raises(RuntimeError):
        failing_unit()
    store.incr("after")
    await store.durable()
    assert [reader.counter(name) for name in ("before", "failed", "after")] == [1, 0, 1]
    assert reader.get(OTHER, "t", "failed") is None


async def test_concurrent_tasks_share_one_commit_and_each_waits_for_it(grouped: tuple[Store, Store]) -> None:
    import asyncio

    store, reader = grouped
    seen: list[int] = []

    async def request(n: int) -> None:
        store.put(OTHER, "t", f"k{n}", str(n))
        await store.durable()
        seen.append(reader.count(OTHER, "t"))  # everything this task wrote is committed by now

    await asyncio.gather(*(request(n) for n in range(8)))
    assert seen == [8] * 8  # the eight units of one turn were one commit


async def test_a_request_cancelled_while_it_waits_for_the_commit_cancels_only_its_own_wait(
    grouped: tuple[Store, Store],
) -> None:
    import asyncio

    store, reader = grouped

    async def request(n: int) -> int:
        store.put(OTHER, "t", f"k{n}", str(n))
        await store.durable()
        return reader.count(OTHER, "t")

    tasks = [asyncio.create_task(request(n)) for n in range(3)]
    await asyncio.sleep(0)  # one turn: the three wrote and wait; the group's commit comes next
    assert reader.count(OTHER, "t") == 0 and not any(task.done() for task in tasks)
    tasks[1].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert done[0] == 3 and done[2] == 3  # the others were answered by the commit
    assert isinstance(done[1], asyncio.CancelledError)
    assert reader.get(OTHER, "t", "k1") == "1"  # only the wait was cancelled, not the write
    store.put(OTHER, "t", "later", "x")  # the next group is not affected
    await store.durable()
    assert reader.get(OTHER, "t", "later") == "x"


async def test_when_a_group_cannot_commit_every_request_in_it_gets_the_error(
    grouped: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    store, reader = grouped

    def commit_fails() -> None:
        raise OSError("disk I/O error")

    monkeypatch.setattr(store, "_commit", commit_fails)

    async def request(n: int) -> None:
        store.put(OTHER, "t", f"k{n}", str(n))
        await store.durable()

    async def late_request() -> None:
        store.put(OTHER, "t", "late", "x")
        await asyncio.sleep(0)  # the group fails before this request asks whether it committed
        await store.durable()

    failed = await asyncio.gather(late_request(), *(request(n) for n in range(3)), return_exceptions=True)
    assert [type(error) for error in failed] == [StoreError] * 4
    assert all("could not commit: disk I/O error" in str(error) for error in failed)
    monkeypatch.undo()
    assert reader.count(OTHER, "t") == 0  # the group was rolled back
    assert store.get(OTHER, "t", "k0") is None
    store.put(OTHER, "t", "after", "y")
    await store.durable()
    assert reader.get(OTHER, "t", "after") == "y"


def grouped_with_another_writer(path: Path) -> tuple[SQLiteStore, SQLiteStore, list[str]]:
    """A store that commits in groups, another connection that has set COUNTS "n" to 1, and
    the list of the first one's PRAGMA data_version reads from now on."""
    store, other = SQLiteStore(path, group_commit=True), SQLiteStore(path)
    asked: list[str] = []
    store._conn.set_trace_callback(lambda sql: asked.append(sql) if "data_version" in sql else None)
    other.set_setting(COUNTS, "n", 1)
    return store, other, asked


async def test_in_an_open_group_sqlite_reads_the_settings_version_once(tmp_path: Path) -> None:
    """The edge reads the shared settings on every request: SQLite asks PRAGMA data_version
    whether another connection committed. While a group's write transaction is open nobody else
    can commit, so once asked in it, it need not ask again until the group commits."""
    store, other, asked = grouped_with_another_writer(tmp_path / "settings.db")
    assert store.get_settings(SETTINGS) == [None, 1]
    other.set_setting(COUNTS, "n", 2)  # after that check, before the group begins
    store.incr("ids")  # begins a group: its write transaction holds the lock
    assert [store.get_settings(SETTINGS) for _ in range(3)] == [[None, 2]] * 3
    assert len(asked) == 2  # once before the group, once in it
    store.set_setting(OTHER, "s", "mine")  # this connection's own write is seen at once
    assert store.get_settings(SETTINGS) == ["mine", 2]
    assert len(asked) == 2  # a query for the new value, and no new pragma
    await store.durable()
    other.set_setting(COUNTS, "n", 3)  # the group committed: others may write again
    assert store.get_settings(SETTINGS) == ["mine", 3]
    store.incr("ids")  # a new group asks again
    assert store.get_settings(SETTINGS) == ["mine", 3]
    assert store.get_settings(SETTINGS) == ["mine", 3]
    await store.durable()
    assert len(asked) == 4
    store.close()
    other.close()


async def test_outside_a_write_transaction_sqlite_reads_the_settings_version_once_a_loop_turn(tmp_path: Path) -> None:
    """Every request served in a turn of the loop arrived before the turn's first read (the
    loop reads its sockets first), so one pragma a turn sees every commit a client could
    have been told of before it sent its request."""
    import asyncio

    store, other, asked = grouped_with_another_writer(tmp_path / "turns.db")
    assert [store.get_settings(SETTINGS) for _ in range(3)] == [[None, 1]] * 3
    assert len(asked) == 1
    other.set_setting(COUNTS, "n", 2)  # during the turn: for requests that arrive after it
    assert store.get_settings(SETTINGS) == [None, 1]
    await asyncio.sleep(0)  # the next turn
    assert store.get_settings(SETTINGS) == [None, 2]
    assert len(asked) == 2
    store.close()
    other.close()


async def test_a_servers_sqlite_connection_answers_a_read_again_only_while_nothing_could_have_changed_it(
    tmp_path: Path,
) -> None:
    import asyncio

    path = tmp_path / "reads.db"
    store, other = SQLiteStore(path, group_commit=True), SQLiteStore(path)
    store.put(OTHER, "t", "a", "1")
    await store.durable()
    selects: list[str] = []
    store._conn.set_trace_callback(lambda sql: selects.append(sql) if "FROM passbox_records" in sql else None)
    assert [store.get(OTHER, "t", "a") for _ in range(3)] == ["1"] * 3
    assert len(selects) == 1  # the same read again: from memory
    store.put(OTHER, "t", "a", "2")  # this connection's write, in an open group
    assert store.get(OTHER, "t", "a") == "2"
    await store.durable()
    assert store.get(OTHER, "t", "a") == "2"
    other.put(OTHER, "t", "a", "3")  # another worker's, seen from the next turn of the loop on
    await asyncio.sleep(0)
    assert store.get(OTHER, "t", "a") == "3"

    def unit() -> None:
        with store.transaction():
            store.put(OTHER, "t", "a", "4")
            assert store.get(OTHER, "t", "a") == "4"
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError):
        unit()
    assert store.get(OTHER, "t", "a") == "3"
    await store.durable()
    assert store.get(OTHER, "t", "a") == "3"
    listed = store.values(OTHER, "t")
    listed.append("mine")  # a caller's list is its own
    assert store.values(OTHER, "t") == ["3"]
    big = "x" * (READ_CACHE_BYTES // 4)
    for n in range(5):
        store.put(OTHER, "big", str(n), big)
    await store.durable()
    assert store.values(OTHER, "big", limit=3) == [big] * 3  # under the bound: kept
    assert store.values(OTHER, "big") == [big] * 5  # over it: not kept
    kept = {key[1] for key in store._reads}
    assert (OTHER.name, "big", 3, 0) in kept and (OTHER.name, "big") not in kept
    for n in range(READ_CACHE_ENTRIES + 10):
        store.get(OTHER, "t", f"missing-{n}")
    assert len(store._reads) == READ_CACHE_ENTRIES
    store.close()
    other.close()


def test_sqlite_reserves_positions_in_blocks_and_sees_another_workers_reset_by_the_next_settings_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "blocks.db"
    store, other = SQLiteStore(path), SQLiteStore(path)
    assert [store.take("ids") for _ in range(3)] == [1, 2, 3]
    assert store.counter("ids") == BLOCK  # one counter step for the block
    writes: list[str] = []
    store._conn.set_trace_callback(writes.append)
    assert [store.take("ids") for _ in range(BLOCK - 3)] == list(range(4, BLOCK + 1))
    assert writes == []  # taken from memory, without even asking whether another connection committed
    assert store.take("ids") == BLOCK + 1
    assert len([sql for sql in writes if "passbox_counters" in sql]) == 1  # the next block
    store._conn.set_trace_callback(None)
    assert other.take("ids", 2) == 2 * BLOCK + 2  # after both blocks reserved so far
    other.take("ids")
    store.clear()
    theirs = [store.take("ids") for _ in range(3 * BLOCK)]
    assert other.get_settings(SETTINGS) == [None, None]  # what the edge reads as each request starts
    assert other.take("ids") == 3 * BLOCK + 1  # its block from before the reset is gone
    assert other.take("ids") not in theirs
    store.close()
    other.close()


async def no_repeats_after_another_workers_reset(mine: SQLiteStore, theirs: SQLiteStore) -> None:
    """``theirs`` resets; ``mine`` (told at its next settings read, as the edge reads them)
    and ``theirs`` then hand out positions that never meet."""
    theirs.clear()
    mine.get_settings(SETTINGS)
    taken = [mine.take("ids") for _ in range(5)]
    await mine.durable()  # a block reserved in a group holds the write lock until then
    assert not set(taken) & {theirs.take("ids") for _ in range(3 * BLOCK)}


async def test_a_reset_whose_group_fails_to_commit_leaves_no_generation_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "reset-lost.db"
    store, other = SQLiteStore(path, group_commit=True), SQLiteStore(path)
    store.take("ids")
    await store.durable()
    monkeypatch.setattr(store, "_commit", lambda: (_ for _ in ()).throw(OSError("disk I/O error")))
    store.clear()  # in the group, which will not commit
    store.take("other")  # reads the (uncommitted) generation in the same transaction
    with pytest.raises(StoreError, match="could not commit"):
        await store.durable()
    monkeypatch.undo()
    store.take("ids")
    await store.durable()
    await no_repeats_after_another_workers_reset(store, other)
    store.close()
    other.close()


async def test_a_reset_in_a_unit_that_rolls_back_leaves_no_generation_behind(tmp_path: Path) -> None:
    path = tmp_path / "reset-undone.db"
    store, other = SQLiteStore(path), SQLiteStore(path)
    store.take("ids")

    def unit() -> None:
        with store.transaction():
            store.take("ids")
            store.clear()
            store.take("other")
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError):
        unit()
    await no_repeats_after_another_workers_reset(store, other)
    store.close()
    other.close()


async def test_after_a_reset_commits_a_unit_that_rolls_back_still_gives_its_positions_back(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "reset-kept.db", group_commit=True)
    store.clear()  # in a group
    await store.durable()
    assert store.take("ids") == 1

    def unit() -> None:
        with store.transaction():
            assert store.take("ids") == 2
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError):
        unit()
    assert store.take("ids") == 2
    await store.durable()
    store.close()


async def test_another_thread_reads_the_settings_afresh_during_the_loops_turn(tmp_path: Path) -> None:
    store, other, _ = grouped_with_another_writer(tmp_path / "threads.db")
    assert store.get_settings(SETTINGS) == [None, 1]  # on the loop: its version for this turn
    other.set_setting(COUNTS, "n", 2)
    seen: list[list[object]] = []
    reader = threading.Thread(target=lambda: seen.append(store.get_settings(SETTINGS)))
    reader.start()
    reader.join()
    assert seen == [[None, 2]]  # a thread that saw the commit is not answered from the loop's turn
    store.close()
    other.close()


async def test_a_block_reserved_in_an_open_group_is_used_only_once_that_group_commits(tmp_path: Path) -> None:
    import asyncio

    store = SQLiteStore(tmp_path / "group.db", group_commit=True)
    reader = SQLiteStore(tmp_path / "group.db")
    committed: list[int] = []

    async def request() -> int:
        position = store.take("ids")  # outside a unit of work, as an applicant token takes one
        await store.durable()
        committed.append(reader.counter("ids"))
        return position

    assert sorted(await asyncio.gather(*(request() for _ in range(4)))) == [1, 2, 3, 4]
    assert committed == [BLOCK] * 4  # none answered before the block's reservation committed
    assert store.take("ids") == 5  # from memory now: no group, nothing to wait for
    assert store._group is None
    store.close()
    reader.close()


async def test_when_the_group_that_reserved_a_block_fails_the_block_is_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SQLiteStore(tmp_path / "failed.db", group_commit=True)
    store.take("ids")
    await store.durable()  # positions 1..BLOCK reserved and committed
    monkeypatch.setattr(store, "_commit", lambda: (_ for _ in ()).throw(OSError("disk I/O error")))
    assert store.take("ids", BLOCK) == 2 * BLOCK  # a block of its own, in the group
    assert store.take("ids") == 2 * BLOCK + 1  # and the next block, mostly left
    with pytest.raises(StoreError, match="could not commit"):
        await store.durable()
    monkeypatch.undo()
    assert store.counter("ids") == BLOCK  # the group's reservations were rolled back
    assert store.take("ids") == BLOCK + 1  # so its blocks are gone: the counter's next block
    await store.durable()
    store.close()


def next_statement_rolls_back(store: SQLiteStore) -> None:
    """Make the store's next statement fail as SQLite fails after some errors (a full disk,
    an I/O error, no memory): the whole transaction rolled back, not just the statement."""
    real = store._conn

    class RollsBack:
        @property
        def in_transaction(self) -> bool:
            return bool(real.in_transaction)

        def execute(self, sql: str, params: Any = ()) -> Any:
            store._conn = real
            real.execute("ROLLBACK")
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
            raise error

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    store._conn = RollsBack()


async def test_when_sqlite_rolls_a_group_back_by_itself_the_group_fails_and_later_units_start_anew(
    tmp_path: Path,
) -> None:
    """The units already in the group fail as if its commit had; the failing unit reports
    its own error; a unit later in the same turn does not run outside a transaction (each
    statement committing alone) nor take positions from a block whose reservation was undone."""
    import asyncio

    path = tmp_path / "rolled.db"
    store, other = SQLiteStore(path, group_commit=True), SQLiteStore(path)
    taken: dict[str, int] = {}

    async def before() -> None:
        store.put(OTHER, "t", "before", "x")
        taken["before"] = store.take("ids")  # reserves a block in the group
        await store.durable()

    async def failing() -> None:
        with store.transaction():
            store.put(OTHER, "t", "failing", "x")
            next_statement_rolls_back(store)
            store.put(OTHER, "t", "failing-2", "x")

    async def after() -> None:
        with store.transaction():
            taken["after"] = store.take("ids")
            store.put(OTHER, "t", "after", "y")
        await store.durable()

    results = await asyncio.gather(before(), failing(), after(), return_exceptions=True)
    assert isinstance(results[0], StoreError) and "rolled the transaction back" in str(results[0])
    assert isinstance(results[1], sqlite3.OperationalError) and "disk is full" in str(results[1])  # its own error
    assert results[2] is None  # a new group, committed
    assert other.scan(OTHER) == [("t", "y")]
    # The block the first group reserved was undone with it: the position was given back and
    # is reserved again, durably this time, so no other connection can hand it out.
    assert taken["after"] == taken["before"] == 1
    assert store.counter("ids") == BLOCK
    assert 1 not in {other.take("ids") for _ in range(2 * BLOCK)}
    store.put(OTHER, "t", "later", "z")  # and the store goes on
    await store.durable()
    assert other.get(OTHER, "t", "later") == "z"
    store.close()
    other.close()


async def test_a_write_outside_a_unit_that_sqlite_rolled_back_fails_its_group(tmp_path: Path) -> None:
    """The same when the failing statement ran in the group without a unit of its own."""
    import asyncio

    path = tmp_path / "rolled-write.db"
    store, other = SQLiteStore(path, group_commit=True), SQLiteStore(path)

    async def first() -> None:
        store.put(OTHER, "t", "first", "x")
        await store.durable()

    async def failing() -> None:
        next_statement_rolls_back(store)
        store.put(OTHER, "t", "failing", "x")

    async def second() -> None:
        store.put(OTHER, "t", "second", "y")
        await store.durable()

    results = await asyncio.gather(first(), failing(), second(), return_exceptions=True)
    assert isinstance(results[0], StoreError) and isinstance(results[1], sqlite3.OperationalError)
    assert results[2] is None
    assert other.scan(OTHER) == [("t", "y")]
    store.close()
    other.close()


async def test_a_unit_that_goes_on_after_sqlite_ended_its_transaction_cannot_write(tmp_path: Path) -> None:
    """A unit that catches the error and goes on: its next statement or take raises instead
    of committing on its own, and the blocks it would restore (reserved in the undone
    transaction) are not restored."""
    path = tmp_path / "unit-gone.db"
    store, other = SQLiteStore(path, group_commit=True), SQLiteStore(path)

    def unit() -> None:
        with store.transaction():
            store.put(OTHER, "t", "b1", "x")
            assert store.take("ids") == 1  # a block reserved in the group
            next_statement_rolls_back(store)
            with pytest.raises(sqlite3.OperationalError):
                store.put(OTHER, "t", "b2", "y")
            with pytest.raises(StoreError, match="rolled the transaction back"):
                store.put(OTHER, "t", "b3", "y")  # not committed on its own
            store.take("ids")

    with pytest.raises(StoreError, match="rolled the transaction back"):
        unit()
    assert store._blocks == {} and store._undo == {}
    assert other.scan(OTHER) == [] and other.counter("ids") == 0
    taken = store.take("ids")
    await store.durable()
    assert taken not in {other.take("ids") for _ in range(2 * BLOCK)}
    store.close()
    other.close()


async def test_a_unit_that_swallows_the_error_of_its_ended_transaction_still_fails(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "swallowed.db", group_commit=True)

    def unit() -> None:
        with store.transaction():
            store.put(OTHER, "t", "a", "x")
            next_statement_rolls_back(store)
            with contextlib.suppress(sqlite3.OperationalError):
                store.put(OTHER, "t", "b", "y")

    with pytest.raises(StoreError, match="rolled the transaction back"):
        unit()
    store.put(OTHER, "t", "c", "z")  # the next unit starts afresh
    await store.durable()
    assert store.scan(OTHER) == [("t", "z")]
    store.close()


async def test_a_setting_written_in_a_group_sqlite_rolled_back_is_not_read_back(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "settings-gone.db", group_commit=True)
    store.set_setting(COUNTS, "n", 1)
    await store.durable()
    store.set_setting(COUNTS, "n", 2)
    assert store.get_settings([(COUNTS, "n")]) == [2]  # in the open group
    next_statement_rolls_back(store)
    with pytest.raises(sqlite3.OperationalError):
        store.put(OTHER, "t", "a", "x")
    assert store.get_settings([(COUNTS, "n")]) == [1]  # the same turn: what is stored
    store.close()


def test_outside_a_group_the_unit_reports_its_own_error_when_sqlite_rolled_back(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "plain.db")

    def unit() -> None:
        with store.transaction():
            store.put(OTHER, "t", "a", "x")
            next_statement_rolls_back(store)
            store.put(OTHER, "t", "b", "x")

    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        unit()
    store.put(OTHER, "t", "c", "y")
    assert store.scan(OTHER) == [("t", "y")]
    store.close()


async def test_a_unit_that_rolls_back_in_a_group_restores_the_blocks_as_they_were(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "undo.db", group_commit=True)
    assert store.take("ids") == 1

    def unit() -> None:
        with store.transaction():
            store.take("ids", 2 * BLOCK)  # a new block, reserved in the unit's savepoint
            store.take("other")
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError):
        unit()
    assert store.take("ids") == 2  # the first block again, where it was
    assert store.take("other") == 1
    await store.durable()
    assert store.counter("ids") == BLOCK and store.counter("other") == BLOCK
    store.close()


async def test_a_store_opened_on_a_running_loop_commits_its_schema_at_once(shared_store_url: str) -> None:
    """Were it a group's, the lock would be held until the loop turns, and a second
    connection opened on the loop's thread before that would wait for it in vain."""
    from passbox.core.store.sql import SQLStore

    if shared_store_url.startswith("postgresql"):
        from passbox.core.store.postgres import PostgresStore

        first: SQLStore = PostgresStore(shared_store_url, group_commit=True)
    else:
        first = SQLiteStore(Path(shared_store_url.removeprefix("sqlite:///")), group_commit=True)
    assert first._group is None and first.group_commit
    second = open_store(shared_store_url)
    second.put(OTHER, "t", "k", "v")  # the lock is free
    assert first.get(OTHER, "t", "k") == "v"
    second.close()
    first.close()


def test_outside_an_event_loop_every_unit_commits_at_once(grouped: tuple[Store, Store]) -> None:
    store, reader = grouped
    store.put(OTHER, "t", "k", "now")
    assert reader.get(OTHER, "t", "k") == "now"


def test_a_writer_waits_out_another_connections_write_transaction(shared_store_url: str) -> None:
    """SQLite answers "busy" after 1 ms; the store tries again until the holder commits."""
    holder, waiter = open_store(shared_store_url), open_store(shared_store_url)
    holder.clear()
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.transaction():
            holder.incr("n")
            inside.set()
            release.wait(timeout=30)

    with ThreadPoolExecutor(2) as pool:
        held = pool.submit(hold)
        assert inside.wait(timeout=30)
        waited = pool.submit(waiter.incr, "n")  # blocks on the lock the holder has
        release.set()
        held.result(timeout=30)
        assert waited.result(timeout=30) == 2
    holder.close()
    waiter.close()


@pytest.mark.parametrize("odd", ["a\x00b", "\x01", "\x01\x00\x01\x01", "\x00\x02", "tail\x00"])
def test_keys_and_tenants_with_control_characters_round_trip(store: Store, odd: str) -> None:
    """PostgreSQL text cannot hold NUL; a request id or a path segment may."""
    store.put(OTHER, odd, odd, "v")
    store.put(OTHER, odd, odd + "-2", "w")
    assert store.get(OTHER, odd, odd) == "v"
    assert store.find(OTHER, odd) == (odd, "v")
    assert odd in store.tenants()
    store.schedule(odd, odd, 1.0, "job", payload=odd)
    timer = store.timer(odd, odd)
    assert timer is not None and (timer.tenant, timer.key, timer.payload) == (odd, odd, odd)
    assert store.delete(OTHER, odd, odd)
    assert store.values(OTHER, odd) == ["w"]


def test_the_memory_store_keeps_its_state_out_of_the_cycle_collectors_view() -> None:
    """A container the collector tracks is walked whole by every collection of its generation:
    the store's (tens of thousands of records and timers under load) must never be tracked,
    however they were last written: records kept and retired, timers scheduled, claimed with a
    lease, rescheduled and finished, a rolled-back unit of work."""
    store = MemoryStore()
    for n in range(50):
        tenant = f"tenant-{n % 3}"
        store.put(THINGS, tenant, f"thing-{n}", Thing(name=f"n{n}", n=n), retire_at=float(n) if n % 2 else None)
        store.schedule(tenant, f"timer-{n}", due=float(n), job="job", payload=str(n))
    store.schedule("tenant-0", "timer-0", due=100.0, job="job")  # rescheduled
    claimed = store.claim_due(now=10.0, wall=0.0, lease=60.0, owner="me")
    assert claimed
    store.finish(claimed[0])

    def rolled_back() -> None:
        with store.transaction():
            store.delete(THINGS, "tenant-1", "thing-4")
            store.cancel("tenant-1", "timer-4")
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        rolled_back()
    store.retire(THINGS, now=20.0, keep=10)
    # The dicts that grow with the records and timers (those holding them, one per kind or
    # tenant, are tracked for the dicts they hold, which the collector does not walk).
    containers = [
        *(bucket for tenants in store._rows.values() for bucket in tenants.values()),
        *store._order.values(),
        *store._retirable.values(),
        *store._timers.values(),
    ]
    assert len(containers) == 3 + 1 + 1 + 3
    assert [container for container in containers if gc.is_tracked(container)] == []
    assert store.get(THINGS, "tenant-1", "thing-4") == Thing(name="n4", n=4)  # the rollback restored it
    assert store.timer("tenant-1", "timer-4") is not None


# -- the SQLite checkpointer -----------------------------------------------------------------------


async def group_commits(store: SQLiteStore, count: int, *, start: int = 0, size: int = 100) -> None:
    """``count`` group commits on this loop, each of one record of ``size`` characters."""
    for n in range(start, start + count):
        store.put(OTHER, "t", f"k{n:06d}", "x" * size)
        await store.durable()


def rows_in_the_database_file_alone(path: Path, copy: Path) -> int:
    """The records the database file holds without its log: what checkpoints copied into it."""
    copy.write_bytes(path.read_bytes())
    conn = sqlite3.connect(copy)
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'passbox_records'").fetchone() is None:
            return 0  # not even the schema was copied yet
        return int(conn.execute("SELECT count(*) FROM passbox_records").fetchone()[0])
    finally:
        conn.close()


async def test_a_store_that_commits_in_groups_copies_its_log_on_a_thread_of_its_own(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db", group_commit=True)
    await group_commits(store, CHECKPOINT_EVERY - 1)
    assert store._checkpointer is None  # started by the CHECKPOINT_EVERY-th group commit
    assert rows_in_the_database_file_alone(store.path, tmp_path / "before.db") == 0  # all in the log
    await group_commits(store, 1, start=CHECKPOINT_EVERY - 1)
    checkpointer = store._checkpointer
    assert checkpointer is not None
    assert checkpointer._thread is not threading.current_thread() and checkpointer._thread.is_alive()
    assert checkpointer.wait_until_idle(timeout=30)
    assert (checkpointer.nudges, checkpointer.left_to_writer) == (1, 0)
    assert rows_in_the_database_file_alone(store.path, tmp_path / "after.db") == CHECKPOINT_EVERY
    await group_commits(store, CHECKPOINT_EVERY, start=CHECKPOINT_EVERY)
    assert checkpointer.wait_until_idle(timeout=30)  # nudged again, CHECKPOINT_EVERY group commits later
    assert checkpointer.nudges == 2
    assert rows_in_the_database_file_alone(store.path, tmp_path / "again.db") == 2 * CHECKPOINT_EVERY
    store.close()
    assert not checkpointer._thread.is_alive()
    reopened = SQLiteStore(tmp_path / "s.db")
    assert reopened.count(OTHER) == 2 * CHECKPOINT_EVERY
    reopened.close()


def log_frames(path: Path) -> int:
    """The frames in the log now (not its file's size: a log that starts over keeps its file)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    try:
        _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(frames)
    finally:
        conn.close()


async def test_with_the_checkpointer_the_log_still_starts_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer's own checkpoint, once the log holds CHECKPOINT_PAGES, lets it start over
    while the checkpointer runs: the log file stops growing. Between rounds of writes the test
    waits for the thread, so the bound does not depend on how the thread and the writer meet
    within a round (that is the next test's)."""
    monkeypatch.setattr("passbox.core.store.sqlite.CHECKPOINT_PAGES", 200)
    store = SQLiteStore(tmp_path / "s.db", group_commit=True)
    log = tmp_path / "s.db-wal"
    frame = 2048 + 24
    sizes = []
    for round_ in range(6):
        await group_commits(store, 50, start=round_ * 50, size=1500)  # a page or more a commit
        sizes.append(log.stat().st_size)
        assert store._checkpointer is not None and store._checkpointer.wait_until_idle(timeout=30)
    assert store._checkpointer.nudges == 300 // CHECKPOINT_EVERY
    # Frames are 4-5 a commit here: at most 200 pages, then the round that crossed them, then
    # the commit that copies the rest at the start of the next round.
    assert max(sizes) <= 32 + (200 + 50 * 5 + 5) * frame < 32 + 300 * 4 * frame  # and well under all 300 commits
    assert store.count(OTHER) == 300
    store.close()


async def test_after_a_run_that_finds_a_full_log_the_checkpointer_leaves_the_next_to_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run copies only the frames there when it began; runs that follow each other with no
    gap (a slow disk) would keep the writer's own checkpoint from ever finding all copied.
    After a run that found CHECKPOINT_PAGES or more the thread skips one nudge, and the writer's
    commits in that gap copy the rest: the log starts over. (Here a reader's snapshot, not a
    slow disk, keeps the log from starting over until the thread has found it full.)"""
    monkeypatch.setattr("passbox.core.store.sqlite.CHECKPOINT_PAGES", 200)
    store = SQLiteStore(tmp_path / "s.db", group_commit=True)
    await group_commits(store, CHECKPOINT_EVERY, size=1500)
    checkpointer = store._checkpointer
    assert checkpointer is not None and checkpointer.wait_until_idle(timeout=30)
    reader = sqlite3.connect(store.path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM passbox_records").fetchone() == (CHECKPOINT_EVERY,)
    written = CHECKPOINT_EVERY
    while checkpointer.left_to_writer == 0:  # one nudge at a time, each handled before the next
        await group_commits(store, CHECKPOINT_EVERY, start=written, size=1500)
        written += CHECKPOINT_EVERY
        assert checkpointer.wait_until_idle(timeout=30)
        assert written < 50 * CHECKPOINT_EVERY, "no run ever found the log full"
    assert log_frames(store.path) >= 200  # the reader still holds the log
    reader.execute("COMMIT")
    reader.close()
    # The writer's next commit, with no run in its way, copies the rest; the one after it
    # starts the log over.
    await group_commits(store, 2, start=written, size=1500)
    assert log_frames(store.path) < 20
    await group_commits(store, CHECKPOINT_EVERY - 2, start=written + 2, size=1500)
    assert checkpointer.wait_until_idle(timeout=30)
    assert checkpointer.left_to_writer == 1  # the next nudge runs again
    assert store.count(OTHER) == written + CHECKPOINT_EVERY
    store.close()


def test_a_store_without_group_commits_starts_no_thread(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db", group_commit=True)  # no event loop here: every unit commits alone
    for n in range(2 * CHECKPOINT_EVERY):
        store.put(OTHER, "t", f"k{n}", "v")
    assert store._checkpointer is None
    store.close()


async def test_a_store_dropped_without_close_stops_its_checkpointer(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db", group_commit=True)
    await group_commits(store, CHECKPOINT_EVERY)
    checkpointer = store._checkpointer
    assert checkpointer is not None
    del store
    gc.collect()
    assert checkpointer._stopping
    checkpointer._thread.join(timeout=30)
    assert not checkpointer._thread.is_alive()
