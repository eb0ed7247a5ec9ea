"""CI must not pass by skipping a store test: one that did not run proves nothing.

Where ``.ci/run`` asks for PostgreSQL (PASSBOX_REQUIRE_POSTGRES=1), a SQLite or PostgreSQL
test that skips, for whatever reason, is reported as failed. The PostgreSQL fixtures already
fail instead of skipping there; this catches every other way a store test could skip (a
``skipif``, an ``importorskip``, a skip added later).
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterable
from typing import Any

import pytest

STORE_FIXTURES = frozenset({"postgres_server", "store_url", "shared_store_url"})
STORE_WORDS = ("sqlite", "postgres")


STORE_CLASSES = ("SQLiteStore", "PostgresStore")


def is_store_test(nodeid: str, fixturenames: Iterable[str], module_names: Iterable[str] = ()) -> bool:
    """A test of a SQL store: it uses a store fixture, its module or name says SQLite or
    PostgreSQL, or its module uses a SQL store class itself (tests/core/test_store.py's
    checkpointer tests open ``SQLiteStore`` on a temporary file and name neither)."""
    return (
        bool(STORE_FIXTURES.intersection(fixturenames))
        or any(word in nodeid.lower() for word in STORE_WORDS)
        or any(name in STORE_CLASSES for name in module_names)
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail") or os.environ.get("PASSBOX_REQUIRE_POSTGRES") != "1":
        return
    module = getattr(item, "module", None)
    if is_store_test(item.nodeid, getattr(item, "fixturenames", ()), vars(module) if module is not None else ()):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"a store test skipped where CI requires every store (PASSBOX_REQUIRE_POSTGRES=1): {reason}"
