"""Hostile input on every endpoint family: lone surrogates, deep nesting, huge numbers, NUL
bytes, huge headers, wrong content types. Never a 500, never a hang, and a refused request
leaves the state exactly as it was (the journal, which records every request, aside)."""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from passbox.app import create_app, load_specs
from passbox.control.guard import SESSIONS as ADMIN_SESSIONS
from passbox.core.clock import Clock
from passbox.core.faults import RULES
from passbox.core.store import Kind
from passbox.core.webhooks import DELIVERIES, WEBHOOK_FAULTS
from passbox.seekpass import backend as seekpass
from passbox.settings import Settings
from passbox.verifypass import backend as verifypass
from tests.conftest import BASE_URL, START, Receiver

SPECS = functools.cache(load_specs)
STATE_KINDS: tuple[Kind[Any], ...] = (
    seekpass.REQUESTS,
    seekpass.SESSIONS,
    seekpass.WEBHOOKS,
    verifypass.ACTIVITY,
    verifypass.CACHE,
    verifypass.CODES,
    verifypass.SPENT,
    verifypass.WEBHOOK_URLS,
    DELIVERIES,
    WEBHOOK_FAULTS,
    RULES,
    ADMIN_SESSIONS,
)
SEEKPASS = "seekpass"
VERIFYPASS = "verifypass"
NONE = "none"
# (method, path, credentials): one of each endpoint family, with placeholders filled in below.
ENDPOINTS = [
    ("POST", "/api/partner/v1/oauth/token.json", NONE),
    ("POST", "/api/partner/v2/verify/requests/digital_identity.json", SEEKPASS),
    ("GET", "/api/partner/v2/verify/requests/{request_id}.json", SEEKPASS),
    ("POST", "/api/partner/v2/webhooks", SEEKPASS),
    ("PUT", "/api/partner/v2/webhooks", SEEKPASS),
    ("PUT", "/api/partner/v2/webhooks/{webhook_id}", SEEKPASS),
    ("GET", "/partner/verify/digital_identity?clientId=passbox-demo-client&content={text}", NONE),
    ("POST", "/partner/verify/digital_identity", NONE),
    ("POST", "/api/v2/token", VERIFYPASS),
    ("GET", "/api/v2/reporting?page={text}&search={text}", VERIFYPASS),
    ("GET", "/auth/demo-widget?token={text}&uid={text}", NONE),
    ("POST", "/auth/demo-unique-codes?uid={text}", NONE),
    ("POST", "/_sandbox/clock", NONE),
    ("POST", "/_sandbox/faults", NONE),
    ("POST", "/_sandbox/webhook-faults", NONE),
    ("POST", "/_sandbox/verifypass/verifications", NONE),
    ("POST", "/_sandbox/seekpass/requests/passbox-demo-client/{request_id}/complete", NONE),
    ("PUT", "/_sandbox/verifypass/accounts/passbox-demo-account/webhook", NONE),
    ("POST", "/_sandbox/reset", NONE),
    ("GET", "/_sandbox/requests?limit={text}&path={text}", NONE),
    ("GET", "/_sandbox/ui/seekpass?page={text}&notice={text}", NONE),
]


def surrogate_json() -> st.SearchStrategy[bytes]:
    keys = st.sampled_from(["name", "url", "request_id", "email", "action", "kind", "uid", "metadata", "by"])
    return st.builds(
        lambda key, where: (
            json.dumps({key: "x", "display_options": {"partner_name": "A"}}).replace('"x"', '"\\ud800' + where + '"')
        ).encode(),
        keys,
        st.sampled_from(["", "a", "\\udfff"]),
    )


