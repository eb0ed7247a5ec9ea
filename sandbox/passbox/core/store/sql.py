"""What the SQLite and PostgreSQL stores share: the schema and every statement.

Statements are written once with ``?`` placeholders; a backend supplies a connection, how it
begins a write transaction and how its placeholders look. Records are rows of one table
(``kind, tenant, key`` unique; ``seq`` orders them; ``version`` for compare-and-set;
``retire_at`` for retention; ``data``: the record encoded by its kind's codec).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from passbox.core.store.base import Kind, StoreError, T, Timer, take_count

TABLES = ("passbox_records", "passbox_counters", "passbox_timers")
ROLLED_BACK = "the store could not commit: the database rolled the transaction back"


def schema(seq_column: str, blob: str) -> list[str]:
    return [
        f"""CREATE TABLE IF NOT EXISTS passbox_records (
            seq {seq_column},
            kind TEXT NOT NULL, tenant TEXT NOT NULL, key TEXT NOT NULL,
            version INTEGER NOT NULL, retire_at DOUBLE PRECISION, data {blob} NOT NULL,
            UNIQUE (kind, key, tenant))""",
        # (kind, key, tenant) serves a get by tenant and key and a find by key alone; every
        # index is written on every insert, so there is no fourth.
        "CREATE INDEX IF NOT EXISTS passbox_records_kind_seq ON passbox_records (kind, seq)",
        "CREATE INDEX IF NOT EXISTS passbox_records_tenant_seq ON passbox_records (kind, tenant, seq)",
        """CREATE INDEX IF NOT EXISTS passbox_records_retire ON passbox_records (kind, retire_at)
            WHERE retire_at IS NOT NULL""",
        # The count cap retires the oldest retirable records first. Without this index that
        # query walked every record of the kind, retirable or not (14 ms with 13,600 unfinished
        # requests on SQLite, each second for each kind: the loop stalls behind SQLite's p99).
        # Only records with a retire_at are in it, so creating a request does not write it.
        """CREATE INDEX IF NOT EXISTS passbox_records_retirable ON passbox_records (kind, seq)
            WHERE retire_at IS NOT NULL""",
        "CREATE TABLE IF NOT EXISTS passbox_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS passbox_settings (name TEXT PRIMARY KEY, data {blob} NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS passbox_timers (
            seq {seq_column},
            tenant TEXT NOT NULL, key TEXT NOT NULL, due DOUBLE PRECISION NOT NULL, job TEXT NOT NULL,
            payload TEXT NOT NULL, claim BIGINT NOT NULL, lease_until DOUBLE PRECISION, lease_owner TEXT,
            UNIQUE (tenant, key))""",
        "CREATE INDEX IF NOT EXISTS passbox_timers_due ON passbox_timers (due, seq)",
    ]


