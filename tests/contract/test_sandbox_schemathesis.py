"""schemathesis against specs/sandbox.openapi.yaml (the control plane), in-process, every check."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from passbox.app import create_app
from passbox.core.clock import Clock
from passbox.settings import Settings
from tests.conftest import START

APP = create_app(Settings(seed=20261122, clock=Clock.frozen(START)))
schema = schemathesis.openapi.from_asgi("/specs/sandbox.openapi.json", APP)


@schema.parametrize()
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_control_plane_operations(case: schemathesis.Case) -> None:
    case.call_and_validate()
