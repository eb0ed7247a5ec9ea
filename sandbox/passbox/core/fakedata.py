"""Seeded Faker per locale: people whose names depend only on the seed and a key.

Faker instances are built once per app, on first use (importing Faker and building one costs
tens of milliseconds, which a server's start-up need not pay). Each call
reseeds the instance from the app seed and the caller's key, so the person made for a given
request is the same whatever order requests arrive in. Dates are never taken from Faker
(it reads the system date); callers compute them from the app clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from passbox.core.rand import derive_seed

if TYPE_CHECKING:
    from faker import Faker


class Name(msgspec.Struct, frozen=True):
    first_name: str
    last_name: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class FakeData:
    def __init__(self, seed: int, locales: tuple[str, ...] = ("en_AU", "en_US")) -> None:
        self._seed = seed
        self._locales = locales
        self._fakers: dict[str, Faker] = {}

    def faker(self, locale: str, *key: str) -> Faker:
        """The Faker for ``locale``, reseeded for ``key``. Use it at once: the next call reseeds."""
        if locale not in self._locales:
            raise KeyError(locale)
        faker = self._fakers.get(locale)
        if faker is None:
            from faker import Faker

            faker = self._fakers[locale] = Faker(locale)
        faker.seed_instance(derive_seed(self._seed, "faker", locale, *key))
        return faker

    def name(self, locale: str, *key: str) -> Name:
        faker = self.faker(locale, *key)
        return Name(first_name=faker.first_name(), last_name=faker.last_name())

    def email(self, locale: str, name: Name, *key: str) -> str:
        faker = self.faker(locale, "email", *key)
        local = f"{name.first_name}.{name.last_name}".lower().replace(" ", "").replace("'", "")
        return f"{local}@{faker.free_email_domain()}"
