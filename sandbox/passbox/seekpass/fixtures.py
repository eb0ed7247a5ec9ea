"""The SEEK Pass fixture file (``seekpass.yaml``): partners and their credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from passbox.core.fixtures import FixtureError, load_fixture
from passbox.seekpass.models import SCOPES, Partner

FILENAME = "seekpass.yaml"

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "passbox SEEK Pass fixtures",
    "type": "object",
    "required": ["partners"],
    "additionalProperties": False,
    "properties": {
        "partners": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["client_id", "client_secret", "scopes"],
                "additionalProperties": False,
                "properties": {
                    "client_id": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,128}$"},
                    "client_secret": {"type": "string", "minLength": 8, "maxLength": 255},
                    "name": {"type": "string", "minLength": 1, "maxLength": 255},
                    "scopes": {
                        "type": "array",
                        "uniqueItems": True,
                        "items": {"enum": list(SCOPES)},
                    },
                },
            },
        }
    },
}


def load_partners(directory: Path) -> dict[str, Partner]:
    data = load_fixture(directory, FILENAME, SCHEMA)
    partners: dict[str, Partner] = {}
    for item in data["partners"]:
        client_id = item["client_id"]
        if client_id in partners:
            raise FixtureError(f"{directory / FILENAME}: client_id {client_id!r} appears twice")
        partners[client_id] = Partner(
            client_id=client_id,
            client_secret=item["client_secret"],
            name=item.get("name", client_id),
            scopes=tuple(item["scopes"]),
        )
    return partners
