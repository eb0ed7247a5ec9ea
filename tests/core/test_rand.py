"""Streams: positions are counters in the store, so draws are reproducible and never repeat."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from passbox.core.rand import Rand, uuid4_text, uuid_text
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


def test_a_numbered_id_is_a_uuid4_that_carries_its_position() -> None:
    stream = Rand(7, MemoryStore(), SECRET).stream("ids")
    positions = [*range(1, 2001), 2**40 + 3, 2**62 - 1]
    numbered = [stream.numbered_uuid4(position) for position in positions]
    assert [stream.number_of(value) for value in numbered] == positions
    assert all(uuid.UUID(value).version == 4 and uuid.UUID(value).variant == uuid.RFC_4122 for value in numbered)
    assert all(str(uuid.UUID(value)) == value for value in numbered)  # canonical, lower case
    assert len(set(numbered)) == len(numbered)
    assert not set(numbered) & {stream.uuid4_at(position) for position in range(1, 2001)}
    assert Rand(7, MemoryStore(), SECRET).stream("ids").numbered_uuid4(5) == numbered[4]  # reproducible
    assert Rand(8, MemoryStore(), SECRET).stream("ids").numbered_uuid4(5) != numbered[4]
    # Neighbouring positions share no visible pattern: no byte is the same in all of them.
    assert all(len({value[i] for value in numbered[:50]}) > 1 for i in range(36) if i not in (8, 13, 14, 18, 23))


def test_number_of_is_none_for_every_other_string() -> None:
    stream = Rand(7, MemoryStore(), SECRET).stream("ids")
    value = stream.numbered_uuid4(42)
    flipped = [value[:i] + ("0" if value[i] != "0" else "1") + value[i + 1 :] for i in range(36) if value[i] != "-"]
    others = [
        *flipped,
        value.upper(),
        "{" + value[:-2] + "}",
        stream.uuid4_at(42),
        Rand(8, MemoryStore(), SECRET).stream("ids").numbered_uuid4(42),
        Rand(7, MemoryStore(), SECRET).stream("other").numbered_uuid4(42),
        "",
        "nope",
        "\ud800" * 36,
        "x" * 36,
        "0" * 10_000,
        str(uuid.UUID(int=0)),
    ]
    assert [stream.number_of(other) for other in others] == [None] * len(others)


def test_a_numbered_id_needs_a_position_it_can_carry() -> None:
    stream = Rand(7, MemoryStore(), SECRET).stream("ids")
    for position in (0, -1, 2**62):
        with pytest.raises(ValueError, match="position from 1"):
            stream.numbered_uuid4(position)


def test_positions_and_uuid4_at_are_the_draws_of_uuid4() -> None:
    store = MemoryStore()
    stream = Rand(7, store, SECRET).stream("ids")
    expected = Rand(7, MemoryStore(), SECRET).stream("ids").uuid4s(3)
    assert list(stream.positions(3)) == [1, 2, 3]
    assert list(stream.positions(0)) == [] and stream.uuid4s(0) == []  # no take at all
    assert [stream.uuid4_at(position) for position in (1, 2, 3)] == expected
    assert store.counter("rng:ids") == 3


def test_token_bytes_at_is_what_token_bytes_draws_at_that_position() -> None:
    drawn = Rand(7, MemoryStore(), SECRET).stream("ids")
    values = [drawn.token_bytes(n) for n in (8, 16, 0, 64)]
    at = Rand(7, MemoryStore(), SECRET).stream("ids")
    assert [at.token_bytes_at(position, n) for position, n in zip((1, 2, 3, 4), (8, 16, 0, 64), strict=True)] == values
    for n in (-1, 65):
        with pytest.raises(ValueError, match="0 to 64 bytes"):
            at.token_bytes_at(1, n)


@given(raw=st.binary(min_size=16, max_size=16))
def test_uuids_are_written_as_the_uuid_module_writes_them(raw: bytes) -> None:
    assert uuid_text(raw) == str(uuid.UUID(bytes=raw))
    assert uuid4_text(raw) == str(uuid.UUID(bytes=raw, version=4))


def test_draws_are_keyed_blake2b_of_the_name_and_position() -> None:
    """The derivation itself is pinned: the same seed must give the same ids in every release
    (fixtures, docs and users' recorded tests name them), whatever makes the hashing fast."""
    rand = Rand(7, MemoryStore(), SECRET)
    stream = rand.stream("ids")
    root = stream._root

    def expected(position: int, size: int) -> bytes:
        return hashlib.blake2b(f"ids|{position}".encode(), key=root, digest_size=size).digest()

    for position, size in ((1, 16), (1, 8), (2, 16), (12345678901, 64), (2, 8), (3, 1)):  # sizes interleaved
        assert stream.token_bytes_at(position, size) == expected(position, size)
    assert stream.uuid4_at(9) == uuid4_text(expected(9, 16))
    head = bytearray(expected(9, 8))
    head[6] = (head[6] & 0x0F) | 0x40
    mask = int.from_bytes(hashlib.blake2b(b"number|" + head, key=root, digest_size=8).digest(), "big")
    tail = (9 ^ (mask & (2**62 - 1))) | (0b10 << 62)
    assert stream.numbered_uuid4(9) == uuid_text(bytes(head) + tail.to_bytes(8, "big"))
    assert rand.secret_stream("ids").token_bytes_at(1, 16) != expected(1, 16)  # another root
