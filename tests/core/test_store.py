from sandbox.core.store import MemoryStore


def test_tenants_never_see_each_other() -> None:
    store = MemoryStore()
    store.put("things", "a", "1", "a-one")
    store.put("things", "b", "1", "b-one")
    assert store.get("things", "a", "1") == "a-one"
    assert store.get("things", "b", "1") == "b-one"
    assert store.get("things", "c", "1") is None
    assert store.values("things", "a") == ["a-one"]
    assert store.count("things") == 2
    assert store.count("things", "a") == 1


def test_values_keep_insertion_order_and_put_replaces_in_place() -> None:
    store = MemoryStore()
    for key in "xyz":
        store.put("k", "t", key, key.upper())
    store.put("k", "t", "x", "X2")
    assert store.values("k", "t") == ["X2", "Y", "Z"]


def test_delete_find_scan() -> None:
    store = MemoryStore()
    store.put("k", "t1", "a", 1)
    store.put("k", "t2", "b", 2)
    assert store.find("k", "b") == ("t2", 2)
    assert store.find("k", "zz") is None
    assert list(store.scan("k")) == [("t1", 1), ("t2", 2)]
    assert store.delete("k", "t1", "a")
    assert not store.delete("k", "t1", "a")
    assert store.tenants() == ["t1", "t2"]


def test_clear_one_tenant_or_all() -> None:
    store = MemoryStore()
    store.put("k", "t1", "a", 1)
    store.put("j", "t1", "a", 1)
    store.put("k", "t2", "b", 2)
    store.clear("t1")
    assert store.count("k") == 1 and store.count("j") == 0
    assert store.get("k", "t2", "b") == 2
    store.clear()
    assert store.count("k") == 0


def test_rand_reset_restarts_every_stream_in_place() -> None:
    from sandbox.core.rand import Rand

    rand = Rand(3)
    ids = rand.stream("ids")
    first = [ids.uuid4() for _ in range(3)]
    rand.reset()
    assert [ids.uuid4() for _ in range(3)] == first  # the same object, started over
    assert rand.stream("ids") is ids
