"""The PostgreSQL store: one database shared by replicas (``passbox[postgres]``, psycopg 3).

Write transactions serialise on one advisory transaction lock, so a unit of work on any
replica sees every unit committed before it and none half-done, exactly as on SQLite;
reads run concurrently outside transactions. Due timers are claimed with
``FOR UPDATE SKIP LOCKED`` and a lease in wall time, so each attempt has one owner and a dead
replica's claims run out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from passbox.core.store.base import StoreError
from passbox.core.store.sql import SQLStore, schema

WRITE_LOCK = 0x70617373626F78  # "passbox"


class PostgresStore(SQLStore):
    placeholder = "%s"
    claim_suffix = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, *, group_commit: bool = False) -> None:
        super().__init__(url, group_commit=group_commit)
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise StoreError("a postgresql:// store needs psycopg: pip install 'passbox[postgres]'") from exc
        self._errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
            self._install(schema("BIGSERIAL PRIMARY KEY", "BYTEA"))
        except psycopg.Error as exc:
            raise StoreError(f"cannot open the PostgreSQL store: {exc}") from exc

    def _begin(self) -> None:
        self._conn.execute("BEGIN")
        self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))

    def _commit(self) -> None:
        self._conn.execute("COMMIT")

    def _rollback(self) -> None:
        self._conn.execute("ROLLBACK")

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return _Rows(self._conn.execute(sql, [_escape(p) if isinstance(p, str) else p for p in params]))


# PostgreSQL text cannot hold NUL, and a request id or a path segment may (SQLite and memory
# keep it): every text value is stored with a reversible escape, \x01 -> \x01\x02 and
# \x00 -> \x01\x01, and read back through the inverse. Records themselves are bytea.
def _escape(text: str) -> str:
    if "\x00" not in text and "\x01" not in text:
        return text
    return text.replace("\x01", "\x01\x02").replace("\x00", "\x01\x01")


def _unescape(value: Any) -> Any:
    if not isinstance(value, str) or "\x01" not in value:
        return value
    return value.replace("\x01\x01", "\x00").replace("\x01\x02", "\x01")


class _Rows:
    """A cursor whose rows come back with text values unescaped."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(_unescape(value) for value in row) for row in self._cursor.fetchall()]
