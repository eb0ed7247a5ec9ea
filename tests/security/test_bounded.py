"""Lists come a page at a time; a refused clock change changes nothing."""

from __future__ import annotations

import re

import httpx

from tests.conftest import get_token
from tests.seekpass.helpers import create


async def test_every_list_has_a_bounded_default_page(client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {await get_token(client)}"}
    for n in range(130):
        await create(client, headers, request_id=f"req-{n:03d}")
    first = (await client.get("/_sandbox/seekpass/requests")).json()
    assert len(first) == 100 and first[0]["request_id"] == "req-000"
    rest = (await client.get("/_sandbox/seekpass/requests", params={"offset": 100})).json()
    assert [r["request_id"] for r in rest] == [f"req-{n:03d}" for n in range(100, 130)]
    mine = await client.get("/_sandbox/seekpass/requests", params={"client_id": "passbox-demo-client", "limit": 5})
    assert len(mine.json()) == 5
    journal = (await client.get("/_sandbox/requests", params={"limit": 10, "offset": 5})).json()["entries"]
    assert len(journal) == 10
    page = await client.get("/_sandbox/ui/seekpass")
    assert page.text.count('class="complete"') == 50  # newest first, 50 a page
    assert "req-129" in page.text and "req-079" not in page.text
    assert re.search(r'href="\?page=2" rel="next"', page.text)
    second = await client.get("/_sandbox/ui/seekpass", params={"page": 2})
    assert "req-079" in second.text and "req-129" not in second.text
    huge = await client.get("/_sandbox/seekpass/requests", params={"limit": "9" * 5000})
    assert huge.status_code == 422


async def test_a_refused_clock_advance_changes_nothing(client: httpx.AsyncClient) -> None:
    # 999999 days is about 2,738 years: the third jump would pass the year 9000 limit.
    for _ in range(2):
        assert (await client.post("/_sandbox/clock", json={"action": "advance", "by": "999999d"})).status_code == 200
    before = (await client.get("/_sandbox/clock")).json()
    for _ in range(3):
        refused = await client.post("/_sandbox/clock", json={"action": "advance", "by": "999999d"})
        assert refused.status_code == 409
        assert refused.json()["error"] == "out_of_range"
    assert (await client.get("/_sandbox/clock")).json() == before
    token = await client.post(
        "/api/partner/v1/oauth/token.json",
        data={"grant_type": "client_credentials", "client_id": "passbox-demo-client",
              "client_secret": "passbox-demo-secret"},
    )  # fmt: skip
    assert token.status_code == 200  # the far future still works
    assert (await client.post("/_sandbox/clock", json={"action": "release"})).status_code == 200
