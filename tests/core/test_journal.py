"""The journal on a shared store: batches per flush and tenant, bounded, newest first, shared."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from passbox.core.journal import BATCH, BATCHES, Journal
from passbox.core.store import Store, open_store


@pytest.fixture
def stores(shared_store_url: str) -> Iterator[tuple[Store, Store]]:
    """Two connections to one store: two workers or replicas."""
    first, second = open_store(shared_store_url), open_store(shared_store_url)
    first.clear()
    yield first, second
    first.close()
    second.close()


def record(journal: Journal, n: int, tenant: str) -> None:
    journal.record(
        at=datetime(2026, 1, 1, tzinfo=UTC),
        scope={"method": "GET", "path": f"/r/{n}", "headers": [(b"key", b"secret"), (b"x-n", str(n).encode())]},
        vendor="verifypass",
        operation="getActivity",
        tenant=tenant,
        fault=None,
        status=200,
        latency_ms=1.0,
        request_body=b"",
        request_size=0,
        response_body=b'{"token":"abc"}',
        response_type=b"application/json",
        response_size=15,
    )


def test_entries_are_kept_newest_first_across_tenants_and_workers(stores: tuple[Store, Store]) -> None:
    one, other = Journal(stores[0], 100), Journal(stores[1], 100)
    for n in range(10):
        record(one if n % 2 else other, n, "a" if n % 3 else "b")
        (one if n % 2 else other).flush()  # interleaved writers, several batches per tenant
    paths = [entry.path for entry in one.list(limit=100)]
    assert paths == [f"/r/{n}" for n in reversed(range(10))]
    assert [entry.path for entry in other.list(tenant="b")] == ["/r/9", "/r/6", "/r/3", "/r/0"]
    newest = one.list(limit=1)[0]
    assert other.get(newest.id) == newest
    assert newest.to_dict()["request_headers"] == {"key": "[redacted]", "x-n": "9"}
    assert '"token":"[redacted]"' in newest.to_dict()["response_body"]


def test_the_journal_holds_its_size_in_whole_batches(stores: tuple[Store, Store]) -> None:
    journal = Journal(stores[0], 100)
    for n in range(1000):
        record(journal, n, "t")  # flushed every BATCH entries on the way
    journal.flush()
    listed = journal.list(limit=1000)
    assert len(journal) == len(listed) == 100
    assert listed[0].path == "/r/999" and listed[-1].path == "/r/900"
    held = sum(len(batch.entries) for _, batch in stores[0].scan(BATCHES))
    assert 100 <= held < 100 + BATCH  # oldest batches go while the rest still hold 100 entries
    assert stores[0].count(BATCHES) < 100 // BATCH + 3


def test_a_tenant_reset_drops_its_entries_and_the_count_follows(stores: tuple[Store, Store]) -> None:
    journal = Journal(stores[0], 10)
    for n in range(8):
        record(journal, n, "gone" if n < 6 else "kept")
    journal.flush()
    journal.clear("gone")
    stores[0].clear("gone")
    journal.recount()
    assert [entry.path for entry in journal.list()] == ["/r/7", "/r/6"]
    for n in range(8, 16):
        record(journal, n, "kept")
    journal.flush()
    assert len(journal) == 10  # the count was right, so nothing kept was trimmed early
