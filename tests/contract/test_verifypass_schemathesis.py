"""schemathesis against specs/verifypass.openapi.yaml, in-process, every check.

The demo account's API key comes from schemathesis.toml; schemathesis also checks that both
operations refuse requests without it (ignored_auth). Activity is seeded first so reporting
returns real records to validate against the schema.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from passbox.app import create_app
from passbox.core.clock import Clock
from passbox.settings import Settings
from passbox.verifypass.backend import WidgetVisit
from tests.conftest import START

APP = create_app(Settings(seed=20261122, clock=Clock.frozen(START)))


def _seed_activity() -> None:
    backend = APP.state.sandbox.vendors["verifypass"].backend
    for n, (widget, community) in enumerate(
        [("demo-widget", "mil"), ("demo-unique-codes", "nur"), ("demo-private", "tea")]
    ):
        session = backend.session(widget, WidgetVisit(uid=f"seed-{n}"))
        backend.verify(
            session,
            {"first_name": "Seed", "last_name": f"User{n}", "email": f"seed{n}@example.com", "dob": "1980-01-01",
             "community": community},
        )  # fmt: skip


_seed_activity()
schema = schemathesis.openapi.from_asgi("/specs/verifypass.openapi.json", APP)


@schema.parametrize()
@hypothesis_settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
def test_verifypass_operations(case: schemathesis.Case) -> None:
    case.call_and_validate()
