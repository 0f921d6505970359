"""Channel extension forms: stored with the case, validated field by field, nothing stored on error."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.cases.models import CHANNELS, Case
from app.core.db import transaction


def count_cases(app: Flask) -> int:
    with app.app_context(), transaction() as s:
        return s.scalar(select(func.count()).select_from(Case)) or 0


def body(**extra: Any) -> dict[str, Any]:
    data = {"channel": "wechat", "title": "路灯不亮", "description": "建设路口路灯连续三晚不亮", "address": "建设路口"}
    data.update(extra)
    return data


def test_every_channel_has_an_extension_form(api: Callable[[str], Any]) -> None:
    r = api("demo_operator").get("/api/v1/channels")
    assert r.status_code == 200
    forms = {item["channel"]: item["form"] for item in r.get_json()["items"]}
    assert set(forms) == set(CHANNELS)
    assert "call_id" in forms["hotline"]["properties"] and "openid" in forms["wechat"]["properties"]
    assert api("demo_operator").client.get("/api/v1/channels").status_code == 401


def test_extension_fields_are_stored_and_returned(api: Callable[[str], Any]) -> None:
    ext = {"openid": "oWx_12345abc", "nickname": "小王", "msg_type": "text"}
    r = api("demo_operator").post("/api/v1/cases", json=body(extension=ext))
    assert r.status_code == 201, r.get_json()
    case = r.get_json()
    assert case["extension"] == ext
    assert api("demo_dispatcher").get(f"/api/v1/cases/{case['id']}").get_json()["extension"] == ext


def test_a_bad_extension_field_is_named_and_nothing_is_stored(app: Flask, api: Callable[[str], Any]) -> None:
    before = count_cases(app)
    r = api("demo_operator").post("/api/v1/cases", json=body(extension={"openid": "no spaces allowed", "colour": "red"}))
    assert r.status_code == 422
    errors = r.get_json()["errors"]
    assert set(errors) == {"extension.openid", "extension.colour"}
    r = api("demo_operator").post("/api/v1/cases", json=body(channel="weibo", extension={"reposts": -1}))
    assert r.status_code == 422 and "extension.reposts" in r.get_json()["errors"]
    r = api("demo_operator").post("/api/v1/cases", json=body(extension=["not", "an", "object"]))
    assert r.status_code == 422 and "extension" in r.get_json()["errors"]
    assert count_cases(app) == before


def test_an_unknown_category_is_refused(app: Flask, api: Callable[[str], Any]) -> None:
    before = count_cases(app)
    r = api("demo_operator").post("/api/v1/cases", json=body(category_code="event:99999"))
    assert r.status_code == 422 and "category_code" in r.get_json()["errors"]
    assert count_cases(app) == before


def test_the_hotline_caller_number_identifies_the_reporter(app: Flask) -> None:
    from app.cases.channels import reporter_identity
    with app.app_context():
        assert reporter_identity("hotline", {"caller_number": "+86 138-0013-8000"}, None) == "phone:13800138000"
        assert reporter_identity("hotline", {}, "13800138000") == "phone:13800138000"
        assert reporter_identity("wechat", {"openid": "oAbc"}, None) == "wechat:oAbc"
        assert reporter_identity("api", {}, None) is None


def test_a_hotline_case_is_filed_under_a_12345_topic(app: Flask, api: Callable[[str], Any], client: Any, login: Any) -> None:
    leaf = next(t for t in api("demo_operator").get("/api/v1/topics?limit=50").get_json()["items"] if t["leaf"])
    ok = api("demo_operator").post("/api/v1/cases", json=body(channel="hotline", extension={"topic_code": leaf["code"]}))
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["extension"]["topic_code"] == leaf["code"]
    before = count_cases(app)
    bad = api("demo_operator").post("/api/v1/cases", json=body(channel="hotline", extension={"topic_code": "no.such.topic"}))
    assert bad.status_code == 422 and "extension.topic_code" in bad.get_json()["errors"]
    assert count_cases(app) == before
    login(client, "demo_operator")
    page = client.get(f"/cases/{ok.get_json()['id']}").get_data(as_text=True)
    path = next(t["path"] for t in api("demo_operator").get("/api/v1/topics?limit=50").get_json()["items"]
                if t["code"] == leaf["code"])
    assert path in page
    form = client.get("/cases/new?channel=hotline").get_data(as_text=True)
    assert "/catalog/topics" in form and 'data-picker-topic' in form


def test_the_topic_picker_answers_in_the_pickers_shape(api: Callable[[str], Any], client: Any, login: Any) -> None:
    login(client, "demo_operator")
    items = client.get("/catalog/topics?q=").get_json()["items"]
    assert items and {"key", "kind", "name", "major_class", "path"} <= set(items[0])
    assert items[0]["kind"] == "topic" and items[0]["key"]
