"""The seeded randomness of an app: ids, secrets, keys, jitter and the people Faker makes.

Everything random comes from one seed. Each *purpose* draws from its own stream derived
from the seed and the purpose's name, so traffic on one vendor never shifts the ids of the
other, and keys made at startup do not depend on how many requests came before.
Reproducible by design: a sandbox's secrets are test fixtures, not protection.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from typing import Any


def derive_seed(seed: int, *names: str) -> int:
    """A 64-bit seed derived from ``seed`` and a path of names (stable across Python runs)."""
    digest = hashlib.sha256(repr((seed, *names)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


class Stream:
    """One named stream of seeded randomness."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def reseed(self, seed: int) -> None:
        """Start the stream over (holders of this stream see the reset too)."""
        self._random.seed(seed)

    @property
    def random(self) -> random.Random:
        return self._random

    def uuid4(self) -> str:
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def token_bytes(self, n: int) -> bytes:
        return self._random.getrandbits(8 * n).to_bytes(n, "big")

    def hex(self, n_bytes: int) -> str:
        return self.token_bytes(n_bytes).hex()

    def alnum(self, length: int) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        return "".join(self._random.choice(alphabet) for _ in range(length))

    def uniform(self, low: float, high: float) -> float:
        return self._random.uniform(low, high)

    def randint(self, low: int, high: int) -> int:
        return self._random.randint(low, high)

    def choice(self, options: list[Any] | tuple[Any, ...]) -> Any:
        return self._random.choice(options)

    def digits(self, length: int) -> str:
        return "".join(str(self._random.randint(0, 9)) for _ in range(length))


class Rand:
    """The app's seed and the streams derived from it."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._streams: dict[str, Stream] = {}

    def stream(self, name: str) -> Stream:
        """The long-lived stream for ``name`` (created on first use)."""
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = Stream(derive_seed(self.seed, name))
        return stream

    def keyed(self, *names: str) -> Stream:
        """A fresh stream determined only by the seed and ``names``: the same names always
        give the same values, whatever else happened before (used for per-request people)."""
        return Stream(derive_seed(self.seed, *names))

    def key_bytes(self, name: str, n: int) -> bytes:
        """Key material for ``name``: fixed for a given seed."""
        return self.keyed("key", name).token_bytes(n)

    def reset(self) -> None:
        """Back to the state right after the seed was set, for every stream handed out."""
        for name, stream in self._streams.items():
            stream.reseed(derive_seed(self.seed, name))