class _Group:
    """One group commit: its write transaction is open until the loop's next turn; requests
    whose units of work are in it wait for the commit, each on a future of its own (so a
    request cancelled while it waits cancels nothing but its own wait)."""

    __slots__ = ("committed", "error", "loop", "waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.committed = False
        self.error: str | None = None  # why the commit failed
        self.waiters: list[asyncio.Future[None]] = []

    def finish(self, error: str | None) -> None:
        self.committed, self.error = True, error
        for waiter in self.waiters:
            if waiter.done():  # its request was cancelled
                continue
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(StoreError(error))
        self.waiters.clear()


class SQLStore:
    """The statements; subclasses provide ``_connect`` and the transaction verbs."""

    shared = True
    placeholder = "?"
    claim_suffix = ""  # PostgreSQL: FOR UPDATE SKIP LOCKED

    statement_atomic = False  # whether a failed statement leaves the transaction usable (SQLite: yes)

    def __init__(self, url: str, *, group_commit: bool = False) -> None:
        self.url = url
        self.group_commit = group_commit  # on an event loop, units of work commit in groups (see below)
        self._lock = threading.RLock()
        self._depth = 0
        self._conn: Any = None
        self._sql_cache: dict[str, str] = {}
        # Settings last read, for a backend that can tell cheaply whether another connection
        # has committed since (SQLite); emptied by this connection's own settings writes and
        # by every rollback, so it never holds a value that was not committed.
        self._settings_cache: tuple[Any, tuple[tuple[Kind[Any], str], ...], list[Any]] | None = None
        self._group: _Group | None = None
        # What to restore in this process when the current unit of work rolls back (a
        # backend's local state, such as positions reserved ahead: see SQLiteStore.take).
        self._undo: dict[str, Callable[[], None]] = {}
        self._unit_ended = False  # the database ended the current unit's transaction (_transaction_ended)
        # The group the current task's last unit of work joined (for durable()).
        self._pending: contextvars.ContextVar[_Group | None] = contextvars.ContextVar(
            f"passbox-store-{id(self)}", default=None
        )

    # -- subclass hooks --------------------------------------------------------------------------

    def _begin(self) -> None:
        raise NotImplementedError

    def _commit(self) -> None:
        raise NotImplementedError

    def _rollback(self) -> None:
        raise NotImplementedError

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; returns a cursor (rows via fetchone/fetchall, rowcount)."""
        raise NotImplementedError

    def _lost(self) -> None:
        """A commit failed: forget local state that assumed it would succeed."""

    def _rolled_back(self) -> None:
        """A unit of work rolled back: forget local state read or written inside it."""

    # -- plumbing --------------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        cached = self._sql_cache.get(sql)
        if cached is None:
            cached = self._sql_cache[sql] = sql.replace("?", self.placeholder) if self.placeholder != "?" else sql
        return cached

    def _run(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self._execute(self._sql(sql), params)

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = self._all(sql, params)  # consumed whole: RETURNING must finish
        return rows[0] if rows else None

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return list(self._execute(self._sql(sql), params).fetchall())

    @contextmanager
    def transaction(self) -> Iterator[SQLStore]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            group = self._join_group()
            if group is None:
                self._begin()
            else:
                self._execute("SAVEPOINT unit")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                self._settings_cache = None
                undo, self._undo = self._undo, {}
                for restore in undo.values():
                    restore()
                self._rolled_back()
                ended, self._unit_ended = self._unit_ended, False
                if ended:
                    pass  # the database ended the transaction: nothing left to roll back
                elif group is None:
                    self._rollback()
                else:
                    self._execute("ROLLBACK TO SAVEPOINT unit")
                    self._execute("RELEASE SAVEPOINT unit")
                raise
            self._depth = 0
            if self._undo:
                self._undo = {}
            if self._unit_ended:  # the unit went on after an error that ended its transaction
                self._unit_ended = False
                raise StoreError(ROLLED_BACK)
            if group is None:
                try:
                    self._commit()
                except BaseException:
                    self._lost()
                    raise
            else:
                self._execute("RELEASE SAVEPOINT unit")
                self._pending.set(group)

    def _install(self, statements: Sequence[str]) -> None:
        """Create the schema in a transaction committed at once, even on an event loop: in a
        group it would hold the write lock until the loop turns, and another connection
        opened before that (on the loop's own thread) would wait for it in vain."""
        grouping, self.group_commit = self.group_commit, False
        try:
            with self.transaction():
                for statement in statements:
                    self._conn.execute(statement)
        finally:
            self.group_commit = grouping

    # -- group commit ----------------------------------------------------------------------------
    #
    # On an event loop, units of work commit in groups: the first unit of work in a turn of the
    # loop begins one write transaction, each unit of work runs in a savepoint of it (so one
    # that raises undoes itself alone), and the transaction commits once the units already
    # queued on the loop have run (``call_soon``). A commit is the costly part of a write
    # (SQLite appends every touched page to its log; PostgreSQL makes a round trip and holds
    # the write lock), and one commit for the units of 8 concurrent requests costs about what
    # one did for one. Nothing is acknowledged early: the edge awaits ``durable()`` before it
    # sends a response, and a request whose units of work are in a group waits for that
    # group's commit. Outside an event loop (start-up, the CLI, threads) every unit of work
    # commits on its own, as before.

    def _join_group(self) -> _Group | None:
        """The open group on this thread's running loop (opening one), or None outside a loop."""
        if not self.group_commit:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        if self._group is not None:
            return self._group
        self._begin()
        self._lock.acquire()  # held by the loop's thread until the group commits
        group = self._group = _Group(loop)
        loop.call_soon(self._commit_group, group)
        return group

    def _transaction_ended(self) -> None:
        """The database ended the open transaction by itself: SQLite rolls the whole
        transaction back after some errors (a full disk, an I/O error, no memory), not just
        the statement. A backend calls this from the statement that did it.

        The group fails at once (its requests get the error its commit would have given, its
        blocks are dropped, the next unit of work opens a new group), and the unit of work
        that ran the statement is ended: if it goes on regardless, its next statement raises
        instead of running outside any transaction, committing on its own."""
        group, self._group = self._group, None
        self._settings_cache = None
        self._undo = {}  # what a unit would restore was reserved in the undone transaction
        self._unit_ended = self._depth > 0
        self._lost()
        if group is not None:
            self._lock.release()  # the group's hold (see _join_group)
            group.finish(ROLLED_BACK)

    def _commit_group(self, group: _Group) -> None:
        if self._group is not group:
            return  # it failed before its turn ended (_transaction_ended)
        self._group = None
        error = None
        try:
            self._commit()
        except BaseException as exc:
            self._settings_cache = None
            self._lost()
            with contextlib.suppress(Exception):
                self._rollback()
            error = f"the store could not commit: {exc}"
        finally:
            self._lock.release()
        group.finish(error)

    async def durable(self) -> None:
        """Wait until this task's units of work are committed (at once if they are)."""
        group = self._pending.get()
        if group is None:
            return
        self._pending.set(None)
        if not group.committed:
            waiter: asyncio.Future[None] = group.loop.create_future()
            group.waiters.append(waiter)
            await waiter
        elif group.error is not None:
            raise StoreError(group.error)

    @contextmanager
    def _write(self) -> Iterator[None]:
        """Statements that write run in a transaction of their own when none is open."""
        with self.transaction():
            yield

    def _change(self, sql: str, params: Sequence[Any], *, rows: bool = False) -> Any:
        """Run one statement that writes, in a transaction of its own when none is open; returns
        its rows (``rows``) or its cursor. Where a failed statement undoes itself and leaves the
        transaction usable (SQLite), it joins an open group without a savepoint of its own.
        (A method, not a context manager: it runs for most requests, some several times.)"""
        run = self._all if rows else self._run  # consumed whole with rows: RETURNING must finish
        if self.statement_atomic:
            with self._lock:
                if self._depth:
                    return run(sql, params)
                group = self._join_group()
                if group is not None:
                    result = run(sql, params)
                    self._pending.set(group)
                    return result
        with self.transaction():
            return run(sql, params)

    # -- records ---------------------------------------------------------------------------------

    def get(self, kind: Kind[T], tenant: str, key: str) -> T | None:
        row = self._one(
            "SELECT data FROM passbox_records WHERE kind = ? AND tenant = ? AND key = ?", (kind.name, tenant, key)
        )
        return None if row is None else kind.decode(row[0])

    def get_versioned(self, kind: Kind[T], tenant: str, key: str) -> tuple[T, int] | None:
        row = self._one(
            "SELECT data, version FROM passbox_records WHERE kind = ? AND tenant = ? AND key = ?",
            (kind.name, tenant, key),
        )
        return None if row is None else (kind.decode(row[0]), int(row[1]))

    def put(self, kind: Kind[T], tenant: str, key: str, value: T, *, retire_at: float | None = None) -> int:
        data = kind.encode(value)
        row = self._change(
            """INSERT INTO passbox_records (kind, tenant, key, version, retire_at, data) VALUES (?, ?, ?, 1, ?, ?)
               ON CONFLICT (kind, key, tenant) DO UPDATE SET version = passbox_records.version + 1,
               retire_at = excluded.retire_at, data = excluded.data RETURNING version""",
            (kind.name, tenant, key, retire_at, data),
            rows=True,
        )[0]
        return int(row[0])

    def insert(self, kind: Kind[T], tenant: str, key: str, value: T, *, retire_at: float | None = None) -> bool:
        data = kind.encode(value)
        cursor = self._change(
            """INSERT INTO passbox_records (kind, tenant, key, version, retire_at, data) VALUES (?, ?, ?, 1, ?, ?)
               ON CONFLICT (kind, key, tenant) DO NOTHING""",
            (kind.name, tenant, key, retire_at, data),
        )
        return bool(cursor.rowcount == 1)

    def cas(
        self, kind: Kind[T], tenant: str, key: str, value: T, version: int, *, retire_at: float | None = None
    ) -> bool:
        data = kind.encode(value)
        cursor = self._change(
            """UPDATE passbox_records SET data = ?, version = version + 1, retire_at = ?
               WHERE kind = ? AND tenant = ? AND key = ? AND version = ?""",
            (data, retire_at, kind.name, tenant, key, version),
        )
        return bool(cursor.rowcount == 1)

    def delete(self, kind: Kind[T], tenant: str, key: str) -> bool:
        cursor = self._change(
            "DELETE FROM passbox_records WHERE kind = ? AND tenant = ? AND key = ?", (kind.name, tenant, key)
        )
        return bool(cursor.rowcount)

    @staticmethod
    def _window(newest_first: bool, limit: int | None, offset: int) -> tuple[str, tuple[Any, ...]]:
        order = " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
        if limit is None and not offset:
            return order, ()
        return order + " LIMIT ? OFFSET ?", (limit if limit is not None else 2**62, offset)

    def values(
        self, kind: Kind[T], tenant: str, *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[T]:
        window, extra = self._window(newest_first, limit, offset)
        rows = self._all(
            "SELECT data FROM passbox_records WHERE kind = ? AND tenant = ?" + window,  # noqa: S608 - constant SQL
            (kind.name, tenant, *extra),
        )
        return [kind.decode(row[0]) for row in rows]

    def scan(
        self, kind: Kind[T], *, newest_first: bool = False, limit: int | None = None, offset: int = 0
    ) -> list[tuple[str, T]]:
        window, extra = self._window(newest_first, limit, offset)
        sql = "SELECT tenant, data FROM passbox_records WHERE kind = ?" + window  # noqa: S608 - constant SQL
        rows = self._all(sql, (kind.name, *extra))
        return [(row[0], kind.decode(row[1])) for row in rows]

    def count(self, kind: Kind[T], tenant: str | None = None) -> int:
        if tenant is None:
            row = self._one("SELECT count(*) FROM passbox_records WHERE kind = ?", (kind.name,))
        else:
            row = self._one("SELECT count(*) FROM passbox_records WHERE kind = ? AND tenant = ?", (kind.name, tenant))
        return int(row[0])

    def find(self, kind: Kind[T], key: str) -> tuple[str, T] | None:
        row = self._one(
            "SELECT tenant, data FROM passbox_records WHERE kind = ? AND key = ? ORDER BY seq LIMIT 1",
            (kind.name, key),
        )
        return None if row is None else (row[0], kind.decode(row[1]))

    def tenants(self) -> list[str]:
        rows = self._all(
            """SELECT tenant FROM (SELECT tenant, min(seq) AS first FROM passbox_records GROUP BY tenant) AS t
               ORDER BY first"""
        )
        found = [row[0] for row in rows]
        for row in self._all("SELECT DISTINCT tenant FROM passbox_timers"):
            if row[0] not in found:
                found.append(row[0])
        return found

    # -- counters and settings -------------------------------------------------------------------

    def incr(self, name: str, by: int = 1) -> int:
        row = self._change(
            """INSERT INTO passbox_counters (name, value) VALUES (?, ?)
               ON CONFLICT (name) DO UPDATE SET value = passbox_counters.value + excluded.value RETURNING value""",
            (name, by),
            rows=True,
        )[0]
        return int(row[0])

    def counter(self, name: str) -> int:
        row = self._one("SELECT value FROM passbox_counters WHERE name = ?", (name,))
        return 0 if row is None else int(row[0])

    def take(self, name: str, count: int = 1) -> int:
        return self.incr(name, take_count(count))

    def get_setting(self, kind: Kind[T], name: str) -> T | None:
        row = self._one("SELECT data FROM passbox_settings WHERE name = ?", (name,))
        return None if row is None else kind.decode(row[0])

    def get_settings(self, wanted: Sequence[tuple[Kind[Any], str]]) -> list[Any]:
        marks = ", ".join("?" for _ in wanted)
        rows = self._all(f"SELECT name, data FROM passbox_settings WHERE name IN ({marks})", [n for _, n in wanted])  # noqa: S608 - placeholders only
        found = dict(rows)
        return [None if found.get(name) is None else kind.decode(found[name]) for kind, name in wanted]

    def set_setting(self, kind: Kind[T], name: str, value: T) -> None:
        data = kind.encode(value)
        self._settings_cache = None
        self._change(
            """INSERT INTO passbox_settings (name, data) VALUES (?, ?)
               ON CONFLICT (name) DO UPDATE SET data = excluded.data""",
            (name, data),
        )

    def insert_setting(self, kind: Kind[T], name: str, value: T) -> T:
        data = kind.encode(value)
        self._settings_cache = None
        with self.transaction():
            self._run(
                "INSERT INTO passbox_settings (name, data) VALUES (?, ?) ON CONFLICT (name) DO NOTHING", (name, data)
            )
            stored = self.get_setting(kind, name)
        assert stored is not None
        return stored

    # -- timers ----------------------------------------------------------------------------------

    def schedule(self, tenant: str, key: str, due: float, job: str, payload: str = "") -> None:
        self._change(
            """INSERT INTO passbox_timers (tenant, key, due, job, payload, claim) VALUES (?, ?, ?, ?, ?, 0)
               ON CONFLICT (tenant, key) DO UPDATE SET due = excluded.due, job = excluded.job,
               payload = excluded.payload, claim = passbox_timers.claim + 1, lease_until = NULL,
               lease_owner = NULL""",
            (tenant, key, due, job, payload),
        )

    def cancel(self, tenant: str, key: str) -> bool:
        cursor = self._change("DELETE FROM passbox_timers WHERE tenant = ? AND key = ?", (tenant, key))
        return bool(cursor.rowcount)

    @staticmethod
    def _timer(row: Any) -> Timer:
        return Timer(row[0], row[1], float(row[2]), row[3], row[4], int(row[5]))

    def timer(self, tenant: str, key: str) -> Timer | None:
        row = self._one(
            "SELECT tenant, key, due, job, payload, claim FROM passbox_timers WHERE tenant = ? AND key = ?",
            (tenant, key),
        )
        return None if row is None else self._timer(row)

    def timers(self, tenant: str | None = None) -> list[Timer]:
        select = "SELECT tenant, key, due, job, payload, claim FROM passbox_timers"
        if tenant is None:
            rows = self._all(select + " ORDER BY due, seq")
        else:
            rows = self._all(select + " WHERE tenant = ? ORDER BY due, seq", (tenant,))
        return [self._timer(row) for row in rows]

    def next_due(self, wall: float) -> float | None:
        row = self._one("SELECT min(due) FROM passbox_timers WHERE lease_until IS NULL OR lease_until <= ?", (wall,))
        return None if row is None or row[0] is None else float(row[0])

    def claim_due(self, now: float, wall: float, lease: float, owner: str, limit: int = 100) -> list[Timer]:
        rows = self._change(  # the only interpolation is the backend's constant lock clause
            f"""UPDATE passbox_timers SET claim = claim + 1, lease_until = ?, lease_owner = ?
                WHERE (tenant, key) IN (SELECT tenant, key FROM passbox_timers
                    WHERE due <= ? AND (lease_until IS NULL OR lease_until <= ?)
                    ORDER BY due, seq LIMIT ?{self.claim_suffix})
                RETURNING seq, tenant, key, due, job, payload, claim""",  # noqa: S608
            (wall + lease, owner, now, wall, limit),
            rows=True,
        )
        return [self._timer(row[1:]) for row in sorted(rows, key=lambda row: (float(row[3]), row[0]))]

    def finish(self, timer: Timer) -> bool:
        cursor = self._change(
            "DELETE FROM passbox_timers WHERE tenant = ? AND key = ? AND claim = ?",
            (timer.tenant, timer.key, timer.claim),
        )
        return bool(cursor.rowcount)

    # -- upkeep ----------------------------------------------------------------------------------

    def retire(self, kind: Kind[T], now: float, keep: int, limit: int | None = None) -> int:
        cap = limit if limit is not None else 2**62
        with self._write():
            gone = self._run(
                """DELETE FROM passbox_records WHERE seq IN (SELECT seq FROM passbox_records
                   WHERE kind = ? AND retire_at IS NOT NULL AND retire_at <= ? ORDER BY seq LIMIT ?)""",
                (kind.name, now, cap),
            ).rowcount
            excess = min(self.count(kind) - keep, cap)
            if excess > 0:
                gone += self._run(
                    """DELETE FROM passbox_records WHERE seq IN (SELECT seq FROM passbox_records
                       WHERE kind = ? AND retire_at IS NOT NULL ORDER BY seq LIMIT ?)""",
                    (kind.name, excess),
                ).rowcount
        return int(gone)

    def trim(self, kind: Kind[T], keep: int) -> int:
        with self._write():
            excess = self.count(kind) - keep
            if excess <= 0:
                return 0
            cursor = self._run(
                """DELETE FROM passbox_records WHERE seq IN (SELECT seq FROM passbox_records
                   WHERE kind = ? ORDER BY seq LIMIT ?)""",
                (kind.name, excess),
            )
            return int(cursor.rowcount)

    def clear(self, tenant: str | None = None) -> None:
        with self._write():  # settings (seed, clock, fault rules' version) outlive a reset
            if tenant is None:
                for table in TABLES:
                    self._run(f"DELETE FROM {table}")  # noqa: S608 - table names are constants
                return
            self._run("DELETE FROM passbox_records WHERE tenant = ?", (tenant,))
            self._run("DELETE FROM passbox_timers WHERE tenant = ?", (tenant,))

    def close(self) -> None:
        with self._lock:
            if self._group is not None:
                self._commit_group(self._group)
            if self._conn is not None:
                self._conn.close()
                self._conn = None
