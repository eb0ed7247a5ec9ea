"""The SQLite store: the default of ``passbox serve``, one file in the data directory.

The standard library's ``sqlite3`` in WAL mode (readers never wait for the writer), with
``synchronous=NORMAL`` (a killed process loses nothing committed; only a power cut could lose
the last transactions). Write transactions start with ``BEGIN IMMEDIATE``, so several
workers on one file take turns writing instead of failing on a lock upgrade.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from passbox.core.store.base import StoreError
from passbox.core.store.sql import SQLStore, schema

BUSY_TIMEOUT_MS = 30_000


class SQLiteStore(SQLStore):
    statement_atomic = True

    def __init__(self, path: str | Path, url: str | None = None, *, group_commit: bool = False) -> None:
        super().__init__(url or f"sqlite:///{path}", group_commit=group_commit)
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            with self.transaction():
                for statement in schema("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"):
                    self._conn.execute(statement)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open the SQLite store at {self.path}: {exc}") from exc

    def _begin(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self._conn.execute("COMMIT")

    def _rollback(self) -> None:
        self._conn.execute("ROLLBACK")

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql, params)
