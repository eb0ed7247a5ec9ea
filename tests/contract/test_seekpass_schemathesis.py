"""schemathesis against specs/seekpass.openapi.yaml, in-process: every check, stateful included.

The app under test is built once for the module with a frozen clock and a fixed seed, and
the examples come from a fixed hypothesis seed (see schemathesis.toml), so a failure replays.
schemathesis.toml makes schemathesis fetch a real access token from the token endpoint;
it then also checks that each protected operation refuses requests without it (ignored_auth).
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from passbox.app import create_app
from passbox.core.clock import Clock
from passbox.settings import Settings
from tests.conftest import START

# schemathesis registers many webhooks; a high per-client cap keeps creation reachable.
APP = create_app(Settings(seed=20261122, clock=Clock.frozen(START), max_webhooks=100_000))

schema = schemathesis.openapi.from_asgi("/specs/seekpass.openapi.json", APP)


@schema.parametrize()
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_seekpass_operations(case: schemathesis.Case) -> None:
    case.call_and_validate()


class SeekPassStateful(schema.as_state_machine()):  # type: ignore[misc]
    def setup(self) -> None:
        """Every scenario starts from the fixtures. Hypothesis replays a scenario's choices and
        requires the same draws from them; with the state of every earlier scenario left in the
        app, the same steps could get other answers (and so other links to follow), which it
        reports as FlakyStrategyDefinition (about every second run did)."""
        APP.state.sandbox.context.reset()


class TestSeekPassStateful(SeekPassStateful.TestCase):  # type: ignore[name-defined,misc]
    settings = hypothesis_settings(
        max_examples=40, stateful_step_count=8, deadline=None, suppress_health_check=list(HealthCheck)
    )
