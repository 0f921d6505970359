"""The browser pages through Flask's test client, with CSRF protection on as in production.

Each test makes its own cases (``make_case`` goes through the API) and finds them by work-order
number, so the tests share the session's database without depending on each other.
"""
from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask, render_template_string
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.cases.models import Case
from app.core.audit import AuditEvent
from app.core.db import session, transaction
from app.engine.models import Incident
from app.web.forms import form_fields
from app.web.helpers import format_dt
from tests.conftest import tiny_png
from tests.web.pages import csrf, html, token

ROOT = Path(__file__).resolve().parents[2]
STAGE_NAMES = ["信息采集", "核实立案", "事件分配", "任务处理", "执行反馈", "核查结案", "考核评价"]
FILE = {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"}
TRIAGE = {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": "4h"}


# ---------------------------------------------------------------------------- helpers


def first_task(case: dict[str, Any], bpmn_id: str | None = None) -> dict[str, Any]:
    tasks = [t for t in case["current_tasks"] if bpmn_id is None or t["bpmn_id"] == bpmn_id]
    assert tasks, case["current_tasks"]
    return tasks[0]


def api_case(api: Callable[[str], Any], case_id: int) -> dict[str, Any]:
    r = api("demo_dispatcher").get(f"/api/v1/cases/{case_id}")
    assert r.status_code == 200
    return r.get_json()  # type: ignore[no-any-return]


def walk_to(api: Callable[[str], Any], case: dict[str, Any], stop_at: str) -> dict[str, Any]:
    """Complete tasks through the API until ``stop_at`` is the current task."""
    steps = [("verify_on_site", "demo_grid_worker", {"confirmed": True}), ("file_case", "demo_dispatcher", FILE),
             ("triage", "demo_dispatcher", TRIAGE), ("handle_case", "demo_handler", {"handling_notes": "已处置"}),
             ("report_back", "demo_handler", {"result": "resolved", "result_notes": "已处理"}),
             ("inspect_case", "demo_grid_worker", {"passed": True})]
    for bpmn_id, user, data in steps:
        case = api_case(api, case["id"])
        if first_task(case)["bpmn_id"] == stop_at:
            return case
        r = api(user).claim_and_complete(first_task(case, bpmn_id)["id"], data)
        assert r.status_code == 200, r.get_json()
    case = api_case(api, case["id"])
    assert first_task(case)["bpmn_id"] == stop_at
    return case


def claim(client: FlaskClient, task_id: int, next_url: str = "/inbox?tab=mine") -> Any:
    return client.post(f"/tasks/{task_id}/claim", data={"csrf_token": token(client), "next": next_url})


def audit_count(app: Flask, case_id: int, action: str) -> int:
    with app.app_context():
        return int(session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.case_id == case_id, AuditEvent.action == action)) or 0)


# ---------------------------------------------------------------------------- login and language

