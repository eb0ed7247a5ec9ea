"""CI must not pass by skipping: a store test without its server fails when .ci/run asks for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import new_postgres_url

ROOT = Path(__file__).resolve().parent.parent


def test_ci_requires_every_real_component() -> None:
    recipe = (ROOT / ".ci" / "run").read_text()
    for name in ("PASSBOX_REQUIRE_POSTGRES", "PASSBOX_REQUIRE_BROWSER", "PASSBOX_REQUIRE_PRISM"):
        assert f"export {name}=1" in recipe


def test_a_missing_postgresql_fails_when_required_and_skips_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PASSBOX_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL is required"):
        new_postgres_url(None)
    monkeypatch.delenv("PASSBOX_REQUIRE_POSTGRES")
    with pytest.raises(pytest.skip.Exception):
        new_postgres_url(None)
