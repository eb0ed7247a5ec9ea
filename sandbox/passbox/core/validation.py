"""Request validators compiled once from a spec's own schemas.

The sandbox rejects exactly what the spec forbids: each request body is checked against the
component schema the spec names for it, by a validator compiled the first time it is needed. Errors come back
as field errors with a dotted path (``display_options.partner_name``) and a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonschema_rs

from passbox.core.errors import FieldError, ValidationFailed

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def field_path(parts: list[str | int]) -> str:
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


class SchemaValidators:
    """Validators for the component schemas of one OpenAPI document."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self._components = spec.get("components", {})
        self._names = list(self._components.get("schemas", {}))
        # Compiled when first used: an app uses a few of its schemas, and compiling all of
        # them was a tenth of its start-up.
        self._validators: dict[str, Any] = {}

    def _validator(self, name: str) -> Any:
        validator = self._validators.get(name)
        if validator is None:
            if name not in self._names:
                raise KeyError(name)
            # Each validator sees the whole components tree, so $refs resolve as in the spec.
            schema = {"$schema": DIALECT, "$ref": f"#/components/schemas/{name}", "components": self._components}
            validator = self._validators[name] = jsonschema_rs.validator_for(schema, validate_formats=True)
        return validator

    def require(self, name: str, instance: Any) -> None:
        """Raise ValidationFailed (422, with every field's problem) unless ``instance`` is valid."""
        problems = self.errors(name, instance)
        if problems:
            raise ValidationFailed(summary(problems), details=problems)

    def names(self) -> list[str]:
        return list(self._names)

    def errors(self, name: str, instance: Any) -> list[FieldError]:
        """Every problem with ``instance`` against schema ``name`` (empty when valid)."""
        validator = self._validator(name)
        if validator.is_valid(instance):
            return []
        found: list[FieldError] = []
        for error in validator.iter_errors(instance):
            error = _innermost(error)
            path = list(error.instance_path)
            missing = getattr(error.kind, "property", None)
            if type(error.kind).__name__ == "Required" and isinstance(missing, str):
                path.append(missing)
                message = "is required"
            else:
                message = _describe(error)
            kind, limit = _rule(error)
            found.append(FieldError(field_path(path) or "body", message, kind, limit))
        # One line per field, first problem wins: the clearest message for a client.
        unique: dict[str, FieldError] = {}
        for item in found:
            unique.setdefault(item.field, item)
        return sorted(unique.values(), key=lambda item: item.field)


def summary(problems: list[FieldError]) -> str:
    """``field: message; field: message``: every problem on one line."""
    return "; ".join(f"{problem.field}: {problem.message}" for problem in problems)


def _innermost(error: Any) -> Any:
    """For a failed ``oneOf``/``anyOf`` (as used for nullable fields), the error of the one
    branch the value's type fits, so the message says what is wrong rather than "no branch"."""
    while type(error.kind).__name__ in ("OneOfNotValid", "AnyOf"):
        branches = [branch for branch in error.kind.context if branch]
        fitting = [branch for branch in branches if not all(type(e.kind).__name__ == "Type" for e in branch)]
        if len(fitting) != 1:
            return error
        error = fitting[0][0]
    return error


def _types(kind: Any) -> list[str]:
    """The JSON types a ``Type`` error names."""
    return [str(t) for t in getattr(kind, "types", None) or [getattr(kind, "value", "")]]


def _branch_types(kind: Any) -> list[str]:
    """The JSON types the branches of a failed ``oneOf``/``anyOf`` would have accepted."""
    return [t for branch in kind.context for e in branch if type(e.kind).__name__ == "Type" for t in _types(e.kind)]


def _rule(error: Any) -> tuple[str, str]:
    """The failed keyword in JSON Schema spelling, and its parameter."""
    kind = error.kind
    name = type(kind).__name__
    keyword = {"OneOfNotValid": "oneOf", "AnyOf": "anyOf"}.get(name, name[:1].lower() + name[1:])
    if name == "Type":
        types = _types(kind)
        return keyword, ",".join(t for t in types if t != "null") or ",".join(types)
    if name in ("OneOfNotValid", "AnyOf"):
        # Every branch refused the value's type (a nullable field given a number, say).
        named = [t for t in dict.fromkeys(_branch_types(kind)) if t and t != "null"]
        if named:
            return "type", ",".join(named)
    for attribute in ("limit", "format"):
        value = getattr(kind, attribute, None)
        if value is not None:
            return keyword, str(value)
    return keyword, ""


def _describe(error: Any) -> str:
    """A short message that does not echo the (possibly long or secret) value back."""
    kind = error.kind
    name = type(kind).__name__
    if name == "Type":
        types = _types(kind)
        readable = [t for t in types if t != "null"] or types
        return "must be " + " or ".join(_ARTICLES.get(t, t) for t in readable)
    if name == "Pattern":
        return "has an invalid format"
    if name == "Format":
        return f"must be a valid {kind.format}"
    if name == "Enum":
        options = getattr(kind, "options", None) or []
        return "must be one of: " + ", ".join(str(option) for option in options)
    if name == "MaxLength":
        return f"is too long (at most {kind.limit} characters)"
    if name == "MinLength":
        return f"is too short (at least {kind.limit} characters)"
    if name == "MaxItems":
        return f"has too many items (at most {kind.limit})"
    if name == "MinItems":
        return f"has too few items (at least {kind.limit})"
    if name in ("OneOfNotValid", "AnyOf"):
        types = _branch_types(kind)
        readable = [_ARTICLES.get(t, t) for t in dict.fromkeys(types) if t != "null"]
        if readable:
            return "must be " + " or ".join(readable) + (" or null" if "null" in types else "")
        return "does not match any allowed form"
    if name == "AdditionalProperties":
        return "has unknown properties: " + ", ".join(getattr(kind, "unexpected", None) or [])
    return str(error.message)


_ARTICLES = {
    "string": "a string",
    "object": "an object",
    "array": "an array",
    "boolean": "a boolean",
    "integer": "an integer",
    "number": "a number",
}
