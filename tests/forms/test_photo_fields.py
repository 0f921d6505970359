"""Photo fields of step forms (``"format": "photo"``): declared in forms/*.json, checked at deploy,
counted by the same validation in the browser and the API."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.datastructures import MultiDict

from app.engine.definitions import check_form
from app.forms import schema as forms

FORMS = Path(__file__).resolve().parents[2] / "forms"


def photo(tag: str = "before", **extra: object) -> dict[str, object]:
    return {"type": "array", "format": "photo", "x-photo-tag": tag, "items": {"type": "integer"}, "maxItems": 3, **extra}


FORM = {"type": "object", "x-order": ["notes", "before", "after"],
        "properties": {"notes": {"type": "string"}, "after": photo("after"), "before": photo("before", minItems=1)}}


def test_photo_fields_in_order_with_their_minimum() -> None:
    assert list(forms.photo_fields(FORM)) == ["before", "after"]
    assert forms.photo_minimum(FORM["properties"]["before"]) == 1 and forms.photo_minimum(FORM["properties"]["after"]) == 0


def test_counts_are_checked_with_photo_messages() -> None:
    assert forms.validate(FORM, {}) == {"before": ["请至少上传 1 张照片"]}
    assert forms.validate(FORM, {"before": []}, "en") == {"before": ["Upload at least 1 photo(s)."]}
    assert forms.validate(FORM, {"before": [1, 2, 3, 4]}) == {"before": ["最多上传 3 张照片"]}
    assert forms.validate(FORM, {"before": ["1"]}) == {"before": ["照片应为已上传到本案件的附件编号"]}
    assert forms.validate(FORM, {"before": [1], "after": [2, 3]}) == {}
    required = {**FORM, "required": ["before"]}  # required and minItems: said once
    assert forms.validate(required, {}) == {"before": ["请至少上传 1 张照片"]}


def test_html_posts_carry_no_photo_values() -> None:
    """Files come as files (app.web.step_photos), never as typed ids in the form's strings."""
    data, errors = forms.coerce_form(FORM, MultiDict([("notes", "ok"), ("before", "12"), ("after", "13")]))
    assert data == {"notes": "ok"} and errors == {}


@pytest.mark.parametrize(("prop", "message"), [
    ({"type": "string", "format": "photo", "x-photo-tag": "before", "maxItems": 3}, "ids of its photos"),
    (photo(items={"type": "string"}), "ids of its photos"),
    (photo("during"), "x-photo-tag must be one of before, after"),
    (photo(maxItems=0), "maxItems must be a whole number from 1 to 12"),
    (photo(maxItems=13), "maxItems must be a whole number from 1 to 12"),
    ({k: v for k, v in photo().items() if k != "maxItems"}, "maxItems"),
    (photo(minItems=4), "minItems must be a whole number from 0 to maxItems"),
])
def test_deploy_refuses_photo_fields_it_cannot_serve(prop: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message) as refused:
        check_form(json.dumps({"type": "object", "properties": {"pics": prop}}))
    assert "#/properties/pics" in str(refused.value)


def test_deploy_refuses_a_photo_field_inside_another_field() -> None:
    nested = {"type": "object", "properties": {"group": {"type": "object", "properties": {"pics": photo()}}}}
    with pytest.raises(ValueError, match="a photo field must be a field of the form's 'properties'"):
        check_form(json.dumps(nested))


def test_the_step_forms_ask_for_the_photos_of_the_practice(app: Flask) -> None:
    """数字城管: 现场核实 and 核查结案 with photos of the place, 任务处理 with 处置前 and 处置后."""
    wanted = {"verify_on_site.json": {"site_photos": ("before", 1)},
              "handle_case.json": {"before_photos": ("before", 1), "after_photos": ("after", 1)},
              "report_back.json": {"result_photos": ("after", 0)},
              "inspect_case.json": {"inspect_photos": ("after", 1)}}
    for name, fields in wanted.items():
        schema = check_form((FORMS / name).read_text(encoding="utf-8"))
        found = {field: (prop["x-photo-tag"], forms.photo_minimum(prop)) for field, prop in forms.photo_fields(schema).items()}
        assert found == fields, name
        for field in fields:
            assert schema["properties"][field]["title"] and schema["properties"][field]["x-title-en"]
