"""create_app: independent apps, served specs, fixtures, routing errors, the background worker."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_spec_validator import validate
from starlette.applications import Starlette

from passbox.app import create_app
from passbox.core.clock import Clock
from passbox.core.fixtures import FixtureError
from passbox.core.resources import default_fixtures_dir, specs_dir
from passbox.settings import Settings
from tests.conftest import BASE_URL, START, get_token
from tests.seekpass.helpers import complete, create

SPECS = sorted(specs_dir().glob("*.openapi.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=[path.name for path in SPECS])
def test_bundled_specs_are_valid_openapi_3_1(path: Path) -> None:
    document = yaml.safe_load(path.read_text())
    assert document["openapi"].startswith("3.1")
    validate(document)


@pytest.mark.parametrize("name", [path.name.removesuffix(".openapi.yaml") for path in SPECS])
async def test_specs_are_served_as_yaml_and_json(client: httpx.AsyncClient, name: str) -> None:
    as_yaml = await client.get(f"/specs/{name}.openapi.yaml")
    as_json = await client.get(f"/specs/{name}.openapi.json")
    assert as_yaml.status_code == as_json.status_code == 200
    assert as_yaml.headers["content-type"].startswith("application/yaml")
    assert as_json.headers["content-type"] == "application/json"
    assert yaml.safe_load(as_yaml.text) == as_json.json()
    assert as_yaml.content == (specs_dir() / f"{name}.openapi.yaml").read_bytes()


async def test_two_apps_share_nothing(clock: Clock) -> None:
    first, second = (create_app(Settings(seed=5, clock=clock)) for _ in range(2))
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url=BASE_URL) as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url=BASE_URL) as b,
    ):
        token_a = {"Authorization": f"Bearer {await get_token(a)}"}
        token_b = {"Authorization": f"Bearer {await get_token(b)}"}
        created = await create(a, token_a, request_id="only-in-a")
        await a.post("/api/partner/v2/webhooks", json={"url": "https://a.example/h"}, headers=token_a)
        assert (
            await a.get(f"/api/partner/v2/verify/requests/{created['request_id']}", headers=token_a)
        ).status_code == 200
        assert (
            await b.get(f"/api/partner/v2/verify/requests/{created['request_id']}", headers=token_b)
        ).status_code == 404
        assert (await b.get("/api/partner/v2/webhooks", headers=token_b)).json() == []
    assert first.state.sandbox.core.store is not second.state.sandbox.core.store


def test_without_a_seed_one_is_chosen_and_reported() -> None:
    app = create_app(Settings())
    assert isinstance(app.state.sandbox.seed, int)


async def test_unknown_paths_are_not_emulated_in_the_vendor_shape(client: httpx.AsyncClient) -> None:
    seekpass = await client.get("/api/partner/v1/add/education.json")
    assert seekpass.status_code == 404
    assert seekpass.json() == {
        "error": "not_found",
        "message": "GET /api/partner/v1/add/education.json is not emulated by passbox",
    }
    elsewhere = await client.get("/nothing/here")
    assert elsewhere.status_code == 404
    assert elsewhere.json() == {"error": "GET /nothing/here is not emulated by passbox"}


async def test_wrong_methods_are_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.patch("/api/partner/v2/webhooks")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST", "PUT"}
    assert response.json()["error"] == "method_not_allowed"
    token = await client.delete("/api/partner/v1/oauth/token.json")
    assert token.status_code == 405
    assert token.headers["allow"] == "POST"


async def test_index_and_health(client: httpx.AsyncClient, sandbox: object) -> None:
    index = (await client.get("/")).json()
    assert index["name"] == "passbox"
    assert index["seed"] == 1234
    assert index["specs"]["seekpass"] == "/specs/seekpass.openapi.yaml"
    assert (await client.get("/health")).json() == {"status": "ok"}


def write_fixtures(tmp_path: Path, text: str) -> Path:
    shutil.copytree(default_fixtures_dir(), tmp_path, dirs_exist_ok=True)
    (tmp_path / "seekpass.yaml").write_text(text)
    return tmp_path


async def test_fixtures_can_be_replaced(tmp_path: Path, clock: Clock) -> None:
    directory = write_fixtures(
        tmp_path,
        "partners:\n  - client_id: ci-partner\n    client_secret: ci-secret-123\n    scopes: [read.digital_identity]\n",
    )
    app = create_app(Settings(seed=1, clock=clock, fixtures_dir=directory))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        response = await client.post(
            "/api/partner/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "ci-partner",
                "client_secret": "ci-secret-123",
            },
        )
        assert response.json()["scope"] == "read.digital_identity"
        demo = await client.post(
            "/api/partner/v1/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "passbox-demo-client",
                "client_secret": "passbox-demo-secret",
            },
        )
        assert demo.status_code == 401


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("partners: []\n", "partners", id="empty"),
        pytest.param("partners:\n  - client_id: x\n    scopes: []\n", "client_secret", id="no-secret"),
        pytest.param(
            "partners:\n  - {client_id: x, client_secret: longenough, scopes: [write.everything]}\n",
            "partners[0].scopes[0]",
            id="unknown-scope",
        ),
        pytest.param(
            "partners:\n  - {client_id: x, client_secret: longenough, scopes: []}\n"
            "  - {client_id: x, client_secret: longenough, scopes: []}\n",
            "appears twice",
            id="duplicate",
        ),
        pytest.param("partners: [", "cannot be read", id="not-yaml"),
    ],
)
def test_bad_fixtures_stop_startup_with_a_clear_message(tmp_path: Path, text: str, message: str) -> None:
    directory = write_fixtures(tmp_path, text)
    with pytest.raises(FixtureError, match=r"seekpass\.yaml") as info:
        create_app(Settings(seed=1, fixtures_dir=directory))
    assert message in str(info.value)


def test_missing_fixture_file(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="is missing"):
        create_app(Settings(seed=1, fixtures_dir=tmp_path))


async def test_the_lifespan_worker_delivers_without_being_asked() -> None:
    """With the app's lifespan running (as under uvicorn), deliveries go out on their own."""
    delivered = asyncio.Event()
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        delivered.set()
        return httpx.Response(204)

    app: Starlette = create_app(
        Settings(seed=1, clock=Clock.frozen(START), webhook_transport=httpx.MockTransport(handler))
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client,
    ):
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        await client.post("/api/partner/v2/webhooks", json={"url": "http://receiver.test/h"}, headers=headers)
        created = await create(client, headers)
        await complete(client, created["redirect_uri"])
        await asyncio.wait_for(delivered.wait(), timeout=5)
    assert json.loads(seen[0])["type"] == "vwsp_request.verified"


