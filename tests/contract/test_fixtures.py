"""Every fixture file is checked against the schema it feeds, and no fixture file goes unchecked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from passbox.core import personas
from passbox.core.fixtures import validate_fixture
from passbox.core.resources import default_fixtures_dir, load_yaml
from passbox.seekpass import fixtures as seekpass_fixtures
from passbox.verifypass import fixtures as verifypass_fixtures

# The fixture files the sandbox reads, and the schema each one feeds.
SCHEMAS: dict[str, dict[str, Any]] = {
    seekpass_fixtures.FILENAME: seekpass_fixtures.SCHEMA,
    verifypass_fixtures.FILENAME: verifypass_fixtures.SCHEMA,
    personas.FILENAME: personas.SCHEMA,
}
FILES = sorted(default_fixtures_dir().glob("*.yaml"))


def test_every_fixture_file_has_a_schema() -> None:
    assert {path.name for path in FILES} == set(SCHEMAS)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_the_schemas_are_valid_json_schema(name: str) -> None:
    Draft202012Validator.check_schema(SCHEMAS[name])


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_each_fixture_file_matches_its_schema(path: Path) -> None:
    validate_fixture(load_yaml(path.read_text()), SCHEMAS[path.name], str(path))


def test_the_fixtures_load_with_their_cross_references() -> None:
    partners = seekpass_fixtures.load_partners(default_fixtures_dir())
    assert partners["passbox-demo-client"].scopes == ("write.digital_identity", "read.digital_identity")
    assert partners["passbox-readonly-client"].scopes == ("read.digital_identity",)
    directory = verifypass_fixtures.load_directory(default_fixtures_dir())
    assert set(directory.widgets) >= {"demo-widget", "demo-token-only", "demo-private", "demo-unique-codes"}
    assert directory.widgets["demo-token-only"].require_token
    assert directory.widgets["demo-private"].mode == "private"
    assert directory.widgets["demo-unique-codes"].action.type == "unique_codes"
    assert [c.key for c in directory.widgets["demo-widget"].communities] == ["mil", "fir"]
    assert directory.accounts["passbox-demo-account"].api_key == "passbox-demo-key"
    people = personas.load_personas(default_fixtures_dir())
    assert set(people) == {"jane-citizen", "sam-responder", "lee-nurse", "alex-teacher"}
    # Every persona's community is one the VerifyPass fixtures define.
    assert {person.community for person in people.values()} <= set(directory.communities)
