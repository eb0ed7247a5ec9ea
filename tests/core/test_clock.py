from datetime import UTC, datetime, timedelta

import pytest

from passbox.core.clock import Clock, isoformat_z


def test_frozen_clock_stands_still_until_advanced() -> None:
    clock = Clock.frozen("2026-01-01T00:00:00Z")
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
    assert clock.now() == clock.now()
    clock.advance(90)
    assert clock.now() == datetime(2026, 1, 1, 0, 1, 30, tzinfo=UTC)
    clock.advance(timedelta(hours=48))
    assert clock.unix() == int(datetime(2026, 1, 3, 0, 1, 30, tzinfo=UTC).timestamp())


def test_time_never_goes_back() -> None:
    clock = Clock.frozen("2026-01-01T00:00:00Z")
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)


def test_real_mode_follows_the_source_plus_offset() -> None:
    now = [1_700_000_000.0]
    clock = Clock(source=lambda: now[0])
    assert clock.unix() == 1_700_000_000
    now[0] += 5
    assert clock.unix() == 1_700_000_005
    clock.advance(3600)
    assert clock.unix() == 1_700_003_605
    assert clock.offset == timedelta(hours=1)


def test_freeze_and_release() -> None:
    now = [1_700_000_000.0]
    clock = Clock(source=lambda: now[0])
    clock.advance(60)
    frozen_at = clock.freeze()
    now[0] += 1000
    assert clock.now() == frozen_at
    assert clock.is_frozen
    clock.release()
    assert not clock.is_frozen
    assert clock.unix() == 1_700_001_000  # the offset is gone too


def test_listeners_hear_every_jump() -> None:
    clock = Clock.frozen("2026-01-01T00:00:00Z")
    heard: list[datetime] = []
    clock.subscribe(lambda: heard.append(clock.now()))
    clock.advance(1)
    clock.freeze(datetime(2027, 1, 1, tzinfo=UTC))
    assert heard == [datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)]


def test_isoformat_z() -> None:
    value = datetime(2025, 4, 15, 2, 14, 1, 307391, tzinfo=UTC)
    assert isoformat_z(value) == "2025-04-15T02:14:01Z"
    assert isoformat_z(value, micro=True) == "2025-04-15T02:14:01.307391Z"
