"""No secret the sandbox makes or is sent reaches the journal, deliveries, the dashboard or the
logs, whatever the size or shape of the body that carried it."""

from __future__ import annotations

import asyncio
import functools
import logging

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passbox.app import create_app, load_specs
from passbox.core.clock import Clock
from passbox.settings import Settings
from tests.conftest import BASE_URL, START, Receiver

SPECS = functools.cache(load_specs)
SURFACES = [
    "/_sandbox/requests?limit=1000",
    "/_sandbox/deliveries?limit=1000",
    "/_sandbox/ui/requests",
    "/_sandbox/ui/deliveries",
    "/_sandbox/",
    "/_sandbox/seekpass/partners",
    "/_sandbox/verifypass/accounts",
]


async def exercise(name_size: int, description_size: int, padding: str) -> tuple[set[str], str]:
    """Make secrets of every kind through the API; return them and every surface's text."""
    receiver = Receiver()
    app = create_app(Settings(seed=5, clock=Clock.frozen(START), webhook_transport=receiver.transport), specs=SPECS())
    secrets_made: set[str] = {"passbox-demo-secret", "passbox-demo-key"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        token_answer = await client.post(
            "/api/partner/v1/oauth/token.json",
            data={"grant_type": "client_credentials", "client_id": "passbox-demo-client",
                  "client_secret": "passbox-demo-secret", "scope": padding},
        )  # fmt: skip
        if token_answer.status_code != 200:  # a padding that is not a scope: ask again without it
            token_answer = await client.post(
                "/api/partner/v1/oauth/token.json",
                data={"grant_type": "client_credentials", "client_id": "passbox-demo-client",
                      "client_secret": "passbox-demo-secret"},
            )  # fmt: skip
        access = token_answer.json()["access_token"]
        secrets_made.add(access)
        headers = {"Authorization": f"Bearer {access}"}
        hook = await client.post(
            "/api/partner/v2/webhooks",
            headers=headers,
            json={
                "name": "n" * name_size,
                "description": (padding * description_size)[:1000],
                "url": "https://r.test/h",
            },
        )
        assert hook.status_code == 201, hook.text
        secrets_made.add(hook.json()["secret"])
        rotated = await client.put(f"/api/partner/v2/webhooks/{hook.json()['id']}/secret", headers=headers)
        secrets_made.add(rotated.json()["secret"])
        listed = await client.get("/api/partner/v2/webhooks", headers=headers)
        assert listed.status_code == 200
        await client.put("/_sandbox/verifypass/accounts/passbox-demo-account/webhook", json={"url": "https://r.test/v"})
        applicant = (await client.post("/api/v2/token", headers={"key": "passbox-demo-key"}, json={})).json()["token"]
        secrets_made.add(applicant)
        await client.get("/auth/demo-widget", params={"token": applicant})
        await client.post(
            "/auth/demo-widget",
            params={"token": applicant},
            data={"first_name": "A", "last_name": "B", "email": "a@b.co", "dob": "1990-01-01", "community": "mil"},
        )
        verified = {"request_id": "sandbox:verified", "display_options": {"partner_name": "x"}}
        await client.post("/api/partner/v2/verify/requests/digital_identity.json", headers=headers, json=verified)
        await app.state.sandbox.core.scheduler.drain()
        texts = [(await client.get(path)).text for path in SURFACES]
    return secrets_made, "\n".join(texts)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name_size=st.integers(min_value=0, max_value=255),
    description_size=st.integers(min_value=0, max_value=1000),
    padding=st.sampled_from(["x", "é", "\\", '"', "read.digital_identity"]),
)
def test_no_secret_reaches_any_surface(
    name_size: int, description_size: int, padding: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        made, shown = asyncio.run(exercise(name_size, description_size, padding))
    # passbox's own logs (this test's httpx client logs the URLs it asks for: that is not passbox).
    logs = "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("httpx"))
    for secret in made:
        for where, text in (("a journal, delivery or dashboard page", shown), ("the logs", logs)):
            assert secret not in text, f"a secret reached {where}"
            # Nor does a recognisable piece of one (a body cut off in the middle of a secret).
            assert secret[:24] not in text or len(secret) < 24, f"part of a secret reached {where}"
