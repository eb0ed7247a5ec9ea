"""GET /api/v2/reporting (and /api/v2/activity): filters, pages of 250, errors, isolation."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from passbox.app import Sandbox
from passbox.core.clock import Clock
from passbox.verifypass.backend import WidgetVisit
from tests.verifypass.helpers import DEMO_KEY, OTHER_KEY, backend_of, make_token, submit

REPORT = "/api/v2/reporting"


async def report(client: httpx.AsyncClient, key: str = DEMO_KEY, **params: str) -> dict[str, object]:
    response = await client.get(REPORT, params=params, headers={"key": key})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def bulk_verify(sandbox: Sandbox, clock: Clock, count: int) -> None:
    """Many positive verifications straight through the backend (the widget path is tested elsewhere)."""
    backend = backend_of(sandbox)
    for n in range(count):
        session = backend.session("demo-private", WidgetVisit(uid=f"bulk-{n}"))
        form = {"first_name": "Bulk", "last_name": f"Person{n:03d}", "email": f"bulk{n}@example.com",
                "dob": "1980-01-01", "community": "tea"}  # fmt: skip
        backend.verify(session, form)
        clock.advance(1)


async def test_a_record_has_the_documented_fields(client: httpx.AsyncClient) -> None:
    token = await make_token(client, uid="cust-1")
    await submit(client, query={"token": token})
    body = await report(client)
    assert body == {
        "count": 1,
        "maxPage": 1,
        "data": [
            {
                "first_name": "Jane",
                "last_name": "Doe",
                "email": "jane.doe@example.com",
                "community_key": "mil",
                "widget_key": "demo-widget",
                "data": "HEROES15",
                "created_at": "2026-03-02T09:30:00.000000Z",
                "uid": "cust-1",
            }
        ],
    }


async def test_the_alias_path_answers_the_same(client: httpx.AsyncClient) -> None:
    await submit(client)
    a = await client.get(REPORT, headers={"key": DEMO_KEY})
    b = await client.get("/api/v2/activity", headers={"key": DEMO_KEY})
    assert a.status_code == b.status_code == 200
    assert a.json()["count"] == 1  # a real report, not two identical errors
    assert a.json() == b.json()
    bad = await client.get("/api/v2/activity", headers={"key": "wrong"})
    assert bad.status_code == 401
    assert bad.json() == {"error": "Invalid auth credentials."}


async def test_an_empty_report(client: httpx.AsyncClient) -> None:
    assert await report(client) == {"count": 0, "maxPage": 1, "data": []}


@pytest.mark.parametrize(
    "headers",
    [pytest.param({}, id="missing"), pytest.param({"key": "wrong"}, id="wrong"), pytest.param({"key": ""}, id="empty")],
)
async def test_a_bad_key_is_invalid_auth_credentials(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get(REPORT, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid auth credentials."}


async def test_accounts_never_see_each_others_activity(client: httpx.AsyncClient) -> None:
    await submit(client)
    await submit(client, widget="other-widget")
    mine = await report(client)
    theirs = await report(client, key=OTHER_KEY)
    assert [r["widget_key"] for r in mine["data"]] == ["demo-widget"]  # type: ignore[index]
    assert [r["widget_key"] for r in theirs["data"]] == ["other-widget"]  # type: ignore[index]
    filtered = await report(client, key=OTHER_KEY, widget_key="demo-widget")
    assert filtered == {"count": 0, "maxPage": 1, "data": []}
    searched = await report(client, key=OTHER_KEY, search="jane.doe@example.com")
    assert [r["widget_key"] for r in searched["data"]] == ["other-widget"]  # type: ignore[index]


async def test_filters(client: httpx.AsyncClient, clock: Clock) -> None:
    await submit(client, community="mil", email="alpha@example.com", last_name="Anders")
    await submit(client, community="fir", email="bravo@example.com", last_name="Brown")
    await submit(client, widget="demo-unique-codes", community="nur", email="charlie@example.com", last_name="Cole")
    await submit(client, widget="demo-private", query={"uid": "crm:7781"}, community="tea", email="delta@example.com")

    async def emails(**params: str) -> list[str]:
        body = await report(client, **params)
        return sorted(row["email"] for row in body["data"])  # type: ignore[index,union-attr]

    assert await emails(widget_key="demo-widget") == ["alpha@example.com", "bravo@example.com"]
    assert await emails(community_key="fir") == ["bravo@example.com"]
    assert await emails(widget_key="demo-widget", community_key="nur") == []
    assert await emails(search="CHARLIE@example.com") == ["charlie@example.com"]
    assert await emails(search="brow") == ["bravo@example.com"]
    assert await emails(search="crm:7781") == ["delta@example.com"]
    assert await emails(search="nobody") == []
    assert len(await emails(search="", widget_key="")) == 4  # empty values do not filter


async def test_date_range_is_inclusive_in_utc(client: httpx.AsyncClient, clock: Clock) -> None:
    await submit(client, email="day1@example.com")  # 2026-03-02 09:30
    clock.advance(timedelta(days=1))
    await submit(client, email="day2@example.com")  # 2026-03-03
    clock.advance(timedelta(days=1))
    await submit(client, email="day3@example.com")  # 2026-03-04

    async def emails(**params: str) -> list[str]:
        return [row["email"] for row in (await report(client, **params))["data"]]  # type: ignore[union-attr,index]

    assert await emails(startDate="2026-03-03") == ["day3@example.com", "day2@example.com"]
    assert await emails(endDate="2026-03-03") == ["day2@example.com", "day1@example.com"]
    assert await emails(startDate="2026-03-03", endDate="2026-03-03") == ["day2@example.com"]
    assert await emails(startDate="2026-03-05", endDate="2026-03-01") == []


async def test_pages_of_250_newest_first(client: httpx.AsyncClient, sandbox: Sandbox, clock: Clock) -> None:
    bulk_verify(sandbox, clock, 260)
    first = await report(client)
    assert first["count"] == 260
    assert first["maxPage"] == 2
    rows = first["data"]
    assert isinstance(rows, list) and len(rows) == 250
    assert rows[0]["last_name"] == "Person259"
    assert rows[-1]["last_name"] == "Person010"
    second = await report(client, page="2")
    assert [row["last_name"] for row in second["data"]] == [f"Person{n:03d}" for n in range(9, -1, -1)]  # type: ignore[union-attr,index]
    beyond = await report(client, page="3")
    assert beyond == {"count": 260, "maxPage": 2, "data": []}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        pytest.param({"page": "0"}, "The page field must be at least 1.", id="page-zero"),
        pytest.param({"page": "-1"}, "The page field must be an integer.", id="page-negative"),
        pytest.param({"page": "two"}, "The page field must be an integer.", id="page-word"),
        pytest.param({"page": ""}, "The page field must be an integer.", id="page-empty"),
        pytest.param({"page": "1.5"}, "The page field must be an integer.", id="page-fraction"),
        pytest.param({"page": "1000001"}, "The page field must not be greater than 1000000.", id="page-huge"),
        pytest.param(
            {"startDate": "2024/01/01"}, "The start date field must match the format Y-m-d.", id="start-slashes"
        ),
        pytest.param(
            {"startDate": "2024-02-30"}, "The start date field must match the format Y-m-d.", id="start-impossible"
        ),
        pytest.param({"endDate": ""}, "The end date field must match the format Y-m-d.", id="end-empty"),
        pytest.param({"endDate": "2024-1-1"}, "The end date field must match the format Y-m-d.", id="end-short"),
        pytest.param(
            {"search": "s" * 256}, "The search field must not be greater than 255 characters.", id="search-too-long"
        ),
    ],
)
async def test_invalid_parameters_are_422(client: httpx.AsyncClient, params: dict[str, str], error: str) -> None:
    response = await client.get(REPORT, params=params, headers={"key": DEMO_KEY})
    assert response.status_code == 422
    assert response.json() == {"error": error}


async def test_the_key_is_checked_before_the_parameters(client: httpx.AsyncClient) -> None:
    response = await client.get(REPORT, params={"page": "zero"}, headers={"key": "bad"})
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid auth credentials."}
