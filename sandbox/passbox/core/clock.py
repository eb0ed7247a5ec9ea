"""The one clock of an app. Nothing else in the sandbox reads the system time.

A clock runs in *real* mode (system time plus an offset) or *frozen* mode (a fixed instant
that only moves when told to). Tests freeze it; the control plane can freeze, advance and
release it at runtime. Advancing never sleeps: it moves the instant and wakes whoever
listens (the scheduler), which then runs what became due.

Once attached to a store, the clock's state (frozen instant, offset) is a setting there:
every change is written through, a restart finds it again, and a clock on a shared store
(SQLite with several workers, PostgreSQL with replicas) re-reads it with ``refresh()`` at the
start of each request, so time travel on one process applies to all. Leases and latency use
``wall()`` and ``monotonic()``, which time travel never moves.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec

from passbox.core.store import Kind, Store

Listener = Callable[[], None]
MICROSECOND = timedelta(microseconds=1)
MAX_YEAR = 9000  # far enough for any test, and far from datetime's year 9999 limit


def utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime (naive values are taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def isoformat_z(value: datetime, *, micro: bool = False) -> str:
    """ISO-8601 in UTC with a ``Z``: seconds by default, microseconds when ``micro``."""
    value = utc(value)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if micro:
        text += f".{value.microsecond:06d}"
    return text + "Z"


class ClockState(msgspec.Struct, frozen=True):
    frozen_at: datetime | None = None
    offset_us: int = 0


CLOCK = Kind("clock", ClockState)
SETTING = "clock"


class Clock:
    """Real or frozen time, with listeners told about every jump."""

    def __init__(
        self,
        *,
        frozen_at: datetime | None = None,
        source: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._source = source
        self._monotonic = monotonic
        self._frozen: datetime | None = utc(frozen_at) if frozen_at is not None else None
        self._offset = timedelta(0)
        self._listeners: list[Listener] = []
        self._store: Store | None = None
        self._taken: ClockState | None = None  # the stored state take() last found current

    @classmethod
    def frozen(cls, at: datetime | str) -> Clock:
        """A clock stopped at ``at`` (an aware datetime or an ISO-8601 string)."""
        if isinstance(at, str):
            at = datetime.fromisoformat(at.replace("Z", "+00:00"))
        return cls(frozen_at=at)

    # -- persistence -------------------------------------------------------------------------

    def attach(self, store: Store) -> None:
        """Keep this clock's state in ``store``: take the stored state if there is one."""
        self._store = store
        stored = store.insert_setting(CLOCK, SETTING, self._state())
        self._apply(stored)

    def refresh(self) -> None:
        """Re-read the state another process may have changed (no-op on a private store)."""
        if self._store is not None and self._store.shared:
            self.take(self._store.get_setting(CLOCK, SETTING))

    def take(self, stored: ClockState | None) -> None:
        """Apply a state read from the store (by ``refresh``, or with other settings at once).
        A shared store's edge passes the same object on every request while the state is
        unchanged (SQLite keeps the decoded settings), so that one is known at a glance."""
        if stored is None or stored is self._taken:
            return
        if stored != self._state():
            self._apply(stored)
            self._notify()
        self._taken = stored

    def _state(self) -> ClockState:
        return ClockState(self._frozen, self._offset // MICROSECOND)

    def _apply(self, state: ClockState) -> None:
        self._taken = None
        self._frozen = utc(state.frozen_at) if state.frozen_at is not None else None
        self._offset = timedelta(microseconds=state.offset_us)

    def _change(self, frozen: datetime | None, offset: timedelta) -> None:
        """Validate, persist, then apply a new state; a refused change changes nothing."""
        state = ClockState(frozen, offset // MICROSECOND)
        probe = frozen if frozen is not None else datetime.fromtimestamp(self._source(), UTC) + offset
        if probe.year > MAX_YEAR:
            raise ValueError(f"time can move at most to the year {MAX_YEAR}")
        if self._store is not None:
            self._store.set_setting(CLOCK, SETTING, state)
        self._apply(state)
        self._notify()

    # -- reading -------------------------------------------------------------------------

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        return datetime.fromtimestamp(self._source(), UTC) + self._offset

    def timestamp(self) -> float:
        return self.now().timestamp()

    def unix(self) -> int:
        """Whole Unix seconds, as used in JWT claims and webhook timestamps."""
        return int(self.timestamp())

    def wall(self) -> float:
        """System Unix time, which time travel never moves (leases, the journal's order)."""
        return self._source()

    def monotonic(self) -> float:
        """Seconds on a monotonic scale, for measuring latency only (never frozen)."""
        return self._monotonic()

    @property
    def is_frozen(self) -> bool:
        return self._frozen is not None

    @property
    def offset(self) -> timedelta:
        """How far real mode runs ahead of (or behind) system time."""
        return self._offset

    # -- moving ----------------------------------------------------------------------------

    def freeze(self, at: datetime | None = None) -> datetime:
        """Stop the clock at ``at`` (default: the current instant)."""
        self._change(utc(at) if at is not None else self.now(), self._offset)
        assert self._frozen is not None
        return self._frozen

    def advance(self, delta: timedelta | float) -> datetime:
        """Move time forward by ``delta`` (seconds or a timedelta); negative values are refused."""
        if not isinstance(delta, timedelta):
            try:
                delta = timedelta(seconds=delta)
            except OverflowError as exc:
                raise ValueError(f"time can move at most to the year {MAX_YEAR}") from exc
        if delta < timedelta(0):
            raise ValueError("time can only move forward")
        try:
            if self._frozen is not None:
                self._change(self._frozen + delta, self._offset)
            else:
                self._change(None, self._offset + delta)
        except OverflowError as exc:
            raise ValueError(f"time can move at most to the year {MAX_YEAR}") from exc
        return self.now()

    def release(self) -> datetime:
        """Return to real time: unfreeze and drop any offset."""
        self._change(None, timedelta(0))
        return self.now()

    # -- listening -------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
