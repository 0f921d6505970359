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


# ---------------------------------------------------------------------------- what may be stored

TEXTS = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 50},
        "note": {"type": "string", "x-widget": "textarea"},
        "tags": {"type": "array", "items": {"type": "string"}},
        "count": {"type": "integer"},
        "share": {"type": "number"},
        "limit": {"type": "string", "format": "time-limit"},
    },
    "required": ["title"],
}


def test_validate_refuses_control_characters_and_breaks_in_one_line_fields() -> None:
    assert forms.validate(TEXTS, {"title": "井盖", "note": "第一行\n第二行\t完"}, "en") == {}
    errors = forms.validate(TEXTS, {"title": "井\x00盖", "note": "\x1b[31m", "tags": ["a", "b\x07"]}, "en")
    assert errors == {"title": ["Must not contain control characters."], "note": ["Must not contain control characters."],
                      "tags": ["Must not contain control characters."]}
    assert forms.validate(TEXTS, {"title": "第一行\n第二行"}, "en") == {"title": ["Must be one line, without tabs."]}
    assert "bad\x00key" in forms.validate(TEXTS, {"title": "a", "bad\x00key": 1})


def test_validate_refuses_required_text_with_nothing_to_see() -> None:
    for blank in ("", "   ", "\u200b\u200b", "\ufeff", "\u3164"):
        assert forms.validate(TEXTS, {"title": blank}, "en") == {
            "title": ["Must not be empty or only invisible characters."]}, repr(blank)
    assert forms.validate(TEXTS, {"title": "a", "note": "\u200b"}, "en") == {
        "note": ["Must not be empty or only invisible characters."]}
    assert forms.validate(TEXTS, {"title": "a", "note": ""}, "en") == {}  # an optional field left empty


def test_validate_keeps_numbers_storable() -> None:
    assert forms.validate(TEXTS, {"title": "a", "count": 2**63 - 1, "share": 0.5}) == {}
    assert forms.validate(TEXTS, {"title": "a", "count": 2**63}, "en") == {"count": ["The number is out of range."]}
    assert forms.validate(TEXTS, {"title": "a", "share": float("nan")}, "en") == {"share": ["Enter a finite number."]}
    _data, errors = forms.coerce_form(TEXTS, MultiDict([("share", "inf"), ("count", "9" * 5000)]), "en")
    assert errors == {"share": ["Enter a number."], "count": ["Enter a whole number."]}


def test_time_limit_format() -> None:
    assert forms.validate(TEXTS, {"title": "a", "limit": "3d"}) == {}
    for wrong in ("366d", "9999999d", "3w"):
        errors = forms.validate(TEXTS, {"title": "a", "limit": wrong}, "en")
        assert errors == {"limit": ["Write the limit as <N>h (working hours) or <N>d (working days), "
                                    "at most 365 working days."]}, wrong