BODIES = st.one_of(
    surrogate_json(),
    st.integers(min_value=30, max_value=3000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.integers(min_value=30, max_value=1000).map(lambda depth: b'{"a":' * depth + b"1" + b"}" * depth),
    st.integers(min_value=400, max_value=20000).map(lambda digits: b'{"page": 1' + b"0" * digits + b"}"),
    st.just(b'{"a": 1e999999, "b": -1e400}'),
    st.binary(max_size=200).map(lambda raw: b"\x00" + raw),
    st.just(b"grant_type=client_credentials&client_id=%00&client_secret=%ED%A0%80&request_id=\x00"),
    st.just(b'{"email": "a\x00@b.co", "lock_email": true}'),
    st.binary(max_size=300),
)
CONTENT_TYPES = st.sampled_from(
    [
        None,
        "application/json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data",
        "application/json; charset=latin-1",
        "application/xml",
        "\x00/\x00",
    ]
)
TEXTS = st.one_of(
    st.just("%ED%A0%80"),  # a surrogate, percent-encoded
    st.just("9" * 5000),
    st.just("%00"),
    st.text(max_size=50),
)
HEADERS = st.sampled_from([{}, {"X-Pad": "p" * 40_000}, {"Accept": "\x7f" * 100}, {"Authorization": "Bearer \t"}])


async def prepare(client: httpx.AsyncClient) -> dict[str, str]:
    token = (
        await client.post(
            "/api/partner/v1/oauth/token.json",
            data={"grant_type": "client_credentials", "client_id": "passbox-demo-client",
                  "client_secret": "passbox-demo-secret"},
        )
    ).json()["access_token"]  # fmt: skip
    auth = {"Authorization": f"Bearer {token}"}
    hook = (await client.post("/api/partner/v2/webhooks", headers=auth, json={"url": "https://r.test/h"})).json()
    await client.post(
        "/api/partner/v2/verify/requests/digital_identity.json",
        headers=auth,
        json={"request_id": "victim", "display_options": {"partner_name": "A"}},
    )
    return {"token": token, "webhook_id": hook["id"]}


def snapshot(app: Starlette) -> tuple[Any, ...]:
    core = app.state.sandbox.core
    records = tuple(tuple(core.store.scan(kind)) for kind in STATE_KINDS)
    return records, tuple(core.store.timers()), core.clock.now(), core.clock.is_frozen


@pytest.fixture(scope="module")
def hostile_app() -> tuple[Starlette, dict[str, str]]:
    app = create_app(Settings(seed=3, clock=Clock.frozen(START), webhook_transport=Receiver().transport), specs=SPECS())

    async def setup() -> dict[str, str]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
            return await prepare(client)

    return app, asyncio.run(setup())


async def send(app: Starlette, method: str, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        return await asyncio.wait_for(client.request(method, url, content=body, headers=headers), timeout=10)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=BODIES,
    content_type=CONTENT_TYPES,
    text=TEXTS,
    extra=HEADERS,
)
def test_hostile_input_never_gives_a_500_and_a_refusal_changes_nothing(
    hostile_app: tuple[Starlette, dict[str, str]],
    endpoint: tuple[str, str, str],
    body: bytes,
    content_type: str | None,
    text: str,
    extra: dict[str, str],
) -> None:
    app, known = hostile_app
    method, template, credentials = endpoint
    url = template.format(request_id="victim", webhook_id=known["webhook_id"], text=quote(text, safe="%"))
    headers = dict(extra)
    if content_type is not None:
        headers["Content-Type"] = content_type
    if credentials == SEEKPASS and "Authorization" not in headers:
        headers["Authorization"] = f"Bearer {known['token']}"
    if credentials == VERIFYPASS:
        headers["key"] = "passbox-demo-key"
    before = snapshot(app)
    response = asyncio.run(send(app, method, url, body if method != "GET" else b"", headers))
    assert response.status_code < 500, f"{method} {url} -> {response.status_code}: {response.text[:300]}"
    if response.status_code >= 400:
        assert snapshot(app) == before, f"{method} {url} was refused ({response.status_code}) but changed the state"
    # Whatever came in, the inspection surfaces still render.
    for surface in ("/_sandbox/requests?limit=5", "/_sandbox/ui/requests", "/_sandbox/seekpass/requests"):
        shown = asyncio.run(send(app, "GET", surface, b"", {}))
        assert shown.status_code == 200, f"{surface} broke after {method} {url}"
