"""The 督办 pages: the supervisor's console, the action forms on the task and case pages, and the
notifications they send, through the browser forms with CSRF on as in production.

Tuesday 2026-12-01 is a working day (office hours 09:00–12:00, 13:30–17:30, +08:00); the product
clock is fixed with ``at_time``. A handling task at d1-sz claimed at 09:00 with a 4h limit is due
at 14:30 (yellow at 13:42).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.core import clock
from app.core.db import session
from app.engine.timers import sweep
from app.notifications.models import Notification
from app.sla.deadlines import LIGHTS, light
from app.supervision.models import TaskRequest
from app.tasks.models import Task
from tests.web.pages import csrf, html, token

Api = Callable[[str], Any]


def t(hhmm: str) -> str:
    return f"2026-12-01T{hhmm}:00+08:00"


def handling_task(api: Api, make_case: Callable[..., dict[str, Any]], claim: bool = True) -> dict[str, Any]:
    """A case dispatched to d1-sz with a 4h limit: its handle_case task (claimed by demo_handler)."""
    created = make_case(channel="grid")
    r = api("demo_dispatcher").claim_and_complete(created["current_tasks"][0]["id"],
                                                  {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"})
    assert r.status_code == 200, r.get_json()
    r = api("demo_dispatcher").claim_and_complete(r.get_json()["current_tasks"][0]["id"],
                                                  {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": "4h"})
    assert r.status_code == 200, r.get_json()
    [task] = [x for x in r.get_json()["current_tasks"] if x["bpmn_id"] == "handle_case"]
    if claim:
        assert api("demo_handler").post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    out = task_of(api, task["id"])
    out["case_number"] = r.get_json()["number"]
    return out


def task_of(api: Api, task_id: int) -> dict[str, Any]:
    return api("demo_supervisor").get(f"/api/v1/tasks/{task_id}").get_json()  # type: ignore[no-any-return]


def case_of(api: Api, case_id: int) -> dict[str, Any]:
    return api("demo_supervisor").get(f"/api/v1/cases/{case_id}").get_json()  # type: ignore[no-any-return]


def unread_badge(page: str) -> int:
    m = re.search(r'class="bell-count" data-unread="(\d+)"', page)
    return int(m.group(1)) if m else 0


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# ---------------------------------------------------------------------------- access and counts

def test_console_is_for_supervisors_only(browser: Callable[[str], FlaskClient]) -> None:
    handler = browser("demo_handler")
    assert handler.get("/supervision").status_code == 403
    assert 'href="/supervision"' not in html(handler.get("/inbox"))
    supervisor = browser("demo_supervisor")
    page = supervisor.get("/supervision")
    assert page.status_code == 200
    assert 'href="/supervision"' in html(page) and "督办台" in html(page)
    assert browser("supervisor_d1_s1").get("/supervision").status_code == 200
    r = handler.application.test_client().get("/supervision")  # not logged in: to the login page
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_console_counts_match_the_data(app: Flask, api: Api, make_case: Callable[..., dict[str, Any]],
                                       browser: Callable[[str], FlaskClient], at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    handling_task(api, make_case)
    at_time(t("13:50"))  # that task is yellow now; older ones are red
    with app.app_context():
        now = clock.now()
        tasks = session.execute(select(Task.yellow_at, Task.due_at, Task.paused_at).where(
            Task.state == "open", Task.unit_path.startswith("/city/"), Task.due_at.is_not(None))).all()
        expected = {name: sum(1 for y, d, p in tasks if light(y, d, now, p) == name) for name in LIGHTS}
        pending = dict(session.execute(select(TaskRequest.kind, func.count()).where(
            TaskRequest.state == "pending").group_by(TaskRequest.kind)).all())
    assert expected["yellow"] >= 1
    page = html(browser("demo_supervisor").get("/supervision"))
    tiles = dict(re.findall(r'data-light="(\w+)">\s*<span class="tile-label">.*?</span><span class="tile-count">(\d+)<',
                            page, re.S))
    assert {k: int(v) for k, v in tiles.items()} == expected
    assert int(re.search(r'data-count="extensions">(\d+)<', page).group(1)) == pending.get("extension", 0)  # type: ignore[union-attr]
    assert int(re.search(r'data-count="returns">(\d+)<', page).group(1)) == pending.get("return", 0)  # type: ignore[union-attr]

    # a tile filters the table by its light: every row shows it, and the total is the tile's count
    supervisor = browser("demo_supervisor")
    filtered = html(supervisor.get("/supervision?light=yellow"))
    table = filtered.split('id="tasks-title"', 1)[1].split("</section>", 1)[0]
    assert re.search(r'<span class="count">(\d+)</span>', table).group(1) == str(expected["yellow"])  # type: ignore[union-attr]
    shown = re.findall(r'class="light light-(green|yellow|red)', table.split("<tbody>", 1)[1])
    assert shown and set(shown) == {"yellow"}
    assert supervisor.get("/supervision?light=nonsense&page=x").status_code == 200


def test_console_lists_most_urgent_first_with_case_and_holder(
        api: Api, make_case: Callable[..., dict[str, Any]], browser: Callable[[str], FlaskClient],
        at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case)
    at_time(t("09:30"))
    page = html(browser("supervisor_d1").get("/supervision?light=green"))
    row = next(r for r in page.split("<tr")[1:] if f'data-task="{task["id"]}"' in r)
    assert task["case_number"] in row and f'href="/cases/{task["case_id"]}"' in row
    assert "处置员" in row  # the holder's name
    assert "2026-12-01 14:30" in row and "正常" in row
    dues = re.findall(r'<span class="due-time">(?:<span class="due-kind">[^<]*</span> )?([0-9: -]+)</span>',
                      page.split('id="tasks-title"', 1)[1].split("</section>", 1)[0])
    assert dues == sorted(dues)  # the most urgent first


# ---------------------------------------------------------------------------- urge and notifications

def test_urge_from_the_console_reaches_the_holder(app: Flask, api: Api, make_case: Callable[..., dict[str, Any]],
                                                  browser: Callable[[str], FlaskClient],
                                                  at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case)
    handler = browser("demo_handler")
    before = unread_badge(html(handler.get("/inbox")))

    supervisor = browser("demo_supervisor")
    console = html(supervisor.get("/supervision?light=green"))
    r = supervisor.post(f"/tasks/{task['id']}/urge?origin=console&light=green",
                        data={"csrf_token": csrf(console), "reason": "群众多次来电，请今天办结", "next": "/supervision?light=green"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/supervision?light=green")
    after = html(supervisor.get(r.headers["Location"]))
    assert "已催办" in after
    assert task_of(api, task["id"])["urge_count"] == 1

    inbox = html(handler.get("/inbox"))
    assert unread_badge(inbox) == before + 1
    listing = html(handler.get("/notifications"))
    item = listing.split('data-kind="urge"', 1)[1].split("</li>", 1)[0]
    assert "群众多次来电，请今天办结" in item and "demo_supervisor" in item and "催办" in listing
    assert f'href="/tasks/{task["id"]}"' in item and f'href="/cases/{task["case_id"]}"' in item
    [nid] = re.findall(r'data-notification="(\d+)"[^>]*data-kind="urge"', listing)[:1]

    # one read, then all read
    r = handler.post("/notifications/read", data={"csrf_token": csrf(listing), "id": nid, "next": "/notifications"})
    assert r.status_code == 302
    assert unread_badge(html(handler.get("/inbox"))) == before
    with app.app_context():
        assert session.get(Notification, int(nid)).read_at is not None  # type: ignore[union-attr]
    r = handler.post("/notifications/read", data={"csrf_token": csrf(listing)})
    assert r.status_code == 302 and unread_badge(html(handler.get("/notifications"))) == 0
    assert "没有未读通知" in html(handler.get("/notifications?unread=1"))


def test_urge_without_reason_is_refused_and_changes_nothing(
        app: Flask, api: Api, make_case: Callable[..., dict[str, Any]], browser: Callable[[str], FlaskClient],
        at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case)
    notes = count(app, Notification, Notification.task_id == task["id"])
    supervisor = browser("demo_supervisor")
    r = supervisor.post(f"/tasks/{task['id']}/urge?origin=console",
                        data={"csrf_token": token(supervisor, "/supervision"), "reason": " "})
    assert r.status_code == 422
    page = html(r)
    assert "督办台" in page  # the console again, not an error page
    assert 'id="console-action-error"' in page and f'href="#urge-{task["id"]}"' in page and "请填写理由" in page
    assert f'id="urge-{task["id"]}-reason-error"' in page  # the task's row is shown, even if on another page
    assert task_of(api, task["id"])["urge_count"] == 0
    assert count(app, Notification, Notification.task_id == task["id"]) == notes
    # not a supervisor: refused outright
    handler = browser("demo_handler")
    r = handler.post(f"/tasks/{task['id']}/urge", data={"csrf_token": token(handler), "reason": "自己催自己"})
    assert r.status_code == 403


# ---------------------------------------------------------------------------- requests and decisions

def test_extension_asked_on_the_task_page_and_approved_on_the_console(
        app: Flask, api: Api, make_case: Callable[..., dict[str, Any]], browser: Callable[[str], FlaskClient],
        at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case)
    assert task["due_at"] == "2026-12-01T06:30:00+00:00"  # 14:30 local
    handler = browser("demo_handler")
    page = html(handler.get(f"/tasks/{task['id']}"))
    assert "申请延期" in page and "申请退单" in page and "吹哨上报" in page
    assert "改派" not in page and "催办说明" not in page  # supervisors' forms are not offered

    at_time(t("10:00"))
    r = handler.post(f"/tasks/{task['id']}/extension", data={"csrf_token": csrf(page), "amount": "2", "per": "hours",
                                                            "reason": "需要采购配件"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/tasks/{task['id']}")
    page = html(handler.get(r.headers["Location"]))
    assert "已提交延期申请" in page and "待审批的申请" in page and "2 个工作小时" in page

    with app.app_context():
        req_id = session.scalar(select(TaskRequest.id).where(TaskRequest.task_id == task["id"],
                                                             TaskRequest.kind == "extension"))
    supervisor = browser("demo_supervisor")
    console = html(supervisor.get("/supervision"))
    section = console.split('id="extensions-title"', 1)[1].split("</section>", 1)[0]
    if 'class="more-note' not in section:  # the oldest requests come first
        row = section.split(f'data-request="{req_id}"', 1)[1].split("</tr>", 1)[0]
        assert f'/tasks/{task["id"]}"' in row and "需要采购配件" in row and "2 个工作小时" in row

    at_time(t("10:30"))
    r = supervisor.post(f"/supervision/requests/{req_id}/decide",
                        data={"csrf_token": csrf(console), "decision": "approve", "reason": "同意延期", "next": "/supervision"})
    assert r.status_code == 302
    after = html(supervisor.get("/supervision"))
    assert "已批准" in after and f'data-request="{req_id}"' not in after
    moved = task_of(api, task["id"])
    assert moved["due_at"] == "2026-12-01T08:30:00+00:00"  # two working hours later: 16:30 local
    assert moved["extension_minutes"] == 120
    assert "2026-12-01 16:30" in html(handler.get(f"/tasks/{task['id']}"))
    assert "延期审批结果" in html(handler.get("/notifications"))


def test_decision_without_reason_is_refused_and_the_request_waits(
        app: Flask, api: Api, make_case: Callable[..., dict[str, Any]], browser: Callable[[str], FlaskClient],
        at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case)
    handler = browser("demo_handler")
    r = handler.post(f"/tasks/{task['id']}/return", data={"csrf_token": token(handler), "reason": "不属于市政职责"})
    assert r.status_code == 302
    assert "已提交退单申请" in html(handler.get(r.headers["Location"]))
    with app.app_context():
        req = session.scalar(select(TaskRequest).where(TaskRequest.task_id == task["id"], TaskRequest.kind == "return"))
        assert req is not None and req.state == "pending"
        req_id = req.id

    supervisor = browser("demo_supervisor")
    r = supervisor.post(f"/supervision/requests/{req_id}/decide",
                        data={"csrf_token": token(supervisor, "/supervision"), "decision": "refuse", "reason": ""})
    assert r.status_code == 422
    assert f'id="decide-{req_id}-reason-error"' in html(r) and "请填写理由" in html(r)
    r = supervisor.post(f"/supervision/requests/{req_id}/decide",
                        data={"csrf_token": token(supervisor, "/supervision"), "reason": "理由充分"})
    assert r.status_code == 422 and "请选择批准或不批准" in html(r)
    with app.app_context():
        assert session.get(TaskRequest, req_id).state == "pending"  # type: ignore[union-attr]

    # decided from the task page: refused, the task stays with the handler
    page = html(supervisor.get(f"/tasks/{task['id']}"))
    assert "退单申请" in page and "不属于市政职责" in page and f"/supervision/requests/{req_id}/decide" in page
    r = supervisor.post(f"/supervision/requests/{req_id}/decide?origin=task",
                        data={"csrf_token": csrf(page), "decision": "refuse", "reason": "属于市政职责，请继续办理",
                              "next": f"/tasks/{task['id']}"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/tasks/{task['id']}")
    with app.app_context():
        assert session.get(TaskRequest, req_id).state == "refused"  # type: ignore[union-attr]
    assert task_of(api, task["id"])["state"] == "open"


def test_extension_refusals_rerender_the_task_page(app: Flask, api: Api, make_case: Callable[..., dict[str, Any]],
                                                   browser: Callable[[str], FlaskClient],
                                                   at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case)
    handler = browser("demo_handler")
    tok = token(handler, f"/tasks/{task['id']}")
    r = handler.post(f"/tasks/{task['id']}/extension", data={"csrf_token": tok, "amount": "两天", "per": "days",
                                                            "reason": "等待配件"})
    assert r.status_code == 422
    page = html(r)
    assert 'id="extension-amount-error"' in page and 'value="两天"' in page and "等待配件" in page
    assert re.search(r'<details class="action" id="extension" open>', page)
    r = handler.post(f"/tasks/{task['id']}/extension", data={"csrf_token": tok, "amount": "2", "per": "days", "reason": ""})
    assert r.status_code == 422 and 'id="extension-reason-error"' in html(r)
    r = handler.post(f"/tasks/{task['id']}/extension", data={"csrf_token": tok, "amount": "0", "per": "days", "reason": "等待配件"})
    assert r.status_code == 422 and "须为正整数" in html(r)
    assert count(app, TaskRequest, TaskRequest.task_id == task["id"]) == 0


# ---------------------------------------------------------------------------- escalation, return, reassignment

def test_handler_blows_the_whistle_from_the_task_page(app: Flask, api: Api, make_case: Callable[..., dict[str, Any]],
                                                      browser: Callable[[str], FlaskClient],
                                                      at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case)
    handler = browser("demo_handler")
    r = handler.post(f"/tasks/{task['id']}/escalate", data={"csrf_token": token(handler, f"/tasks/{task['id']}"),
                                                           "reason": "涉及多个部门，区里无法解决"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{task['case_id']}")
    page = html(handler.get(r.headers["Location"]))
    assert "已上报" in page and "市级" in page and "上报 1 次" in page
    assert case_of(api, task["case_id"])["tier"] == "city"
    escalated = html(browser("demo_supervisor").get("/supervision"))
    section = escalated.split('id="escalated-title"', 1)[1].split("</section>", 1)[0]
    assert task["case_number"] in section or 'class="more-note' in section  # a long list shows its first rows


def test_supervisor_returns_and_reassigns_from_the_task_page(
        app: Flask, api: Api, make_case: Callable[..., dict[str, Any]], browser: Callable[[str], FlaskClient],
        at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case)
    supervisor = browser("supervisor_d1")
    page = html(supervisor.get(f"/tasks/{task['id']}"))
    assert "督办操作" in page and "改派" in page and "催办" in page and "退单" in page
    # an unknown user: the field says so, nothing moves
    r = supervisor.post(f"/tasks/{task['id']}/reassign", data={"csrf_token": csrf(page), "user": "nobody_here",
                                                              "unit": "", "reason": "换人办理"})
    assert r.status_code == 422 and 'id="reassign-user-error"' in html(r) and "nobody_here" in html(r)
    assert task_of(api, task["id"])["claimed_by"] == "demo_handler"
    # to the district's transport bureau
    r = supervisor.post(f"/tasks/{task['id']}/reassign", data={"csrf_token": csrf(page), "user": "", "unit": "d1-jt",
                                                              "reason": "属于交通部门职责"})
    assert r.status_code == 302, html(r)
    assert task_of(api, task["id"])["org_unit"]["code"] == "d1-jt"
    assert "已改派" in html(supervisor.get(r.headers["Location"]))
    # and back to dispatch at once (a supervisor's return is not a request)
    r = supervisor.post(f"/tasks/{task['id']}/return", data={"csrf_token": csrf(page), "reason": "派错单位，重新派遣"})
    assert r.status_code == 302
    case = case_of(api, task["case_id"])
    assert case["return_count"] == 1 and [t["bpmn_id"] for t in case["current_tasks"]] == ["triage"]
    console = html(supervisor.get("/supervision"))
    assert task["case_number"] in console.split('id="returned-title"', 1)[1].split("</section>", 1)[0]


def test_overdue_case_is_marked_supervised(app: Flask, api: Api, make_case: Callable[..., dict[str, Any]],
                                           browser: Callable[[str], FlaskClient],
                                           at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case)
    supervisor = browser("supervisor_d1")
    before = unread_badge(html(supervisor.get("/inbox")))
    with app.app_context():
        # timers fire in the first sweep after their moment (the light turns at the moment itself)
        sweep(at_time(t("13:43")))  # past yellow: the reminder
        sweep(at_time(t("14:31")))  # past the deadline: the overdue timer puts the case under supervision
    page = html(supervisor.get(f"/cases/{task['case_id']}"))
    assert "督办中" in page and "light-red" in page and "超期" in page
    console = html(supervisor.get("/supervision"))
    section = console.split('id="escalated-title"', 1)[1].split("</section>", 1)[0]
    assert task["case_number"] in section or 'class="more-note' in section  # a long list shows its first rows
    assert unread_badge(console) > before  # (the sweep fires the other tests' timers too)
    listing = html(supervisor.get("/notifications?unread=1"))
    items = [i for i in listing.split('<li class="notification')[1:] if f'href="/cases/{task["case_id"]}"' in i]
    assert any('data-kind="overdue"' in i and "超期督办" in i for i in items)


# ---------------------------------------------------------------------------- parking

def test_park_and_unpark_from_the_case_page(app: Flask, api: Api, make_case: Callable[..., dict[str, Any]],
                                            browser: Callable[[str], FlaskClient],
                                            at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case)
    handler = browser("demo_handler")
    assert "挂账，暂停计时" not in html(handler.get(f"/cases/{task['case_id']}"))  # not for handlers
    assert handler.post(f"/cases/{task['case_id']}/park",
                        data={"csrf_token": token(handler), "reason": "等待汛期结束"}).status_code == 403

    supervisor = browser("demo_supervisor")
    page = html(supervisor.get(f"/cases/{task['case_id']}"))
    assert "挂账，暂停计时" in page
    r = supervisor.post(f"/cases/{task['case_id']}/park", data={"csrf_token": csrf(page), "reason": "x"})
    assert r.status_code == 422 and 'id="park-reason-error"' in html(r)
    assert case_of(api, task["case_id"])["parked"] is False

    at_time(t("10:00"))
    r = supervisor.post(f"/cases/{task['case_id']}/park", data={"csrf_token": csrf(page), "reason": "等待汛期结束后施工"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/cases/{task['case_id']}")
    page = html(supervisor.get(r.headers["Location"]))
    assert "已挂账" in page and "等待汛期结束后施工" in page and "计时暂停" in page and "取消挂账" in page
    assert case_of(api, task["case_id"])["parked"] is True
    at_time(t("16:00"))  # long past the deadline, but the clock stands: still green
    assert task_of(api, task["id"])["light"] == "green"
    assert "light-green" in html(handler.get(f"/tasks/{task['id']}")) and "计时暂停" in html(handler.get(f"/tasks/{task['id']}"))
    section = html(supervisor.get("/supervision")).split('id="parked-title"', 1)[1].split("</section>", 1)[0]
    assert task["case_number"] in section or 'rel="next"' in section  # the longest parked first, or on a later page

    r = supervisor.post(f"/cases/{task['case_id']}/unpark", data={"csrf_token": csrf(page), "reason": ""})
    assert r.status_code == 422 and 'id="unpark-reason-error"' in html(r)
    assert case_of(api, task["case_id"])["parked"] is True
    r = supervisor.post(f"/cases/{task['case_id']}/unpark", data={"csrf_token": csrf(page), "reason": "汛期已过"})
    assert r.status_code == 302
    page = html(supervisor.get(f"/cases/{task['case_id']}"))
    assert "已取消挂账" in page and "parked-banner" not in page
    assert case_of(api, task["case_id"])["parked"] is False
    # parked at 10:00 with 3 working hours left (10:00–12:00, 13:30–14:30); unparked at 16:00:
    # 1.5 h this afternoon and 1.5 h the next morning → Wednesday 10:30
    assert task_of(api, task["id"])["due_at"] == "2026-12-02T02:30:00+00:00"


def test_unpark_from_the_console(api: Api, make_case: Callable[..., dict[str, Any]],
                                 browser: Callable[[str], FlaskClient], at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case)
    supervisor = browser("demo_supervisor")
    r = supervisor.post(f"/cases/{task['case_id']}/park", data={"csrf_token": token(supervisor), "reason": "等待业主配合"})
    assert r.status_code == 302
    console = html(supervisor.get("/supervision"))
    assert f"/cases/{task['case_id']}/unpark?origin=console" in console or 'class="more-note' in console
    r = supervisor.post(f"/cases/{task['case_id']}/unpark?origin=console", data={"csrf_token": csrf(console), "reason": "",
                                                                                 "next": "/supervision"})
    assert r.status_code == 422 and f'id="unpark-{task["case_id"]}-reason-error"' in html(r) and "督办台" in html(r)
    r = supervisor.post(f"/cases/{task['case_id']}/unpark?origin=console",
                        data={"csrf_token": csrf(console), "reason": "业主已配合", "next": "/supervision"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/supervision")
    assert case_of(api, task["case_id"])["parked"] is False


# ---------------------------------------------------------------------------- CSRF, language

def test_actions_without_csrf_token_are_400(app: Flask, api: Api, make_case: Callable[..., dict[str, Any]],
                                            browser: Callable[[str], FlaskClient], at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case)
    supervisor = browser("demo_supervisor")
    for url, data in ((f"/tasks/{task['id']}/urge", {"reason": "请尽快办理"}),
                      (f"/tasks/{task['id']}/reassign", {"unit": "d1-jt", "reason": "改派"}),
                      (f"/tasks/{task['id']}/return", {"reason": "派错单位"}),
                      (f"/tasks/{task['id']}/escalate", {"reason": "需要上级协调"}),
                      (f"/cases/{task['case_id']}/park", {"reason": "等待施工"}),
                      ("/supervision/requests/1/decide", {"decision": "approve", "reason": "同意"}),
                      ("/notifications/read", {})):
        assert supervisor.post(url, data=data).status_code == 400, url
    handler = browser("demo_handler")
    assert handler.post(f"/tasks/{task['id']}/extension", data={"amount": "1", "per": "days", "reason": "等待"}).status_code == 400
    fresh = task_of(api, task["id"])
    assert fresh["urge_count"] == 0 and fresh["org_unit"]["code"] == "d1-sz" and fresh["state"] == "open"
    assert case_of(api, task["case_id"])["parked"] is False
    assert count(app, TaskRequest, TaskRequest.task_id == task["id"]) == 0


def test_console_and_notifications_in_english(api: Api, make_case: Callable[..., dict[str, Any]],
                                              browser: Callable[[str], FlaskClient],
                                              at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case)
    supervisor, handler = browser("demo_supervisor"), browser("demo_handler")
    try:
        supervisor.post("/lang/en", data={"csrf_token": token(supervisor)})
        page = html(supervisor.get("/supervision"))
        for text in ("Supervision", "All open", "Extension requests", "Parked cases", "Urge", "On time"):
            assert text in page, text
        assert "督办台" not in page
        supervisor.post(f"/tasks/{task['id']}/urge", data={"csrf_token": csrf(page), "reason": "请尽快"})
        handler.post("/lang/en", data={"csrf_token": token(handler)})
        listing = html(handler.get("/notifications"))
        assert "Notifications" in listing and "Mark all read" in listing and "Urge" in listing
    finally:  # the choice is stored as the users' preference: give it back
        for client in (supervisor, handler):
            client.post("/lang/zh", data={"csrf_token": token(client)})

