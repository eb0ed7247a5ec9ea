"""Webhook management: create, list, get, update (two ways), rotate, delete; isolation; bad input."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import OTHER_CLIENT, get_token

HOOKS = "/api/partner/v2/webhooks"
SECRET = re.compile(r"^[0-9a-f]{64}$")


def not_found(webhook_id: str) -> dict[str, str]:
    """The error body for a webhook this client does not have (never had, deleted, or another's)."""
    return {"error": "not_found", "message": f"No webhook {webhook_id!r} for this client"}


async def make_hook(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post(HOOKS, json={"url": "https://partner.example/hooks/seekpass", **body}, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_returns_the_secret_once(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    headers = await bearer()
    created = await make_hook(client, headers, name="SEEK Pass Webhook", description="SEEK Pass Webhook")
    assert set(created) == {"id", "name", "description", "url", "secret"}
    assert created["name"] == created["description"] == "SEEK Pass Webhook"
    assert SECRET.match(created["secret"])
    listed = (await client.get(HOOKS, headers=headers)).json()
    assert listed == [{key: created[key] for key in ("id", "name", "description", "url")}]
    fetched = await client.get(f"{HOOKS}/{created['id']}", headers=headers)
    assert fetched.status_code == 200
    assert fetched.json() == listed[0]  # everything but the secret


async def test_name_and_description_are_optional(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    created = await make_hook(client, await bearer())
    assert created["name"] is None and created["description"] is None


async def test_secret_on_read_is_configurable(make_client: Callable[..., Any]) -> None:
    async with make_client(webhook_secret_on_read=True) as (client, _):
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        created = await make_hook(client, headers)
        assert (await client.get(f"{HOOKS}/{created['id']}", headers=headers)).json()["secret"] == created["secret"]
        assert (await client.get(HOOKS, headers=headers)).json()[0]["secret"] == created["secret"]


async def test_list_is_oldest_first(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    headers = await bearer()
    ids = [(await make_hook(client, headers, name=f"h{i}"))["id"] for i in range(3)]
    assert [hook["id"] for hook in (await client.get(HOOKS, headers=headers)).json()] == ids


async def test_update_by_path_changes_only_the_given_fields(
    client: httpx.AsyncClient, bearer: Callable[..., Any]
) -> None:
    headers = await bearer()
    created = await make_hook(client, headers, name="old", description="keep me")
    response = await client.put(
        f"{HOOKS}/{created['id']}", json={"name": "new", "url": "http://localhost:9000/h"}, headers=headers
    )
    assert response.status_code == 200
    assert response.json() == {
        "id": created["id"],
        "name": "new",
        "description": "keep me",
        "url": "http://localhost:9000/h",
    }
    assert (await client.get(f"{HOOKS}/{created['id']}", headers=headers)).json() == response.json()


async def test_update_with_the_id_in_the_body(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    headers = await bearer()
    created = await make_hook(client, headers)
    response = await client.put(HOOKS, json={"id": created["id"], "description": "via body"}, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"id": created["id"], "name": None, "description": "via body", "url": created["url"]}
    assert (await client.get(f"{HOOKS}/{created['id']}", headers=headers)).json() == response.json()


async def test_the_path_id_wins_over_a_body_id(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    headers = await bearer()
    first, second = await make_hook(client, headers), await make_hook(client, headers)
    response = await client.put(f"{HOOKS}/{first['id']}", json={"id": second["id"], "name": "x"}, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"id": first["id"], "name": "x", "description": None, "url": first["url"]}
    assert (await client.get(f"{HOOKS}/{first['id']}", headers=headers)).json() == response.json()
    untouched = {key: second[key] for key in ("id", "name", "description", "url")}
    assert (await client.get(f"{HOOKS}/{second['id']}", headers=headers)).json() == untouched


async def test_rotate_gives_a_new_secret(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    headers = await bearer()
    created = await make_hook(client, headers)
    rotated = await client.put(f"{HOOKS}/{created['id']}/secret", headers=headers)
    assert rotated.status_code == 200
    assert SECRET.match(rotated.json()["secret"])
    assert rotated.json()["secret"] != created["secret"]
    assert {k: v for k, v in rotated.json().items() if k != "secret"} == {
        k: v for k, v in created.items() if k != "secret"
    }


async def test_delete_then_404(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    headers = await bearer()
    created = await make_hook(client, headers)
    deleted = await client.delete(f"{HOOKS}/{created['id']}", headers=headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    for method, path in [
        ("GET", f"{HOOKS}/{created['id']}"),
        ("DELETE", f"{HOOKS}/{created['id']}"),
        ("PUT", f"{HOOKS}/{created['id']}/secret"),
    ]:
        response = await client.request(method, path, headers=headers)
        assert response.status_code == 404
        assert response.json() == not_found(created["id"])
    assert (await client.get(HOOKS, headers=headers)).json() == []


async def test_partners_never_see_each_others_webhooks(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    mine, theirs = await bearer(), await bearer(OTHER_CLIENT)
    created = await make_hook(client, mine)
    assert (await client.get(HOOKS, headers=theirs)).json() == []
    for method, path, body in [
        ("GET", f"{HOOKS}/{created['id']}", None),
        ("PUT", f"{HOOKS}/{created['id']}", {"name": "hijack"}),
        ("PUT", HOOKS, {"id": created["id"], "name": "hijack"}),
        ("PUT", f"{HOOKS}/{created['id']}/secret", None),
        ("DELETE", f"{HOOKS}/{created['id']}", None),
    ]:
        response = await client.request(method, path, json=body, headers=theirs)
        assert response.status_code == 404, (method, path)
        assert response.json() == not_found(created["id"])
    assert (await client.get(f"{HOOKS}/{created['id']}", headers=mine)).json() == {
        key: created[key] for key in ("id", "name", "description", "url")
    }


@pytest.mark.parametrize(
    ("method", "path_suffix", "body", "field", "message"),
    [
        pytest.param("POST", "", {}, "url", "is required", id="create-no-url"),
        pytest.param("POST", "", {"url": "ftp://x.example"}, "url", "has an invalid format", id="create-ftp"),
        pytest.param("POST", "", {"url": "x.example/h"}, "url", "has an invalid format", id="create-relative"),
        pytest.param(
            "POST",
            "",
            {"url": "https://x.example", "name": "n" * 256},
            "name",
            "is too long (at most 255 characters)",
            id="long-name",
        ),
        pytest.param("POST", "", {"url": "https://x.example", "name": 3}, "name", "must be a string", id="name-int"),
        pytest.param("PUT", "/{id}", {"url": "mailto:a@b.c"}, "url", "has an invalid format", id="update-bad-url"),
        pytest.param("PUT", "/{id}", {"url": None}, "url", "must be a string", id="update-null-url"),
        pytest.param("PUT", "", {"name": "x"}, "id", "is required", id="body-update-no-id"),
        pytest.param("PUT", "", {"id": "not-a-uuid"}, "id", "has an invalid format", id="body-update-bad-id"),
    ],
)
async def test_invalid_webhook_bodies_are_422_and_change_nothing(
    client: httpx.AsyncClient,
    bearer: Callable[..., Any],
    method: str,
    path_suffix: str,
    body: dict[str, Any],
    field: str,
    message: str,
) -> None:
    headers = await bearer()
    existing = await make_hook(client, headers, name="keep")
    before = (await client.get(HOOKS, headers=headers)).json()
    response = await client.request(method, HOOKS + path_suffix.format(id=existing["id"]), json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json() == {
        "error": "validation_error",
        "message": f"{field}: {message}",
        "details": [{"field": field, "message": message}],
    }
    assert (await client.get(HOOKS, headers=headers)).json() == before


async def test_unknown_webhook_by_body_id_is_404(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    headers = await bearer()
    response = await client.put(HOOKS, json={"id": "00000000-0000-4000-8000-000000000000"}, headers=headers)
    assert response.status_code == 404
    assert response.json() == not_found("00000000-0000-4000-8000-000000000000")
    assert (await client.get(HOOKS, headers=headers)).json() == []


async def test_there_is_a_limit_per_client(make_client: Callable[..., Any]) -> None:
    async with make_client(max_webhooks=2) as (client, _):
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        other = {"Authorization": f"Bearer {await get_token(client, OTHER_CLIENT)}"}
        await make_hook(client, headers)
        await make_hook(client, headers)
        response = await client.post(HOOKS, json={"url": "https://x.example"}, headers=headers)
        assert response.status_code == 409
        assert response.json() == {
            "error": "limit_reached",
            "message": "A client can register at most 2 webhooks; delete one first",
        }
        assert len((await client.get(HOOKS, headers=headers)).json()) == 2
        await make_hook(client, other)  # the cap is per client (make_hook asserts the 201)


async def test_json_suffix_works_on_webhook_paths(client: httpx.AsyncClient, bearer: Callable[..., Any]) -> None:
    headers = await bearer()
    created = await make_hook(client, headers)
    one = await client.get(f"{HOOKS}/{created['id']}.json", headers=headers)
    assert one.status_code == 200
    assert one.json() == (await client.get(f"{HOOKS}/{created['id']}", headers=headers)).json()
    assert one.json()["id"] == created["id"]
    listed = await client.get(f"{HOOKS}.json", headers=headers)
    assert listed.status_code == 200
    assert listed.json() == [one.json()]


async def test_the_webhook_limit_answer_is_in_the_spec(make_client: Callable[..., Any]) -> None:
    """Every status the app can return is documented: the 409 limit_reached validates."""
    from tests.contract.spec_check import ContractChecker

    async with make_client(max_webhooks=1) as (client, _):
        headers = {"Authorization": f"Bearer {await get_token(client)}"}
        await make_hook(client, headers)
        response = await client.post(HOOKS, json={"url": "https://x.example"}, headers=headers)
    assert response.status_code == 409
    assert response.json() == {
        "error": "limit_reached",
        "message": "A client can register at most 1 webhooks; delete one first",
    }
    checker = ContractChecker()
    checker.check(response.request, response)  # raises SpecViolation if the 409 were undocumented
    assert [(exchange.status, exchange.operation_id) for exchange in checker.exchanges] == [(409, "createWebhook")]
