"""--admin-token: the control plane needs it; the vendors do not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.verifypass.helpers import KEY

TOKEN = "s3cret-admin-token"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"Authorization": "Bearer wrong-token-value"}, id="wrong"),
        pytest.param({"Authorization": TOKEN}, id="no-scheme"),
        pytest.param({"Authorization": f"Basic {TOKEN}"}, id="basic"),
    ],
)
async def test_without_the_token_the_control_plane_answers_401(
    make_client: Callable[..., Any], headers: dict[str, str]
) -> None:
    async with make_client(admin_token=TOKEN) as (client, _):
        for method, path in [("GET", "/_sandbox/scenarios"), ("POST", "/_sandbox/reset"), ("GET", "/_sandbox/nope")]:
            response = await client.request(method, path, headers=headers)
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == 'Bearer realm="passbox control plane"'
            assert response.json()["error"] == "unauthorized"


async def test_with_the_token_it_works_and_vendors_never_need_it(make_client: Callable[..., Any]) -> None:
    async with make_client(admin_token=TOKEN) as (client, _):
        ok = await client.get("/_sandbox/scenarios", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert (await client.post("/api/v2/token", json={}, headers=KEY)).status_code == 200
        assert (await client.get("/auth/demo-widget")).status_code == 200


async def test_without_an_admin_token_the_control_plane_is_open(make_client: Callable[..., Any]) -> None:
    async with make_client() as (client, _):
        assert (await client.get("/_sandbox/scenarios")).status_code == 200


def test_a_short_admin_token_is_refused() -> None:
    from passbox.settings import Settings

    with pytest.raises(ValueError, match="at least 8 characters"):
        Settings(admin_token="short")
