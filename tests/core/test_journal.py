"""The journal on a shared store: batches per flush and tenant, bounded, newest first, shared."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import msgspec
import pytest

from passbox.core.journal import BATCH, BATCH_HEADS, BATCHES, TENANT, Batch, Entry, Journal, Recorded
from passbox.core.store import Kind, MemoryStore, Store, open_store


@pytest.fixture
def stores(shared_store_url: str) -> Iterator[tuple[Store, Store]]:
    """Two connections to one store: two workers or replicas."""
    first, second = open_store(shared_store_url), open_store(shared_store_url)
    first.clear()
    yield first, second
    first.close()
    second.close()


def record(journal: Journal, n: int, tenant: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = headers if headers is not None else [(b"key", b"secret"), (b"x-n", str(n).encode())]
    journal.record(
        {"method": "GET", "path": f"/r/{n}", "headers": headers, "state": {TENANT: tenant}},
        sum(len(name) + len(value) for name, value in headers),
        at=datetime(2026, 1, 1, tzinfo=UTC),
        vendor="verifypass",
        operation="getActivity",
        status=200,
        latency_ms=1.0,
        request_body=b"",
        request_size=0,
        response_headers=[(b"content-type", b"application/json")],
        response_body=b'{"token":"abc"}',
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


def test_a_shared_store_never_receives_a_secret_headers_value(stores: tuple[Store, Store]) -> None:
    """A bearer token or API key would otherwise sit in the database file (and its log) that
    every replica reads; the memory store keeps requests as sent and redacts when read."""
    journal = Journal(stores[0], 100)
    headers = [(b"Authorization", b"Bearer eyJ.secret.sig"), (b"x-vfyps-key", b"vp-secret"), (b"x-n", b"1")]
    record(journal, 1, "t", headers)
    journal.flush()
    [(_, stored)] = stores[1].scan(RAW_BATCHES)
    assert b"secret" not in bytes(stored) and b"x-n" in bytes(stored)
    assert headers[0] == (b"Authorization", b"Bearer eyJ.secret.sig")  # the request's own list is untouched
    shown = Journal(stores[1], 100).list()[0].to_dict()["request_headers"]
    assert shown == {"authorization": "[redacted]", "x-vfyps-key": "[redacted]", "x-n": "1"}
    private = Journal(MemoryStore(), 100)
    record(private, 2, "t")
    assert private.list()[0].request_headers == [(b"key", b"secret"), (b"x-n", b"2")]


def test_the_journal_holds_its_size_in_whole_batches(stores: tuple[Store, Store]) -> None:
    journal = Journal(stores[0], 100)
    for n in range(1000):
        record(journal, n, "t")  # flushed every BATCH entries on the way
    journal.flush()
    listed = journal.list(limit=1000)
    assert len(journal) == len(listed) == 100
    assert listed[0].path == "/r/999" and listed[-1].path == "/r/900"
    held = sum(len(batch.records) for _, batch in stores[0].scan(BATCHES))
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


def test_entries_are_numbered_in_the_order_served_across_the_tenants_of_one_flush(
    stores: tuple[Store, Store],
) -> None:
    journal = Journal(stores[0], 100)
    for n in range(6):
        record(journal, n, "a" if n % 2 else "b")
    journal.flush()  # one flush, two batches
    listed = journal.list()
    assert [entry.path for entry in listed] == [f"/r/{n}" for n in reversed(range(6))]
    ids = [entry.id for entry in listed]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    assert [journal.get(entry_id).path for entry_id in ids] == [entry.path for entry in listed]  # type: ignore[union-attr]


def as_stored_before(batch: Batch, shape: str) -> bytes:
    """A batch as an earlier passbox stored it, in JSON: its entries as arrays numbered by
    the batch's ids; before that as objects; and before batches carried their ids, objects
    numbered in the entries themselves."""
    ids = list(batch.ids)
    rows = json.loads(msgspec.json.encode([recorded.entry(0) for recorded in batch.records]))
    if shape == "arrays":
        return json.dumps({"entries": rows, "ids": ids}).encode()
    objects = [dict(zip(Entry.__struct_fields__, row, strict=True)) for row in rows]
    if shape == "objects":
        return json.dumps({"entries": objects, "ids": ids}).encode()
    for entry, number in zip(objects, ids, strict=True):
        entry["id"] = number
    return json.dumps({"entries": objects}).encode()


def put_raw(store: Store, tenant: str, key: str, data: bytes) -> None:
    """Store ``data`` as a batch row, bytes as they are (no encoding by the Batch kind)."""
    store.put(RAW_BATCHES, tenant, key, msgspec.Raw(data))


RAW_BATCHES = Kind(BATCHES.name, msgspec.Raw, packed=True)  # rows as stored, either format


@pytest.mark.parametrize("shape", ["arrays", "objects", "objects-without-ids"])
def test_batches_an_earlier_passbox_wrote_still_read_and_retire(stores: tuple[Store, Store], shape: str) -> None:
    journal = Journal(stores[0], 2)
    record(journal, 0, "t")
    journal.flush()
    [(_, written)] = stores[0].scan(BATCHES)
    key = f"{written.ids[0]:020d}"
    put_raw(stores[0], "t", key, as_stored_before(written, shape))
    [(_, head)] = stores[0].scan(BATCH_HEADS)
    assert (head.size, head.first_id) == (1, written.ids[0])
    assert [(entry.id, entry.path, entry.request_headers) for entry in journal.list()] == [
        (written.ids[0], "/r/0", [(b"key", b"[redacted]"), (b"x-n", b"0")])
    ]
    assert journal.list()[0].to_dict()["request_headers"] == {"key": "[redacted]", "x-n": "0"}
    for n in range(1, 4):
        record(journal, n, "t")
        journal.flush()
    assert [entry.path for entry in journal.list()] == ["/r/3", "/r/2"]  # the old batch was dropped by its id


def test_requests_are_stored_as_recorded_in_messagepack_and_trimming_reads_only_their_ids(
    stores: tuple[Store, Store],
) -> None:
    journal = Journal(stores[0], 1000)
    for n in range(5):
        record(journal, n, "t")
    journal.flush()
    [(_, raw)] = stores[0].scan(RAW_BATCHES)
    stored = msgspec.msgpack.decode(bytes(raw))  # not JSON: a map of ids and records, no entries
    assert set(stored) == {"ids", "records"} and len(stored["ids"]) == 5
    first = stored["records"][0]  # an array: the request as recorded, bytes as bytes (not base64)
    assert len(first) == len(Recorded.__struct_fields__)
    assert first[Recorded.__struct_fields__.index("headers")] == [[b"key", b"[redacted]"], [b"x-n", b"0"]]
    assert first[Recorded.__struct_fields__.index("response_body")] == b'{"token":"abc"}'
    [(_, batch)] = stores[0].scan(BATCHES)
    [(_, head)] = stores[0].scan(BATCH_HEADS)
    assert (head.size, head.first_id, head.ids) == (5, batch.ids[0], batch.ids)
    assert [entry.path for entry in journal.list()] == [f"/r/{n}" for n in reversed(range(5))]


@pytest.mark.parametrize("shared", [True, False], ids=["shared-store", "memory-store"])
def test_a_path_with_a_lone_surrogate_is_kept_readable_and_loses_no_other_entry(
    stores: tuple[Store, Store], shared: bool
) -> None:
    """An ASGI server that decodes paths with surrogateescape hands over text no encoder takes:
    the journal keeps it with a replacement character, and the entries around it are kept."""
    journal = Journal(stores[0] if shared else MemoryStore(), 100)
    record(journal, 1, "t")
    headers = [(b"x-n", b"2")]
    journal.record(
        {"method": "GET", "path": "/r/\udced\udca0", "headers": headers, "state": {TENANT: "t"}},
        6,
        at=datetime(2026, 1, 1, tzinfo=UTC),
        vendor="verifypass",
        operation=None,
        status=404,
        latency_ms=1.0,
        request_body=b"",
        request_size=0,
        response_headers=[],
        response_body=b"",
        response_size=0,
    )
    record(journal, 3, "t")
    journal.flush()
    listed = journal.list()
    assert [entry.path for entry in listed] == ["/r/3", "/r/??", "/r/1"]
    assert json.loads(json.dumps(listed[1].to_dict()))["status"] == 404
