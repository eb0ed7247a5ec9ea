"""The randomness of an app: ids, secrets, keys, jitter and the people Faker makes.

Two roots, never mixed (design.md, decision 8):

- the **seed** makes *data* reproducible: ids, people, documents. The same seed and the same
  calls give the same values, in any process.
- the **server secret** (random on first start and kept in the store, or given explicitly)
  makes *secrets*: signing keys, webhook secrets, token IVs. Nothing public derives them.

Each purpose draws from its own named :class:`Stream`. A stream has no state in the process:
every draw takes the next position of a counter in the store (in the unit of work that uses
it) and hashes ``(root, name, position)``. So ids never repeat across restarts, workers or
replicas, a rolled-back unit of work gives its positions back, and a reset starts them over.
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
        return str(uuid.UUID(bytes=self.token_bytes(16), version=4))

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
    """A named stream whose position is a counter in the store (see the module docstring)."""

    def __init__(self, store: Store, root: bytes, name: str) -> None:
        self._store = store
        self._root = root
        self.name = name
        self._counter = "rng:" + name

    def _digest(self, size: int, position: int | None = None) -> bytes:
        if position is None:
            position = self._store.incr(self._counter)
        return hashlib.blake2b(f"{self.name}|{position}".encode(), key=self._root, digest_size=size).digest()

    def uuid4s(self, count: int) -> list[str]:
        """One counter step of ``count`` positions (one statement on a SQL store, not ``count``)."""
        last = self._store.incr(self._counter, count)
        positions = range(last - count + 1, last + 1)
        return [str(uuid.UUID(bytes=self._digest(16, position), version=4)) for position in positions]

    def token_bytes(self, n: int) -> bytes:
        if n <= 64:
            return self._digest(max(n, 1))[:n]
        return super().token_bytes(n)

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
