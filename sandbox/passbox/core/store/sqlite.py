"""The SQLite store: the default of ``passbox serve``, one file in the data directory.

The standard library's ``sqlite3`` in WAL mode (readers never wait for the writer), with
``synchronous=NORMAL`` (a killed process loses nothing committed; only a power cut could lose
the last transactions). Write transactions start with ``BEGIN IMMEDIATE``, so several
workers on one file take turns writing instead of failing on a lock upgrade.

A store that commits in groups on an event loop (a server's) copies its log into the database
file on a thread of its own (:class:`Checkpointer`), so that the loop does not wait for the
copy and its fsync.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from passbox.core.store.base import Kind, StoreError, T, take_count
from passbox.core.store.sql import ROLLED_BACK, SQLStore, _Group, schema

BUSY_TIMEOUT_MS = 30_000
# How long SQLite itself waits for a lock before it answers "busy" (then we wait, see _retry).
# Its own waits grow to 25-100 ms each, which is what two workers' p99 then showed.
SQLITE_WAIT_MS = 1
RETRY_FIRST, RETRY_MAX = 0.0002, 0.002  # seconds between our tries: short, as the holder commits within a loop turn
# Pages of a new database file. Most writes touch a leaf at a random place in an index (keys
# are uuids), and each touched page is written whole to the log at commit and again at the
# checkpoint: 2 KiB pages halve that against the default 4 KiB, and still hold 2-3 records.
PAGE_SIZE = 2048
# seq is a plain rowid: new rows take max(seq) + 1, so seq still orders the live rows by
# insertion. AUTOINCREMENT would also never reuse a deleted maximum, at the price of a write
# to sqlite_sequence on every insert; nothing keeps a seq after its row is gone.
SEQ_COLUMN = "INTEGER PRIMARY KEY"
# A checkpoint copies the log's pages into the database file and syncs it; the log starts over
# only after one that left nothing behind. The connection that commits runs one itself once
# the log holds CHECKPOINT_PAGES: at 4,000 (8 MiB of 2 KiB pages; SQLite's default is 1,000) a
# page written again and again (index leaves, counters) is copied once rather than four times,
# about 8% less CPU per create. On a server, the checkpointer thread has copied all but the
# last CHECKPOINT_EVERY commits' pages by then, so the loop's own checkpoint (which it waits
# for) copies a few pages and syncs little: on this VM a checkpoint of 4,000 pages held the
# loop 10-15 ms (8 of them the sync), the remainder about 2. (16,000 pages made those pauses
# rarer for one worker, but two workers on one file lost a fifth of their token throughput.)
CHECKPOINT_PAGES = 4000
CHECKPOINT_EVERY = 16  # group commits between the checkpointer's runs
# Positions a connection reserves at once from a sequence's counter (see SQLiteStore.take).
BLOCK = 64
# The setting clear() bumps: it tells other connections their reserved positions are void.
GENERATION = Kind("passbox.generation", int)
# Reads a server's connection remembers (see SQLiteStore._all): how many, and the most data one
# may hold (a journal batch is ~46 KB, so journal reads are never kept): 16 MiB at most in all.
READ_CACHE_ENTRIES = 512
READ_CACHE_BYTES = 32 * 1024


def _size(rows: list[Any]) -> int:
    """The bytes of text and blobs in ``rows``, counted until it passes READ_CACHE_BYTES."""
    size = 0
    for row in rows:
        for value in row:
            if isinstance(value, bytes | str):
                size += len(value)
        if size > READ_CACHE_BYTES:
            break
    return size


class _Block:
    """Positions ``next``..``end`` of a sequence, reserved by this connection in ``group``
    (None: committed when reserved)."""

    __slots__ = ("end", "group", "next")

    def __init__(self, first: int, end: int, group: object) -> None:
        self.next, self.end, self.group = first, end, group


class Checkpointer:
    """Copies the log into the database file on a thread of its own, with a connection of its
    own, when nudged (``PRAGMA wal_checkpoint(PASSIVE)``: it never waits for, or blocks,
    readers or the writer; ``sqlite3`` lets go of the GIL while it runs). Only its start and
    its nudges happen on the caller's thread. A failed run (another connection's checkpoint
    running, a broken file) is left to the next: the writer's own checkpoint still bounds the
    log.

    The log starts over only at a write that finds every frame copied, and a checkpoint
    copies only the frames that were there when it began. Where a run takes longer than the
    writer's next CHECKPOINT_EVERY commits (a slow disk's sync), runs follow each other with
    no gap, the writer's own checkpoints find one running and give up, and the log would
    grow for as long as the load lasts. So after a run that found the log at CHECKPOINT_PAGES
    or more, the thread leaves the next nudge alone: the writer's next commit, with no run
    in its way, copies the rest, and the write after it starts the log over.

    ``nudges`` counts nudges, ``handled`` the nudges answered by a run or left alone,
    ``left_to_writer`` those left alone."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0)
        self._wake = threading.Event()
        self._stopping = False
        self._finished = threading.Condition()
        self.nudges = self.handled = self.left_to_writer = 0
        self._thread = threading.Thread(target=self._run, name="passbox-sqlite-checkpointer", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        self.nudges += 1
        self._wake.set()

    def wait_until_idle(self, timeout: float) -> bool:
        """Wait until every nudge so far is handled (tests watch the thread with it)."""
        with self._finished:
            return self._finished.wait_for(lambda: self.handled == self.nudges, timeout)

    def _run(self) -> None:
        leave_next = False
        while True:
            self._wake.wait()
            self._wake.clear()
            seen = self.nudges  # a nudge from now on sets the event again
            if self._stopping:
                break
            if leave_next:
                leave_next = False
                self.left_to_writer += 1
            else:
                with contextlib.suppress(sqlite3.Error):  # see the class docstring
                    _busy, log, _copied = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    leave_next = log >= CHECKPOINT_PAGES
            with self._finished:
                self.handled = seen
                self._finished.notify_all()
        self._conn.close()

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join()


class SQLiteStore(SQLStore):
    statement_atomic = True

    def __init__(self, path: str | Path, url: str | None = None, *, group_commit: bool = False) -> None:
        super().__init__(url or f"sqlite:///{path}", group_commit=group_commit)
        self.path = Path(path)
        self._checkpointer: Checkpointer | None = None  # started by the CHECKPOINT_EVERY-th group commit
        self._group_commits = 0
        # Sequences' reserved positions (take), the generation they belong to, and the
        # data_version at which that generation was last read.
        self._blocks: dict[str, _Block] = {}
        self._generation: int | None = 0  # None: unknown (a reset of ours did not commit)
        self._generation_seen: int | None = None
        self._reset_pending = False  # a clear() of ours is in a transaction not yet committed
        self._txn_serial = 0  # write transactions begun so far
        self._version: tuple[int, int] = (-1, 0)  # (serial, data_version) read in that transaction
        # (thread, data_version) read outside a transaction in this turn of that thread's loop.
        self._turn: tuple[int, int] | None = None
        # (sql, params) -> ((data_version, write transactions begun), rows), least recently used first.
        self._reads: OrderedDict[tuple[str, tuple[Any, ...]], tuple[tuple[int, int], tuple[Any, ...]]] = OrderedDict()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=SQLITE_WAIT_MS / 1000
            )
            self._conn.execute(f"PRAGMA busy_timeout = {SQLITE_WAIT_MS}")
            self._conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # a no-op on an existing file
            self._retry(lambda: self._conn.execute("PRAGMA journal_mode = WAL"))
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}")
            self._install(schema(SEQ_COLUMN, "BLOB"))
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the SQLite store at {self.path}: {exc}") from exc

    def _retry(self, run: Callable[[], T]) -> T:
        """Run a statement, trying again while another connection holds the lock it needs (for
        up to BUSY_TIMEOUT_MS): writers hold it for one turn of their event loop, so short waits
        find it free far sooner than SQLite's own growing sleeps."""
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        pause = RETRY_FIRST
        while True:
            try:
                return run()
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise
                if time.monotonic() >= deadline:
                    raise
            time.sleep(pause)  # a lock held by another process: nothing to await
            pause = min(pause * 2, RETRY_MAX)

    def get_settings(self, wanted: Sequence[tuple[Kind[Any], str]]) -> list[Any]:
        """Read on every request (the clock, the fault rules' version): SQLite's data_version
        changes only when another connection commits, and this connection's own settings
        writes and rollbacks empty the cache, so an unchanged version means unchanged settings.
        That is one cheap pragma instead of a query and its decoding."""
        key = tuple(wanted)
        with self._lock:
            cached = self._settings_cache
            version = self._data_version()
            if cached is not None and cached[0] == version and cached[1] == key:
                return list(cached[2])
            values = super().get_settings(key)
            self._settings_cache = (version, key, values)
            return list(values)

    def _data_version(self) -> int:
        """SQLite's data_version: it changes when another connection commits. Read once per
        write transaction of ours (while one is open, no other connection can commit: a
        server's group lasts a loop turn, so 8 requests' reads cost one pragma); outside one,
        on a server's loop, once per turn of the loop (for the loop's own thread: another
        thread reads it afresh); else on every call.

        Once per turn is enough because a loop reads its sockets before it runs the turn's
        callbacks: every request served in a turn arrived before the turn's first read of the
        version, so a commit its client saw answered before sending it is in that read. (The
        turn's end is a call_soon, which runs before anything that arrives after it; and a
        request's task first runs in the turn after the one that read its head, as uvicorn
        starts it with create_task and no eager task factory is installed.)"""
        serial = self._txn_serial
        in_transaction = self._conn.in_transaction
        if in_transaction:
            if self._version[0] == serial:
                return self._version[1]
        elif self._turn is not None and self._turn[0] == threading.get_ident():
            return self._turn[1]
        version: int = self._execute("PRAGMA data_version").fetchone()[0]  # busy retried, as every read
        self._version = (serial if in_transaction else -1, version)
        if not in_transaction and self.group_commit:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return version
            turn = self._turn = (threading.get_ident(), version)  # the loop's thread only
            loop.call_soon(self._end_turn, turn)
        return version

    def _end_turn(self, turn: tuple[int, int]) -> None:
        if self._turn is turn:
            self._turn = None

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """A server's reads outside a write transaction are remembered, as rows (records are
        decoded afresh on every read), and answered again while nothing can have changed them:
        no connection committed since (data_version, read once a turn on a loop, see
        _data_version) and this one began no write transaction since. Most requests read
        what the last one read (the partner's webhooks, the settings); a statement and its
        rows cost a webhook list about a tenth of its CPU under load."""
        if not self.group_commit or not sql.startswith("SELECT"):
            return super()._all(sql, params)
        with self._lock:
            if self._conn.in_transaction:  # own writes not committed yet, or a rollback to come
                return super()._all(sql, params)
            key = (sql, tuple(params))
            tag = (self._data_version(), self._txn_serial)
            hit = self._reads.get(key)
            if hit is not None and hit[0] == tag:
                self._reads.move_to_end(key)
                return list(hit[1])
            rows = super()._all(sql, params)
            if _size(rows) <= READ_CACHE_BYTES:
                self._reads[key] = (tag, tuple(rows))
                self._reads.move_to_end(key)
                if len(self._reads) > READ_CACHE_ENTRIES:
                    self._reads.popitem(last=False)
            return rows

    # -- sequences ----------------------------------------------------------------------------------
    #
    # Every id and secret a server draws takes a position (core.rand), and a counter step is a
    # write: on the token path it was the only one, and its statement, its share of a group
    # commit and the log pages it wrote cost about 35 of 83 us in-process. So a connection
    # reserves BLOCK positions in one step and takes them one by one from memory. What must
    # stay true of a sequence (Store.take) is kept so:
    #
    # - other connections reserve blocks after ours (the counter is a committed write), so
    #   positions never collide; a block reserved in a group is not used by a response
    #   before that group commits (the take joins the group's durable()), and a group that
    #   fails to commit voids every block (_lost);
    # - a unit of work that rolls back restores the blocks as they were when it began (_undo);
    # - clear() bumps GENERATION in its transaction; a connection reads it again whenever
    #   data_version shows another connection committed, and drops its blocks when it
    #   changed (a reset of ours that does not commit, as its unit rolls back or its group
    #   fails, leaves the generation unknown: the next take reads it and drops the blocks).
    #   Inside a write transaction that read cannot be overtaken. A take outside one
    #   (an applicant token, which is not stored) uses the data_version read last (the edge
    #   reads it as each request starts, for the settings): it may use a block until the
    #   request after a reset another process committed, as if it had run just before it.

    def take(self, name: str, count: int = 1) -> int:
        take_count(count)
        with self._lock:
            self._check_generation()
            block = self._blocks.get(name)
            if self._depth and name not in self._undo:
                self._undo[name] = self._restorer(name, block)
            if block is None or block.end - block.next + 1 < count:
                size = max(count, BLOCK)
                end = self.incr(name, size)
                block = self._blocks[name] = _Block(end - size + 1, end, self._group)
            elif block.group is not None and block.group is self._group:
                self._pending.set(self._group)  # reserved in the open group: wait for its commit
            block.next += count
            return block.next - 1

    def _restorer(self, name: str, block: _Block | None) -> Callable[[], None]:
        at = 0 if block is None else block.next

        def restore() -> None:
            if block is None:
                self._blocks.pop(name, None)
            else:
                block.next = at
                self._blocks[name] = block

        return restore

    def _check_generation(self) -> None:
        if self._conn.in_transaction or self._generation_seen is None:
            version = self._data_version()
        else:
            version = self._version[1]  # the last read: a server reads it as each request starts
        if version == self._generation_seen:
            return
        generation = self.get_setting(GENERATION, GENERATION.name) or 0
        if generation != self._generation:
            self._blocks.clear()
            self._generation = generation
        self._generation_seen = version

    def _lost(self) -> None:
        self._blocks.clear()
        self._rolled_back()

    def _rolled_back(self) -> None:
        if self._reset_pending:  # the reset may be undone: which generation is stored is unknown
            self._generation = self._generation_seen = None

    def clear(self, tenant: str | None = None) -> None:
        if tenant is not None:
            super().clear(tenant)
            return
        with self._write():
            super().clear()
            generation = (self.get_setting(GENERATION, GENERATION.name) or 0) + 1
            self.set_setting(GENERATION, GENERATION.name, generation)
        self._blocks.clear()
        self._generation = generation
        self._generation_seen = None
        self._reset_pending = self._conn.in_transaction  # in a group or an outer unit: not committed yet

    def _begin(self) -> None:
        self._retry(lambda: self._conn.execute("BEGIN IMMEDIATE"))
        self._txn_serial += 1

    def _commit(self) -> None:
        self._conn.execute("COMMIT")
        self._reset_pending = False

    def _commit_group(self, group: _Group) -> None:
        grouped = self._group is group
        super()._commit_group(group)
        if not grouped:
            return
        self._group_commits += 1
        if self._group_commits % CHECKPOINT_EVERY == 0 and self._conn is not None:
            if self._checkpointer is None:
                try:
                    self._checkpointer = Checkpointer(self.path)
                except sqlite3.Error:
                    return  # the writer's own checkpoints still bound the log; tried again later
                # A store dropped without close() stops its thread too.
                weakref.finalize(self, self._checkpointer.close)
            self._checkpointer.nudge()

    def close(self) -> None:
        super().close()
        if self._checkpointer is not None:
            self._checkpointer.close()

    def _rollback(self) -> None:
        self._conn.execute("ROLLBACK")

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self._unit_ended:
            raise StoreError(ROLLED_BACK)
        try:
            try:
                return self._conn.execute(sql, params)
            except sqlite3.OperationalError as exc:
                # In our write transaction we hold the lock already: nothing to wait for.
                if self._depth or exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise
            return self._retry(lambda: self._conn.execute(sql, params))
        except sqlite3.Error:
            # After some errors SQLite has rolled the whole transaction back, not the statement.
            if (self._group is not None or self._depth) and not self._conn.in_transaction:
                self._transaction_ended()
            raise
