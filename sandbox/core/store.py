"""The state store: one interface for all state, partitioned by tenant.

A tenant is a vendor-qualified id (``seekpass:<client_id>``, ``verifypass:<account>``), so a
partner only ever reaches its own records and one tenant can be reset alone. Records are
immutable dataclasses: a backend builds the new record completely (validation first), then
puts it, so a failed request never leaves a half-written record behind.

Only the in-memory store exists today; the protocol is what a SQLite or Redis store would
implement (records would then need (de)serialising, which is why they are plain dataclasses).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class Store(Protocol):
    def get(self, kind: str, tenant: str, key: str) -> Any | None: ...

    def put(self, kind: str, tenant: str, key: str, value: Any) -> None: ...

    def delete(self, kind: str, tenant: str, key: str) -> bool: ...

    def values(self, kind: str, tenant: str) -> list[Any]:
        """Records of one kind and tenant, oldest first."""
        ...

    def count(self, kind: str, tenant: str | None = None) -> int: ...

    def find(self, kind: str, key: str) -> tuple[str, Any] | None:
        """The first (tenant, record) holding ``key`` among all tenants."""
        ...

    def scan(self, kind: str) -> Iterator[tuple[str, Any]]:
        """Every (tenant, record) of a kind, tenants in creation order."""
        ...

    def tenants(self) -> list[str]: ...

    def clear(self, tenant: str | None = None) -> None:
        """Forget everything, or everything of one tenant."""
        ...


class MemoryStore:
    """Dicts in insertion order: kind -> tenant -> key -> record."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, dict[str, Any]]] = {}

    def _bucket(self, kind: str, tenant: str) -> dict[str, Any]:
        return self._data.setdefault(kind, {}).setdefault(tenant, {})

    def get(self, kind: str, tenant: str, key: str) -> Any | None:
        return self._data.get(kind, {}).get(tenant, {}).get(key)

    def put(self, kind: str, tenant: str, key: str, value: Any) -> None:
        self._bucket(kind, tenant)[key] = value

    def delete(self, kind: str, tenant: str, key: str) -> bool:
        bucket = self._data.get(kind, {}).get(tenant)
        if bucket is None or key not in bucket:
            return False
        del bucket[key]
        return True

    def values(self, kind: str, tenant: str) -> list[Any]:
        return list(self._data.get(kind, {}).get(tenant, {}).values())

    def count(self, kind: str, tenant: str | None = None) -> int:
        tenants = self._data.get(kind, {})
        if tenant is not None:
            return len(tenants.get(tenant, {}))
        return sum(len(bucket) for bucket in tenants.values())

    def find(self, kind: str, key: str) -> tuple[str, Any] | None:
        for tenant, bucket in self._data.get(kind, {}).items():
            if key in bucket:
                return tenant, bucket[key]
        return None

    def scan(self, kind: str) -> Iterator[tuple[str, Any]]:
        for tenant, bucket in list(self._data.get(kind, {}).items()):
            for value in list(bucket.values()):
                yield tenant, value

    def tenants(self) -> list[str]:
        seen: dict[str, None] = {}
        for tenants in self._data.values():
            seen.update(dict.fromkeys(tenants))
        return list(seen)

    def clear(self, tenant: str | None = None) -> None:
        if tenant is None:
            self._data.clear()
            return
        for tenants in self._data.values():
            tenants.pop(tenant, None)
