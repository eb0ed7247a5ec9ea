"""The randomness of an app: ids, secrets, keys, jitter and the people Faker makes.

Two roots, never mixed (design.md, decision 8):

- the **seed** makes *data* reproducible: ids, people, documents. The same seed and the same
  calls give the same values, in any process.
- the **server secret** (random on first start and kept in the store, or given explicitly)
  makes *secrets*: signing keys, webhook secrets, token IVs. Nothing public derives them.

Each purpose draws from its own named :class:`Stream`. A stream has no state in the process:
every draw takes the next position of a sequence in the store (``Store.take``, in the unit of
work that uses it) and hashes ``(root, name, position)``. So ids never repeat across restarts,
workers or replicas, a rolled-back unit of work gives its positions back, and a reset starts
them over.
``keyed()`` streams depend on their names alone (the person behind one request, say).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import uuid
from typing import Any

from passbox.core.store import Store

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_POSITION_BITS = 2**62 - 1  # the low 62 bits of a uuid's second half; the top two are its variant
_VARIANT = 0b10 << 62  # RFC 4122


def uuid_text(raw: bytes) -> str:
    """``str(uuid.UUID(bytes=raw))``, without making a UUID (a third of the time)."""
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def uuid4_text(raw: bytes) -> str:
    """``str(uuid.UUID(bytes=raw, version=4))``: version 4 and the RFC 4122 variant set."""
    return uuid_text(raw[:6] + bytes(((raw[6] & 0x0F) | 0x40, raw[7], (raw[8] & 0x3F) | 0x80)) + raw[9:16])


def derive_seed(seed: int, *names: str) -> int:
    """A 64-bit seed derived from ``seed`` and a path of names (stable across Python runs)."""
    digest = hashlib.sha256(repr((seed, *names)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


class _Draws:
    """Values drawn from a source of random.Random instances (one per draw or one per stream)."""

    def _random(self) -> random.Random:
        raise NotImplementedError

    def token_bytes(self, n: int) -> bytes:
        return self._random().getrandbits(8 * n).to_bytes(n, "big")

    def uuid4(self) -> str:
        return uuid4_text(self.token_bytes(16))

    def uuid4s(self, count: int) -> list[str]:
        """``count`` uuid4 draws: the values ``count`` calls of uuid4() would give."""
        return [self.uuid4() for _ in range(count)]

    def hex(self, n_bytes: int) -> str:
        return self.token_bytes(n_bytes).hex()

    def alnum(self, length: int) -> str:
        rng = self._random()
        return "".join(rng.choice(ALNUM) for _ in range(length))

    def digits(self, length: int) -> str:
        rng = self._random()
        return "".join(str(rng.randint(0, 9)) for _ in range(length))

    def uniform(self, low: float, high: float) -> float:
        return self._random().uniform(low, high)

    def randint(self, low: int, high: int) -> int:
        return self._random().randint(low, high)

    def choice(self, options: list[Any] | tuple[Any, ...]) -> Any:
        return self._random().choice(options)


class Keyed(_Draws):
    """A stream determined only by its seed: the same names always give the same values."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def _random(self) -> random.Random:
        return self._rng


