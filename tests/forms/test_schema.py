"""Form schemas: prefill, coercion of HTML posts, field-level validation messages."""
from __future__ import annotations

from flask import Flask
from werkzeug.datastructures import MultiDict

from app.forms import schema as forms

FORM = {
    "type": "object",
    "properties": {
        "decision": {"type": "string", "enum": ["file", "reject"], "default": "file"},
        "reason": {"type": "string", "x-widget": "textarea", "maxLength": 10},
        "score": {"type": "integer", "minimum": 1, "maximum": 5},
        "ok": {"type": "boolean"},
        "measures": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "uniqueItems": True},
        "when": {"type": "string", "format": "date-time"},
        "unit": {"type": "string", "x-source": "units:community", "x-default-from": "grid_unit"},
    },
    "required": ["decision"],
    "if": {"properties": {"decision": {"const": "reject"}}},
    "then": {"required": ["reason"]},
}


def test_initial_values_prefer_process_data_then_defaults() -> None:
    assert forms.initial_values(FORM, {"grid_unit": "d1-s1-c2"}) == {"decision": "file", "unit": "d1-s1-c2"}


def test_coerce_html_post() -> None:
    data, errors = forms.coerce_form(FORM, MultiDict([
        ("decision", "reject"), ("reason", " 不属实 "), ("score", "4"), ("ok", "false"),
        ("measures", "a"), ("measures", "b"), ("when", "2026-11-30T09:30"), ("unit", "")]))
    assert errors == {}
    assert data == {"decision": "reject", "reason": " 不属实 ", "score": 4, "ok": False, "measures": ["a", "b"],
                    "when": "2026-11-30T09:30:00+08:00"}
    _data, errors = forms.coerce_form(FORM, MultiDict([("score", "four")]), "en")
    assert errors == {"score": ["Enter a whole number."]}


def test_validation_messages_name_the_fields(app: Flask) -> None:
    with app.app_context():
        schema = forms.resolve(FORM)
        assert "d1-s1-c1" in schema["properties"]["unit"]["enum"]
        errors = forms.validate(schema, {"decision": "reject", "score": 9, "when": "yesterday", "unit": "d1-sz", "x": 1})
        assert set(errors) == {"reason", "score", "when", "unit", "x"}
        assert errors["reason"] == ["必填项"] and errors["score"] == ["不能大于 5"]
        assert forms.validate(schema, {"decision": "maybe"}, "en") == {"decision": ["Choose one of the options."]}
        assert forms.validate(schema, {"decision": "file", "when": "2026-11-30T09:30:00+08:00"}) == {}


def test_complete_data_fills_every_field() -> None:
    assert forms.complete_data(FORM, {"decision": "file"})["reason"] is None
