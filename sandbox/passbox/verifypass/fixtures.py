"""The VerifyPass fixture file (``verifypass.yaml``): communities, accounts and their widgets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from passbox.core.fixtures import FixtureError, load_fixture
from passbox.verifypass.models import Account, Action, Community, Widget

FILENAME = "verifypass.yaml"

_URL = {"type": ["string", "null"], "pattern": "^https?://[^\\s]+$", "maxLength": 2048}
_KEY = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "passbox VerifyPass fixtures",
    "type": "object",
    "required": ["communities", "accounts"],
    "additionalProperties": False,
    "properties": {
        "communities": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["key", "name", "group"],
                "additionalProperties": False,
                "properties": {
                    "key": {"type": "string", "pattern": "^[a-z0-9]{2,8}$"},
                    "name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "group": {"type": "string", "minLength": 1, "maxLength": 100},
                },
            },
        },
        "accounts": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "api_key", "widgets"],
                "additionalProperties": False,
                "properties": {
                    "id": _KEY,
                    "name": {"type": "string", "minLength": 1, "maxLength": 255},
                    "api_key": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,128}$"},
                    "support_email": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+$"},
                    "webhook_url": _URL,
                    "widgets": {"type": "array", "items": {"$ref": "#/$defs/widget"}},
                    "applicant_tokens": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "expire_after": {"type": ["integer", "null"], "minimum": 1},
                            "single_use": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
    "$defs": {
        "widget": {
            "type": "object",
            "required": ["key", "communities", "action"],
            "additionalProperties": False,
            "properties": {
                "key": _KEY,
                "name": {"type": "string", "minLength": 1, "maxLength": 255},
                "mode": {"enum": ["normal", "private"]},
                "communities": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": {"type": "string"},
                },
                "display_message": {"type": "string", "maxLength": 1000},
                "action": {
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["type", "code"],
                            "additionalProperties": False,
                            "properties": {
                                "type": {"const": "same_code"},
                                "code": {"type": "string", "minLength": 1, "maxLength": 255},
                            },
                        },
                        {
                            "type": "object",
                            "required": ["type", "codes"],
                            "additionalProperties": False,
                            "properties": {
                                "type": {"const": "unique_codes"},
                                "codes": {
                                    "type": "array",
                                    "uniqueItems": True,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 255},
                                },
                            },
                        },
                        {
                            "type": "object",
                            "required": ["type"],
                            "additionalProperties": False,
                            "properties": {
                                "type": {"const": "custom"},
                                "message": {"type": "string", "maxLength": 1000},
                            },
                        },
                    ]
                },
                "cache_period": {"enum": ["none", "day", "week", "permanent"]},
                "require_token": {"type": "boolean"},
                "active": {"type": "boolean"},
                "webhook_url": _URL,
            },
        }
    },
}


class Directory(msgspec.Struct, frozen=True):
    """Everything the VerifyPass fixtures define, indexed for lookups."""

    communities: dict[str, Community]
    accounts: dict[str, Account]
    widgets: dict[str, Widget]


def load_directory(directory: Path) -> Directory:
    data = load_fixture(directory, FILENAME, SCHEMA)
    source = directory / FILENAME

    communities: dict[str, Community] = {}
    for item in data["communities"]:
        if item["key"] in communities:
            raise FixtureError(f"{source}: community {item['key']!r} appears twice")
        communities[item["key"]] = Community(item["key"], item["name"], item["group"])

    accounts: dict[str, Account] = {}
    widgets: dict[str, Widget] = {}
    keys: set[str] = set()
    for item in data["accounts"]:
        account_id = item["id"]
        if account_id in accounts:
            raise FixtureError(f"{source}: account {account_id!r} appears twice")
        if item["api_key"] in keys:
            raise FixtureError(f"{source}: the API key of account {account_id!r} is used twice")
        keys.add(item["api_key"])
        for spec in item["widgets"]:
            if spec["key"] in widgets:
                raise FixtureError(f"{source}: widget {spec['key']!r} appears twice")
            unknown = [key for key in spec["communities"] if key not in communities]
            if unknown:
                raise FixtureError(f"{source}: widget {spec['key']!r} names unknown communities {unknown}")
            action = spec["action"]
            widgets[spec["key"]] = Widget(
                key=spec["key"],
                account_id=account_id,
                name=spec.get("name", spec["key"]),
                mode=spec.get("mode", "normal"),
                communities=tuple(communities[key] for key in spec["communities"]),
                display_message=spec.get("display_message", ""),
                action=Action(
                    type=action["type"],
                    code=action.get("code"),
                    codes=tuple(action.get("codes", ())),
                    message=action.get("message"),
                ),
                cache_period=spec.get("cache_period", "none"),
                require_token=spec.get("require_token", False),
                active=spec.get("active", True),
                webhook_url=spec.get("webhook_url"),
            )
        accounts[account_id] = Account(
            id=account_id,
            name=item.get("name", account_id),
            api_key=item["api_key"],
            support_email=item.get("support_email", f"support@{account_id}.example"),
            webhook_url=item.get("webhook_url"),
            widgets=tuple(spec["key"] for spec in item["widgets"]),
            token_ttl=(item.get("applicant_tokens") or {}).get("expire_after"),
            single_use_tokens=(item.get("applicant_tokens") or {}).get("single_use"),
        )
    return Directory(communities=communities, accounts=accounts, widgets=widgets)
