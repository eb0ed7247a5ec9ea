"""Personas: named, deterministic people from ``fixtures/personas.yaml``, shared by the vendors."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import msgspec

from passbox.core.fixtures import FixtureError, load_fixture

FILENAME = "personas.yaml"

_DOCUMENT = {
    "type": "object",
    "required": ["number", "expiry_date"],
    "additionalProperties": False,
    "properties": {
        "number": {"type": "string", "pattern": "^[A-Z0-9]{5,12}$"},
        "state": {"enum": ["NSW", "VIC", "QLD", "WA", "SA", "TAS", "ACT", "NT"]},
        "expiry_date": {"type": "string", "format": "date"},
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "passbox personas",
    "type": "object",
    "required": ["personas"],
    "additionalProperties": False,
    "properties": {
        "personas": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "first_name", "last_name", "date_of_birth", "email", "passport", "drivers_licence"],
                "additionalProperties": False,
                "properties": {
                    "key": {"type": "string", "pattern": "^[a-z][a-z0-9-]{1,39}$"},
                    "first_name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "last_name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "date_of_birth": {"type": "string", "format": "date"},
                    "email": {"type": "string", "pattern": "^[^@\\s+]+@[^@\\s]+\\.[a-z]+$"},
                    "passport": _DOCUMENT,
                    "drivers_licence": {**_DOCUMENT, "required": ["number", "state", "expiry_date"]},
                    "community": {"type": "string", "pattern": "^[a-z0-9]{2,8}$"},
                },
            },
        }
    },
}


class Document(msgspec.Struct, frozen=True):
    number: str
    expiry_date: date
    state: str | None = None


class Persona(msgspec.Struct, frozen=True):
    key: str
    first_name: str
    last_name: str
    date_of_birth: date
    email: str
    passport: Document
    drivers_licence: Document
    community: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "email": self.email,
            "passport": {"number": self.passport.number, "expiry_date": self.passport.expiry_date.isoformat()},
            "drivers_licence": {
                "number": self.drivers_licence.number,
                "state": self.drivers_licence.state,
                "expiry_date": self.drivers_licence.expiry_date.isoformat(),
            },
            "community": self.community,
        }


def _document(data: dict[str, Any]) -> Document:
    return Document(data["number"], date.fromisoformat(data["expiry_date"]), data.get("state"))


def load_personas(directory: Path) -> dict[str, Persona]:
    data = load_fixture(directory, FILENAME, SCHEMA)
    personas: dict[str, Persona] = {}
    for item in data["personas"]:
        if item["key"] in personas:
            raise FixtureError(f"{directory / FILENAME}: persona {item['key']!r} appears twice")
        personas[item["key"]] = Persona(
            key=item["key"],
            first_name=item["first_name"],
            last_name=item["last_name"],
            date_of_birth=date.fromisoformat(item["date_of_birth"]),
            email=item["email"],
            passport=_document(item["passport"]),
            drivers_licence=_document(item["drivers_licence"]),
            community=item.get("community"),
        )
    return personas