class Stream(_Draws):
    """A named stream whose position is a sequence in the store (see the module docstring)."""

    def __init__(self, store: Store, root: bytes, name: str) -> None:
        self._store = store
        self._root = root
        self.name = name
        self._counter = "rng:" + name
        self._prefix = f"{name}|".encode()
        # Keyed hashers with the key block already taken in, by digest size (copied per draw).
        self._keyed: dict[int, Any] = {}
        self._number_key = hashlib.blake2b(b"number|", key=root, digest_size=8)

    def _digest(self, size: int, position: int | None = None) -> bytes:
        if position is None:
            position = self._store.take(self._counter)
        keyed = self._keyed.get(size)
        if keyed is None:
            keyed = self._keyed[size] = hashlib.blake2b(key=self._root, digest_size=size)
        hasher = keyed.copy()
        hasher.update(self._prefix + str(position).encode())
        return hasher.digest()

    def positions(self, count: int) -> range:
        """The next ``count`` positions, in one take (none for a count of 0)."""
        if count == 0:
            return range(0)
        last = self._store.take(self._counter, count)
        return range(last - count + 1, last + 1)

    def uuid4_at(self, position: int) -> str:
        """The uuid4 this stream draws at ``position`` (what uuid4() gives when it is next)."""
        return uuid4_text(self._digest(16, position))

    def uuid4s(self, count: int) -> list[str]:
        return [self.uuid4_at(position) for position in self.positions(count)]

    # A numbered id is uuid4-shaped and carries its own position: its first half is this
    # stream's draw at the position, its second half the position masked by a hash of the
    # first. number_of() reads the position back and checks the first half, so whoever holds
    # an id can find what was drawn with it without an index, and anything else reads as None.

    def numbered_uuid4(self, position: int) -> str:
        if not 0 < position <= _POSITION_BITS:
            raise ValueError("a numbered id carries a position from 1 to 2**62 - 1")
        head = self._head(position)
        tail = (position ^ self._mask(head)) | _VARIANT
        return uuid_text(head + tail.to_bytes(8, "big"))

    def number_of(self, value: str) -> int | None:
        """The position a numbered_uuid4() of this stream carries; None for any other string."""
        if len(value) != 36:
            return None
        try:
            parsed = uuid.UUID(value)
        except ValueError:
            return None
        if str(parsed) != value:  # another spelling of it (upper case, braces) is another string
            return None
        raw = parsed.bytes
        head, tail = raw[:8], int.from_bytes(raw[8:], "big")
        if tail >> 62 != _VARIANT >> 62:
            return None
        position = (tail & _POSITION_BITS) ^ self._mask(head)
        return position if position and self._head(position) == head else None

    def _head(self, position: int) -> bytes:
        head = bytearray(self._digest(8, position))
        head[6] = (head[6] & 0x0F) | 0x40  # version 4
        return bytes(head)

    def _mask(self, head: bytes) -> int:
        hasher = self._number_key.copy()
        hasher.update(head)
        digest = hasher.digest()
        return int.from_bytes(digest, "big") & _POSITION_BITS

    def token_bytes(self, n: int) -> bytes:
        if n <= 64:
            return self.token_bytes_at(self._store.take(self._counter), n)
        return super().token_bytes(n)

    def token_bytes_at(self, position: int, n: int) -> bytes:
        """The ``n`` bytes (at most 64) token_bytes(n) gives when ``position`` is next."""
        if not 0 <= n <= 64:
            raise ValueError("token_bytes_at draws 0 to 64 bytes")
        return self._digest(max(n, 1), position)[:n]

    def _random(self) -> random.Random:
        return random.Random(int.from_bytes(self._digest(32), "big"))


class Rand:
    """The app's seed and server secret, and the streams derived from them."""

    def __init__(self, seed: int, store: Store, secret: bytes) -> None:
        self.seed = seed
        self._store = store
        self._data_root = hashlib.blake2b(repr(("passbox-data", seed)).encode(), digest_size=32).digest()
        self._secret = secret
        self._secret_root = hmac.new(secret, b"passbox-secrets", hashlib.sha256).digest()

    def stream(self, name: str) -> Stream:
        """Reproducible draws for ``name``: ids and other data."""
        return Stream(self._store, self._data_root, name)

    def secret_stream(self, name: str) -> Stream:
        """Unpredictable draws for ``name``: secrets, IVs (derived from the server secret)."""
        return Stream(self._store, self._secret_root, name)

    def keyed(self, *names: str) -> Keyed:
        """A fresh stream determined only by the seed and ``names``: the same names always
        give the same values, whatever else happened before (used for per-request people)."""
        return Keyed(derive_seed(self.seed, *names))

    def key_bytes(self, name: str, n: int) -> bytes:
        """Key material for ``name``: fixed for a given server secret, never derived from the seed."""
        if not 0 < n <= 64:
            raise ValueError("keys are 1 to 64 bytes")
        return hmac.new(self._secret, b"key|" + name.encode(), hashlib.sha512).digest()[:n]
