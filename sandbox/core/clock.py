"""The one clock of an app. Nothing else in the sandbox reads the system time.

A clock runs in *real* mode (system time plus an offset) or *frozen* mode (a fixed instant
that only moves when told to). Tests freeze it; the control plane can freeze, advance and
release it at runtime. Advancing never sleeps: it moves the instant and wakes whoever
listens (the scheduler), which then runs what became due.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Listener = Callable[[], None]


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

    @classmethod
    def frozen(cls, at: datetime | str) -> Clock:
        """A clock stopped at ``at`` (an aware datetime or an ISO-8601 string)."""
        if isinstance(at, str):
            at = datetime.fromisoformat(at.replace("Z", "+00:00"))
        return cls(frozen_at=at)

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
        self._frozen = utc(at) if at is not None else self.now()
        self._notify()
        return self._frozen

    def advance(self, delta: timedelta | float) -> datetime:
        """Move time forward by ``delta`` (seconds or a timedelta); negative values are refused."""
        if not isinstance(delta, timedelta):
            delta = timedelta(seconds=delta)
        if delta < timedelta(0):
            raise ValueError("time can only move forward")
        if self._frozen is not None:
            self._frozen += delta
        else:
            self._offset += delta
        self._notify()
        return self.now()

    def release(self) -> datetime:
        """Return to real time: unfreeze and drop any offset."""
        self._frozen = None
        self._offset = timedelta(0)
        self._notify()
        return self.now()

    # -- listening -------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