async def test_apps_built_from_the_same_loaded_specs_share_no_state(clock: Clock, specs: dict[str, Any]) -> None:
    first, second = (create_app(Settings(seed=5, clock=clock), specs=specs) for _ in range(2))
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url=BASE_URL) as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url=BASE_URL) as b,
    ):
        await a.post("/_sandbox/faults", json={"kind": "error", "status": 503})
        await a.post("/api/partner/v2/webhooks", json={"url": "https://a.example/h"}, headers={
            "Authorization": f"Bearer {await get_token(b)}"})  # fmt: skip
        assert (await b.get("/_sandbox/faults")).json() == []
        assert (await b.get("/_sandbox/requests")).json()["size"] == 1  # only its own token call
    assert first.state.sandbox.specs is second.state.sandbox.specs  # read-only, shared on purpose


@pytest.mark.parametrize("field", ["date_of_birth", "expiry_date"])
def test_a_date_that_is_not_a_date_is_refused_by_file_and_field(tmp_path: Path, field: str) -> None:
    shutil.copytree(default_fixtures_dir(), tmp_path, dirs_exist_ok=True)
    personas = tmp_path / "personas.yaml"
    personas.write_text(re.sub(rf'{field}: "[0-9-]+"', f'{field}: "1990-13-45"', personas.read_text(), count=1))
    with pytest.raises(FixtureError, match=r"personas\.yaml is invalid") as info:
        create_app(Settings(seed=1, fixtures_dir=tmp_path))
    assert f'{field}: "1990-13-45" is not a "date"' in str(info.value)
