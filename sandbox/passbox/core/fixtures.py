"""Fixture files: YAML data loaded at startup and checked against a schema before use.

A vendor names its file and the JSON Schema that file must satisfy; a bad fixture stops the
app from starting with a message naming the file and the field, instead of failing later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema_rs

from passbox.core.resources import load_yaml_cached
from passbox.core.validation import field_path


class FixtureError(Exception):
    """A fixture file is missing, unreadable or does not match its schema."""


def read_yaml_file(path: Path, what: str = "fixture file") -> object:
    """The YAML in ``path``; any failure (missing, unreadable, not YAML) is a FixtureError."""
    try:
        return load_yaml_cached(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FixtureError(f"{what} {path} is missing") from exc
    except Exception as exc:
        import yaml  # imported already if it failed to parse; a cached document needs no parser

        if not isinstance(exc, OSError | UnicodeDecodeError | yaml.YAMLError):
            raise
        reason = " ".join(str(exc).split())  # one line: YAML errors span several
        raise FixtureError(f"{what} {path} cannot be read: {reason}") from exc


def load_fixture(directory: Path, filename: str, schema: dict[str, Any]) -> dict[str, Any]:
    path = directory / filename
    data = read_yaml_file(path)
    validate_fixture(data, schema, str(path))
    assert isinstance(data, dict)
    return data


def validate_fixture(data: Any, schema: dict[str, Any], source: str) -> None:
    # Formats are checked too: a "date" that is not a real date is refused here, by file and field.
    validator = jsonschema_rs.validator_for(schema, validate_formats=True)
    problems = [
        f"{field_path(list(error.instance_path)) or '(top level)'}: {error.message}"
        for error in validator.iter_errors(data)
    ]
    if problems:
        raise FixtureError(f"fixture file {source} is invalid:\n  " + "\n  ".join(problems))
