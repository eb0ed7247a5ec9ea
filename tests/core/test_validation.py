import pytest

from passbox.app import load_specs
from passbox.core.errors import FieldError
from passbox.core.validation import SchemaValidators, field_path

SPEC = {
    "components": {
        "schemas": {
            "Thing": {
                "type": "object",
                "required": ["inner"],
                "properties": {
                    "inner": {"$ref": "#/components/schemas/Inner"},
                    "tags": {"type": "array", "maxItems": 2, "items": {"type": "string", "maxLength": 3}},
                    "flag": {"type": ["boolean", "null"]},
                    "kind": {"enum": ["a", "b"]},
                },
            },
            "Inner": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string", "pattern": "\\S"}},
            },
        }
    }
}


def test_valid_is_empty() -> None:
    validators = SchemaValidators(SPEC)
    assert validators.errors("Thing", {"inner": {"name": "x"}}) == []
    assert sorted(validators.names()) == ["Inner", "Thing"]


def test_each_field_is_named_with_a_readable_message() -> None:
    errors = SchemaValidators(SPEC).errors(
        "Thing", {"inner": {"name": " "}, "tags": ["abcd", "x", "y"], "flag": "yes", "kind": "c"}
    )
    assert errors == [
        FieldError("flag", "must be a boolean", "type", "boolean"),
        FieldError("inner.name", "has an invalid format", "pattern", ""),
        FieldError("kind", "must be one of: a, b", "enum", ""),
        FieldError("tags", "has too many items (at most 2)", "maxItems", "2"),
        FieldError("tags[0]", "is too long (at most 3 characters)", "maxLength", "3"),
    ]
    assert errors[0].to_dict() == {"field": "flag", "message": "must be a boolean"}


def test_missing_fields_are_named_by_their_full_path() -> None:
    validators = SchemaValidators(SPEC)
    assert validators.errors("Thing", {}) == [FieldError("inner", "is required", "required")]
    assert validators.errors("Thing", {"inner": {}}) == [FieldError("inner.name", "is required", "required")]
    assert validators.errors("Thing", []) == [FieldError("body", "must be an object", "type", "object")]


def test_a_nullable_field_of_the_wrong_type_reports_the_type() -> None:
    spec = {
        "components": {
            "schemas": {
                "N": {
                    "type": "object",
                    "properties": {"d": {"oneOf": [{"type": "string", "maxLength": 2}, {"type": "null"}]}},
                }
            }
        }
    }
    validators = SchemaValidators(spec)
    assert validators.errors("N", {"d": 5}) == [FieldError("d", "must be a string or null", "type", "string")]
    assert validators.errors("N", {"d": "abc"}) == [
        FieldError("d", "is too long (at most 2 characters)", "maxLength", "2")
    ]
    assert validators.errors("N", {"d": None}) == []


def test_field_path() -> None:
    assert field_path(["a", 0, "b"]) == "a[0].b"
    assert field_path([]) == ""


def test_validators_are_compiled_when_first_used_and_unknown_names_are_refused() -> None:
    validators = SchemaValidators(SPEC)
    assert validators._validators == {}  # nothing compiled at start-up
    assert validators.errors("Inner", {"name": "x"}) == []
    assert list(validators._validators) == ["Inner"]
    with pytest.raises(KeyError):
        validators.errors("Missing", {})


def test_every_schema_of_the_bundled_specs_compiles() -> None:
    for spec in load_specs().values():
        for name in spec.validators.names():
            assert isinstance(spec.validators.errors(name, {"surely": ["not", "valid"]}), list), (spec.name, name)
