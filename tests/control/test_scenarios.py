"""GET /_sandbox/scenarios lists exactly what the code parses; the magic values parse as listed."""

from __future__ import annotations

import httpx
import pytest

from passbox.core.personas import load_personas
from passbox.core.resources import default_fixtures_dir
from passbox.seekpass import scenarios as seekpass_scenarios
from passbox.verifypass import scenarios as verifypass_scenarios

PERSONAS = load_personas(default_fixtures_dir())
COMMUNITIES = ["mil", "fir", "tea"]


async def test_the_catalogue_comes_from_the_code_tables(client: httpx.AsyncClient) -> None:
    catalogue = (await client.get("/_sandbox/scenarios")).json()
    seekpass = catalogue["seekpass"]
    assert seekpass["field"] == "request_id"
    assert [v["outcome"] for v in seekpass["values"]] == list(seekpass_scenarios.OUTCOMES)
    for value in seekpass["values"]:  # every listed value parses to its outcome
        assert seekpass_scenarios.parse(value["value"], PERSONAS).outcome == value["outcome"]  # type: ignore[union-attr]
    for example in seekpass["examples"]:
        assert seekpass_scenarios.parse(example, PERSONAS) is not None
    verifypass = catalogue["verifypass"]
    for value in verifypass["values"]:
        magic = verifypass_scenarios.parse(value["value"], [c for c in catalogue_communities(verifypass)], PERSONAS)
        assert magic is not None and magic.outcome == value["outcome"]
        assert magic.community == value.get("community", magic.community)
    assert [p["key"] for p in catalogue["personas"]] == list(PERSONAS)


def catalogue_communities(verifypass: dict[str, object]) -> list[str]:
    return [v["community"] for v in verifypass["values"] if "community" in v]  # type: ignore[index,union-attr,attr-defined]


@pytest.mark.parametrize(
    ("request_id", "expected"),
    [
        pytest.param("sandbox:verified", ("verified", "passport", None), id="verified"),
        pytest.param("sandbox:canceled:order-9", ("canceled", "passport", None), id="canceled-with-suffix"),
        pytest.param("sandbox:incomplete", ("incomplete", "passport", None), id="incomplete"),
        pytest.param(
            "sandbox:verified:drivers_licence:jane-citizen:x",
            ("verified", "drivers_licence", "jane-citizen"),
            id="document-and-persona",
        ),
        pytest.param("sandbox:verified:lee-nurse", ("verified", "passport", "lee-nurse"), id="persona-only"),
        pytest.param("sandbox:verified:nobody:jane-citizen", ("verified", "passport", None), id="suffix-stops-parsing"),
        pytest.param("sandbox:approved", None, id="unknown-outcome"),
        pytest.param("order-123", None, id="ordinary"),
        pytest.param("SANDBOX:verified", None, id="case-sensitive"),
    ],
)
def test_seekpass_magic_request_ids(request_id: str, expected: tuple[str, str, str | None] | None) -> None:
    magic = seekpass_scenarios.parse(request_id, PERSONAS)
    assert (None if magic is None else (magic.outcome, magic.document_type, magic.persona)) == expected


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        pytest.param("jane+sandbox-negative@example.com", ("negative", None, None), id="negative"),
        pytest.param("Jane+Sandbox-Positive@Example.com", ("positive", None, None), id="case-insensitive"),
        pytest.param("jane+sandbox-fir@example.com", ("positive", "fir", None), id="community"),
        pytest.param("jane+sandbox-fir+more@example.com", ("positive", "fir", None), id="more-tags"),
        pytest.param("sam.nguyen@personas.passbox.test", ("positive", "fir", "sam-responder"), id="persona"),
        pytest.param("jane+sandbox-xyz@example.com", None, id="unknown-tag"),
        pytest.param("jane+negative@example.com", None, id="no-prefix"),
        pytest.param("", None, id="empty"),
    ],
)
def test_verifypass_magic_emails(email: str, expected: tuple[str, str | None, str | None] | None) -> None:
    magic = verifypass_scenarios.parse(email, COMMUNITIES, PERSONAS)
    assert (None if magic is None else (magic.outcome, magic.community, magic.persona)) == expected
