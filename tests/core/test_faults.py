"""Fault rules seen from several workers: whether any exist is re-counted only after a change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from passbox.core.faults import RULES, VERSION, VERSION_SETTING, Faults
from passbox.core.rand import Rand
from passbox.core.store import GLOBAL, Store, open_store


@pytest.fixture
def workers(shared_store_url: str) -> Iterator[tuple[Faults, Faults]]:
    """Two workers' fault rules on one store, each with its own connection."""
    stores: list[Store] = [open_store(shared_store_url), open_store(shared_store_url)]
    stores[0].clear()
    yield tuple(Faults(store, Rand(1, store, b"k" * 32).stream("faults")) for store in stores)  # type: ignore[misc]
    for store in stores:
        store.close()


def version(faults: Faults) -> int | None:
    return faults.store.get_setting(VERSION, VERSION_SETTING)


def test_a_rule_added_by_one_worker_applies_on_the_other_once_it_reads_the_version(
    workers: tuple[Faults, Faults],
) -> None:
    one, other = workers
    other.seen(version(other))
    assert not other.any()
    one.add(kind="error", status=503)
    assert not other.any()  # no request has read the new version yet: the cached answer stands
    other.seen(version(other))
    assert other.any()
    assert [(d.rule.kind, d.rule.status) for d in other.decide("seekpass", frozenset({"x"}))] == [("error", 503)]


def test_clearing_removing_and_a_used_up_rule_each_change_the_version(workers: tuple[Faults, Faults]) -> None:
    one, other = workers
    first = one.add(kind="error")
    before = version(one)
    assert one.remove(first.id)
    assert version(one) != before
    assert not one.remove(first.id)  # nothing removed: nothing changed
    one.add(kind="rate_limit", remaining=1)
    other.seen(version(other))
    assert other.any()
    assert len(other.decide("verifypass", frozenset())) == 1  # its last use deletes it
    one.seen(version(one))
    assert not one.any()
    one.add(kind="error")
    one.clear()
    other.seen(version(other))
    assert not other.any()


def test_rules_a_reset_cleared_stop_applying_on_every_worker_without_a_version_change(
    workers: tuple[Faults, Faults],
) -> None:
    """A reset clears the rules with every other record and leaves the version as it was; a
    worker whose cached answer says rules exist finds none on its next request, applies none
    and stops looking until the version moves."""
    one, other = workers
    one.add(kind="error", status=503)
    other.seen(version(other))
    assert other.any()
    before = version(one)
    one.store.clear()  # what a reset does to the records
    assert version(one) == before
    for faults in (one, other):
        faults.seen(version(faults))
        assert faults.decide("seekpass", frozenset({"x"})) == []
        assert not faults.any()
        assert faults.store.count(RULES, GLOBAL) == 0
    one.add(kind="latency", latency_ms=1)  # a new rule moves the version: seen again
    other.seen(version(other))
    assert other.any()
