"""Fixture files: YAML data loaded at startup and checked against a schema before use.

A vendor names its file and the JSON Schema that file must satisfy; a bad fixture stops the
app from starting with a message naming the file and the field, instead of failing later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from sandbox.core.resources import load_yaml
from sandbox.core.validation import field_path


class FixtureError(Exception):
    """A fixture file is missing, unreadable or does not match its schema."""


def load_fixture(directory: Path, filename: str, schema: dict[str, Any]) -> dict[str, Any]:
    path = directory / filename
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FixtureError(f"fixture file {path} is missing") from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FixtureError(f"fixture file {path} cannot be read: {exc}") from exc
    validate_fixture(data, schema, str(path))
    assert isinstance(data, dict)
    return data


def validate_fixture(data: Any, schema: dict[str, Any], source: str) -> None:
    validator = jsonschema_rs.validator_for(schema)
    problems = [
        f"{field_path(list(error.instance_path)) or '(top level)'}: {error.message}"
        for error in validator.iter_errors(data)
    ]
    if problems:
        raise FixtureError(f"fixture file {source} is invalid:\n  " + "\n  ".join(problems))