def test_login_page_and_login(client: FlaskClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="username"' in html(page) and 'autocomplete="current-password"' in html(page)

    bad = client.post("/login", data={"username": "demo_operator", "password": "wrong", "csrf_token": csrf(html(page))})
    assert bad.status_code == 401 and "用户名或密码错误" in html(bad)

    ok = client.post("/login", data={"username": "demo_operator", "password": "demo", "csrf_token": csrf(html(bad)),
                                     "next": "/cases"})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/cases")
    inbox = client.get("/inbox")
    assert inbox.status_code == 200 and "受理员" in html(inbox) and "退出" in html(inbox)


def test_login_refuses_post_without_csrf_token(client: FlaskClient) -> None:
    r = client.post("/login", data={"username": "demo_operator", "password": "demo"})
    assert r.status_code == 400


def test_login_ignores_offsite_next(client: FlaskClient) -> None:
    page = client.get("/login")
    r = client.post("/login", data={"username": "demo_operator", "password": "demo", "csrf_token": csrf(html(page)),
                                    "next": "//evil.example/"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox")


def test_pages_need_login(client: FlaskClient) -> None:
    assert client.get("/").headers["Location"].endswith("/inbox")
    r = client.get("/inbox?tab=mine")
    assert r.status_code == 302 and "/login?next=" in r.headers["Location"]


def test_logout_clears_the_session(browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    r = client.post("/logout", data={"csrf_token": token(client)})
    assert r.status_code == 302
    assert client.get("/inbox").status_code == 302


def test_english_switch(browser: Callable[[str], FlaskClient], make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    client = browser("demo_dispatcher")
    r = client.post("/lang/en", data={"csrf_token": token(client), "next": f"/cases/{case['id']}"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{case['id']}")
    page = html(client.get(f"/cases/{case['id']}"))
    assert '<html lang="en">' in page
    for text in ("Inbox", "Cases", "Log out", "History", "Work order filed", "Collect", "Evaluate", "Open"):
        assert text in page, text
    assert "Hubin Street Community 1" in page  # unit names in English
    inbox = html(client.get("/inbox?tab=claimable"))
    assert "My tasks" in inbox and "To claim" in inbox and "收件箱" not in inbox
    client.post("/lang/zh", data={"csrf_token": token(client)})
    assert "收件箱" in html(client.get("/inbox"))


def test_unknown_language_is_404(browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    assert client.post("/lang/fr", data={"csrf_token": token(client)}).status_code == 404


# ---------------------------------------------------------------------------- inbox and claiming

def test_inbox_tabs_render(browser: Callable[[str], FlaskClient], make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    client = browser("demo_grid_worker")
    claimable = html(client.get("/inbox?tab=claimable&sort=-created"))
    assert "我的任务" in claimable and "可签收" in claimable
    assert case["number"] in claimable and "现场核实" in claimable and "滨江社区" in claimable
    assert f'/tasks/{first_task(case)["id"]}/claim' in claimable
    for sort in ("due", "-due", "created", "-created", "nonsense"):
        assert client.get(f"/inbox?tab=mine&sort={sort}").status_code == 200
    assert client.get("/inbox?tab=claimable&page=999").status_code == 200


def test_claim_via_the_inbox(browser: Callable[[str], FlaskClient], make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    task_id = first_task(case)["id"]
    client = browser("demo_grid_worker")
    r = claim(client, task_id, "/inbox?tab=claimable")
    assert r.status_code == 302 and r.headers["Location"].endswith("/inbox?tab=claimable")
    after = html(client.get("/inbox?tab=claimable&sort=-created"))
    assert "已签收" in after and f'/tasks/{task_id}/claim' not in after
    mine = html(client.get("/inbox?tab=mine&sort=-created"))
    assert case["number"] in mine and f'/tasks/{task_id}/unclaim' in mine and f'href="/tasks/{task_id}"' in mine

    r = client.post(f"/tasks/{task_id}/unclaim", data={"csrf_token": token(client), "next": "/inbox?tab=mine"})
    assert r.status_code == 302
    assert f'/tasks/{task_id}/claim' in html(client.get("/inbox?tab=claimable&sort=-created"))


def test_claim_conflict_tells_who_has_the_task(browser: Callable[[str], FlaskClient], api: Callable[[str], Any],
                                               make_case: Callable[..., dict[str, Any]]) -> None:
    case = walk_to(api, make_case(), "callback_case")  # call-back: both demo operators may claim it
    task_id = first_task(case)["id"]
    first, second = browser("operator_2"), browser("demo_operator")
    second_token = token(second)  # the loser's page was open before the winner claimed
    assert claim(first, task_id).status_code == 302
    r = second.post(f"/tasks/{task_id}/claim", data={"csrf_token": second_token, "next": "/inbox?tab=claimable"})
    assert r.status_code == 302
    page = html(second.get("/inbox?tab=claimable"))
    assert "任务已被" in page and "签收" in page
    assert api_case(api, case["id"])["current_tasks"][0]["claimed_by"] == "operator_2"


def test_claim_outside_my_units_is_403(browser: Callable[[str], FlaskClient],
                                       make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    client = browser("grid_d2_s1_c1")
    assert claim(client, first_task(case)["id"]).status_code == 403


# ---------------------------------------------------------------------------- the task form

FIELD_TYPES_FORM = {
    "type": "object",
    "x-order": ["text", "notes", "count", "ratio", "choice", "multi", "flag", "when", "day"],
    "required": ["text", "choice"],
    "properties": {
        "text": {"type": "string", "title": "文本", "x-title-en": "Text", "maxLength": 20, "description": "说明文字"},
        "notes": {"type": "string", "x-widget": "textarea", "title": "长文本"},
        "count": {"type": "integer", "title": "整数", "minimum": 1, "maximum": 5},
        "ratio": {"type": "number", "title": "数字"},
        "choice": {"type": "string", "title": "单选", "enum": ["a", "b"], "x-enum-titles": ["甲", "乙"],
                   "x-enum-titles-en": ["Alpha", "Beta"]},
        "multi": {"type": "array", "title": "多选", "uniqueItems": True,
                  "items": {"type": "string", "enum": ["x", "y"]}, "x-enum-titles": ["某甲", "某乙"]},
        "flag": {"type": "boolean", "title": "是否"},
        "when": {"type": "string", "format": "date-time", "title": "时间"},
        "day": {"type": "string", "format": "date", "title": "日期"},
    },
}


def test_field_macros_render_every_field_type(app: Flask) -> None:
    template = ('{% import "forms/fields.html" as forms %}'
                '<form>{{ forms.fields(fields, values, errors) }}</form>')
    with app.test_request_context("/"):
        fields = form_fields(FIELD_TYPES_FORM)
        assert [f.kind for f in fields] == ["text", "textarea", "integer", "number", "select", "checkboxes",
                                            "boolean", "datetime", "date"]
        values = {"text": "你好", "notes": "多行\n文字", "count": "3", "ratio": "0.5", "choice": "b", "multi": ["y"],
                  "flag": "false", "when": "2026-03-02T09:30", "day": "2026-03-02"}
        out = render_template_string(template, fields=fields, values=values, errors={"count": ["不能大于 5"]})
    assert 'type="text" value="你好" maxlength="20"' in out and "说明文字" in out
    assert re.search(r'<textarea id="f-notes" name="notes"[^>]*>多行\n文字</textarea>', out)
    assert 'type="number" inputmode="numeric" value="3" min="1" max="5" step="1"' in out
    assert 'name="ratio" type="number" inputmode="decimal" value="0.5" step="any"' in out
    assert '<option value="b" selected>乙</option>' in out
    assert 'type="checkbox" name="multi" value="y" checked' in out and "某甲" in out
    assert 'type="radio" name="flag" value="false" checked' in out
    assert 'type="datetime-local" value="2026-03-02T09:30"' in out
    assert 'type="date" value="2026-03-02"' in out
    assert 'id="f-count-error"' in out and "不能大于 5" in out and 'aria-invalid="true"' in out
    assert out.count('class="req"') == 2  # the required marks
    assert re.search(r'id="f-count"[^>]*autofocus', out)  # the first field in error gets the focus


def test_task_form_renders_and_completes(browser: Callable[[str], FlaskClient], api: Callable[[str], Any],
                                         make_case: Callable[..., dict[str, Any]]) -> None:
    case = walk_to(api, make_case(), "report_back")
    task_id = first_task(case)["id"]
    client = browser("demo_handler")
    before = html(client.get(f"/tasks/{task_id}"))
    assert "签收并办理" in before and "disabled" in before  # not claimed yet: a read-only form
    assert claim(client, task_id, f"/tasks/{task_id}").headers["Location"].endswith(f"/tasks/{task_id}")
    page = html(client.get(f"/tasks/{task_id}"))
    assert case["number"] in page and "请填写处置结果和采取的措施" in page  # case summary and documentation
    assert f'href="/cases/{case["id"]}"' in page
    assert '<option value="resolved" selected>已解决</option>' in page  # default of the choice
    assert 'type="checkbox" name="measures" value="repair"' in page
    assert 'type="datetime-local"' in page and "<textarea" in page and 'class="req"' in page

    r = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf(page), "result": "resolved", "result_notes": "已修复",
                                               "measures": ["repair", "replace"], "finished_at": "2026-03-02T15:30"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{case['id']}")
    shown = html(client.get(r.headers["Location"]))
    assert "已提交" in shown and "处置措施" in shown and "维修、更换" in shown and "2026-03-02 15:30" in shown
    assert first_task(api_case(api, case["id"]))["bpmn_id"] == "inspect_case"


def test_bad_post_rerenders_with_field_message_and_changes_nothing(
        app: Flask, browser: Callable[[str], FlaskClient], api: Callable[[str], Any],
        make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    task_id = first_task(case)["id"]
    client = browser("demo_grid_worker")
    claim(client, task_id)
    page = html(client.get(f"/tasks/{task_id}"))
    assert 'type="radio" name="confirmed" value="true" checked' in page  # the form's default

    # not confirmed, so the notes are required
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf(page), "confirmed": "false", "verified_at": "2026-03-02T08:15"})
    assert r.status_code == 422
    out = html(r)
    assert 'id="f-verify_notes-error"' in out and "必填项" in out
    assert 'type="radio" name="confirmed" value="false" checked' in out  # the user's input is kept
    assert 'value="2026-03-02T08:15"' in out
    assert audit_count(app, case["id"], "task_completed") == 0
    still = first_task(api_case(api, case["id"]))
    assert still["id"] == task_id and still["bpmn_id"] == "verify_on_site"

    # a value that is not a date at all
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf(page), "confirmed": "true", "verified_at": "yesterday"})
    assert r.status_code == 422 and 'id="f-verified_at-error"' in html(r)
    assert audit_count(app, case["id"], "task_completed") == 0


def test_integer_field_gets_a_field_message(browser: Callable[[str], FlaskClient], api: Callable[[str], Any],
                                            make_case: Callable[..., dict[str, Any]]) -> None:
    case = walk_to(api, make_case(), "callback_case")
    task_id = first_task(case)["id"]
    client = browser("demo_operator")
    claim(client, task_id)
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": token(client), "reached": "true", "satisfied": "true",
                                               "score": "five"})
    assert r.status_code == 422 and 'id="f-score-error"' in html(r) and "请输入整数" in html(r)
    assert 'value="five"' in html(r)


def test_completing_an_unclaimed_task_is_a_conflict(browser: Callable[[str], FlaskClient],
                                                    make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    task_id = first_task(case)["id"]
    client = browser("demo_grid_worker")
    r = client.post(f"/tasks/{task_id}", data={"csrf_token": token(client), "confirmed": "true"})
    assert r.status_code == 409 and "请先签收任务" in html(r)


def test_task_page_of_missing_task_is_404(browser: Callable[[str], FlaskClient]) -> None:
    assert browser("demo_grid_worker").get("/tasks/999999999").status_code == 404


# ---------------------------------------------------------------------------- cases

def test_case_page_renders_stepper_and_timeline(browser: Callable[[str], FlaskClient], api: Callable[[str], Any],
                                                make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    task_id = first_task(case)["id"]
    worker = browser("demo_grid_worker")
    claim(worker, task_id)
    r = worker.post(f"/tasks/{task_id}", data={"csrf_token": token(worker), "confirmed": "true",
                                               "verify_notes": "现场属实", "site_photos": (io.BytesIO(tiny_png()), "现场.png")},
                    content_type="multipart/form-data")
    assert r.status_code == 302

    page = html(browser("demo_dispatcher").get(f"/cases/{case['id']}"))
    assert case["number"] in page and "处理中" in page and "12345热线" in page and "部件 01002" in page
    assert 'class="stepper"' in page and all(name in page for name in STAGE_NAMES)
    assert re.search(r'class="step step-current" aria-current="step">\s*<span class="step-no"[^>]*>2<', page)
    assert page.count("step step-done") == 1
    # the current task, its unit and who may take it
    assert "核实立案" in page and "可办理人" in page and "demo_dispatcher" in page
    # the timeline, oldest first, with the completed form under its field titles
    order = [page.index(s) for s in ("工单登记", "生成任务", "签收任务", "提交任务")]
    assert order == sorted(order)
    assert "情况属实" in page and "现场属实" in page


def test_closed_case_shows_all_steps_done(api: Callable[[str], Any], browser: Callable[[str], FlaskClient],
                                          make_case: Callable[..., dict[str, Any]]) -> None:
    case = walk_to(api, make_case(), "callback_case")
    r = api("demo_operator").claim_and_complete(first_task(case)["id"], {"reached": True, "satisfied": True, "score": 5})
    assert r.status_code == 200
    page = html(browser("demo_operator").get(f"/cases/{case['id']}"))
    assert page.count("step step-done") == 7 and "已结案" in page and "案件已办结" in page


def test_handler_of_another_district_gets_403(browser: Callable[[str], FlaskClient],
                                              make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    client = browser("handler_d2_sz")
    assert client.get(f"/cases/{case['id']}").status_code == 403
    assert client.get(f"/tasks/{first_task(case)['id']}").status_code == 403
    assert case["number"] not in html(client.get("/cases"))


def test_missing_case_is_404(browser: Callable[[str], FlaskClient]) -> None:
    assert browser("demo_dispatcher").get("/cases/999999999").status_code == 404


def test_case_list_filters(browser: Callable[[str], FlaskClient], make_case: Callable[..., dict[str, Any]]) -> None:
    marker = f"列表筛选{datetime.now(timezone.utc).timestamp():.0f}"
    hotline = make_case(title=f"{marker} 热线")
    wechat = make_case(title=f"{marker} 微信", channel="wechat")
    client = browser("demo_dispatcher")
    page = html(client.get(f"/cases?q={marker}"))
    assert hotline["number"] in page and wechat["number"] in page and "共 2 条" in page
    assert page.index(wechat["number"]) < page.index(hotline["number"])  # newest first
    page = html(client.get(f"/cases?q={marker}&channel=wechat&status=open"))
    assert wechat["number"] in page and hotline["number"] not in page
    assert hotline["number"] not in html(client.get(f"/cases?q={marker}&status=closed"))
    assert client.get("/cases?status=bogus&channel=bogus&page=x").status_code == 200


def test_new_case_page_creates_a_case(app: Flask, browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    page = html(client.get("/cases/new"))
    assert re.search(r'id="f-title"[^>]*autofocus', page) and "data-ctrl-enter" in page
    for name in ("title", "description", "address", "grid_unit", "channel", "category_code", "urgency",
                 "reporter_name", "reporter_phone", "lat", "lng"):
        assert f'name="{name}"' in page, name
    assert "滨江社区" in page  # communities to choose from
    idem = re.search(r'name="idem" value="([0-9a-f]{32})"', page)
    assert idem
    form = {"csrf_token": csrf(page), "idem": idem.group(1), "title": "路灯不亮（网页登记）", "description": "连续三晚不亮",
            "address": "滨江路 8 号", "channel": "hotline", "category_code": "component:01002", "urgency": "urgent",
            "grid_unit": "d1-s1-c1", "reporter_name": "李女士", "reporter_phone": "13900001111", "lat": "", "lng": ""}
    r = client.post("/cases/new", data=form)
    assert r.status_code == 302
    shown = html(client.get(r.headers["Location"]))
    assert "路灯不亮（网页登记）" in shown and "工单已登记" in shown and "紧急" in shown and "现场核实" in shown

    again = client.post("/cases/new", data=form)  # a double submit files nothing new
    assert again.status_code == 302 and again.headers["Location"] == r.headers["Location"]


def test_new_case_refuses_bad_input_and_stores_nothing(app: Flask, browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_operator")
    with app.app_context():
        before = session.scalar(select(func.count(Case.id)))
    r = client.post("/cases/new", data={"csrf_token": token(client, "/cases/new"), "title": "x", "description": "",
                                        "address": "某地", "channel": "hotline", "category_code": "event:6",
                                        "urgency": "normal", "grid_unit": "nowhere", "lat": "north"})
    assert r.status_code == 422
    out = html(r)
    for name in ("title", "description", "category_code", "grid_unit", "lat"):
        assert f'id="f-{name}-error"' in out, name
    assert 'value="某地"' in out  # input kept
    with app.app_context():
        assert session.scalar(select(func.count(Case.id))) == before


def test_new_case_is_for_operators(browser: Callable[[str], FlaskClient]) -> None:
    client = browser("demo_grid_worker")
    assert client.get("/cases/new").status_code == 403
    assert "新建工单" not in html(client.get("/inbox"))


# ---------------------------------------------------------------------------- incidents

def _open_incident(app: Flask, case_id: int) -> int:
    """An incident whose failed action is a timer sweep, so a retry succeeds."""
    with app.app_context(), transaction():
        case = session.get(Case, case_id)
        assert case is not None
        case.has_incident = True
        incident = Incident(case_id=case_id, action=json.dumps({"type": "timers"}), element="resolve_unit",
                            error="NameError: name 'proposed_departmnt' is not defined")
        session.add(incident)
        session.flush()
        return incident.id


def test_incidents_page_retry_and_dismiss(app: Flask, browser: Callable[[str], FlaskClient],
                                          make_case: Callable[..., dict[str, Any]]) -> None:
    case_a, case_b = make_case(), make_case()
    retry_id, dismiss_id = _open_incident(app, case_a["id"]), _open_incident(app, case_b["id"])
    assert browser("demo_dispatcher").get("/admin/incidents").status_code == 403

    admin = browser("demo_admin")
    page = html(admin.get("/admin/incidents"))
    assert case_a["number"] in page and "proposed_departmnt" in page and "resolve_unit" in page
    assert "流程异常" in html(admin.get(f"/cases/{case_a['id']}"))  # the incident banner

    r = admin.post(f"/admin/incidents/{retry_id}/retry", data={"csrf_token": csrf(page)})
    assert r.status_code == 302
    r = admin.post(f"/admin/incidents/{dismiss_id}/dismiss", data={"csrf_token": csrf(page)})
    assert r.status_code == 302
    after = html(admin.get("/admin/incidents"))
    assert case_a["number"] not in after and case_b["number"] not in after
    r = admin.post(f"/admin/incidents/{retry_id}/retry", data={"csrf_token": csrf(page)})
    assert "无法重试" in html(admin.get("/admin/incidents"))
    with app.app_context():
        resolved = {i.id: i.resolution for i in session.scalars(select(Incident).where(Incident.id.in_([retry_id, dismiss_id])))}
        assert resolved == {retry_id: "retried", dismiss_id: "dismissed"}
        assert not session.get(Case, case_a["id"]).has_incident  # type: ignore[union-attr]
    assert admin.post("/admin/incidents/999999999/retry", data={"csrf_token": csrf(page)}).status_code == 404


# ---------------------------------------------------------------------------- formatting

def test_format_dt_shows_beijing_time() -> None:
    assert format_dt(None) == "—"
    assert format_dt(datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)) == "2026-03-02 09:30"
    assert format_dt(datetime(2026, 3, 2, 16, 0, tzinfo=timezone.utc), "%m-%d") == "03-03"
    assert format_dt("2026-03-02T01:30:00+00:00") == "2026-03-02 09:30"
