"""Streams: positions are counters in the store, so draws are reproducible and never repeat."""

from __future__ import annotations

import uuid

from passbox.core.rand import Rand
from passbox.core.store import MemoryStore

SECRET = b"a test server secret"


def test_uuid4s_gives_the_values_of_as_many_single_draws() -> None:
    singles = Rand(7, MemoryStore(), SECRET).stream("ids")
    batched_store = MemoryStore()
    batched = Rand(7, batched_store, SECRET).stream("ids")
    expected = [singles.uuid4() for _ in range(5)]
    assert [*batched.uuid4s(2), batched.uuid4(), *batched.uuid4s(2)] == expected
    assert batched_store.counter("rng:ids") == 5
    assert all(uuid.UUID(value).version == 4 for value in expected)
    assert len(set(expected)) == 5


def test_uuid4s_depends_on_the_seed_and_the_stream_name() -> None:
    first = Rand(7, MemoryStore(), SECRET).stream("ids").uuid4s(2)
    assert Rand(8, MemoryStore(), SECRET).stream("ids").uuid4s(2) != first
    assert Rand(7, MemoryStore(), SECRET).stream("other").uuid4s(2) != first
    assert Rand(7, MemoryStore(), SECRET).stream("ids").uuid4s(2) == first


def test_a_rolled_back_unit_of_work_gives_its_positions_back() -> None:
    store = MemoryStore()
    stream = Rand(7, store, SECRET).stream("ids")
    try:
        with store.transaction():
            lost = stream.uuid4s(2)
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    assert stream.uuid4s(2) == lost
