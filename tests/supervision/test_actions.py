"""Every supervisor action through the API, with its permission refusals and bad input.

Tuesday 2026-12-01 is a working day (office hours 09:00–12:00, 13:30–17:30, +08:00); the product
clock is fixed with ``at_time`` so deadlines are exact."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.core.db import session
from app.engine.models import WorkflowInstance

Api = Callable[[str], Any]


def t(hhmm: str, day: int = 1) -> str:
    return f"2026-12-{day:02d}T{hhmm}:00+08:00"


@pytest.fixture()
def handling(api: Api, make_case: Callable[..., dict[str, Any]], at_time: Callable[[str], Any]) -> dict[str, Any]:
    """A case at handle_case (d1-sz), claimed by demo_handler at 09:00 with a 4h limit: due 13:30+1h = 14:30."""
    at_time(t("09:00"))
    case = make_case(channel="grid")
    r = api("demo_dispatcher").claim_and_complete(case["current_tasks"][0]["id"],
                                                  {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"})
    r = api("demo_dispatcher").claim_and_complete(r.get_json()["current_tasks"][0]["id"],
                                                  {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": "4h"})
    [task] = [x for x in r.get_json()["current_tasks"] if x["bpmn_id"] == "handle_case"]
    assert api("demo_handler").post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    return api("demo_handler").get(f"/api/v1/tasks/{task['id']}").get_json()  # type: ignore[no-any-return]


def case_of(api: Api, case_id: int) -> dict[str, Any]:
    return api("demo_supervisor").get(f"/api/v1/cases/{case_id}").get_json()  # type: ignore[no-any-return]


def unread(api: Api, user: str) -> list[dict[str, Any]]:
    return api(user).get("/api/v1/notifications?unread=1").get_json()["notifications"]  # type: ignore[no-any-return]


def unread_count(api: Api, user: str) -> int:
    return api(user).get("/api/v1/notifications?unread=1").get_json()["unread"]  # type: ignore[no-any-return]


def test_deadline_of_the_fixture(handling: dict[str, Any]) -> None:
    assert handling["due_at"] == "2026-12-01T06:30:00+00:00"  # 14:30 local
    assert handling["yellow_at"] == "2026-12-01T05:42:00+00:00"  # 192 working minutes: 13:42 local
    assert handling["light"] == "green"


# ---------------------------------------------------------------------------- urge

def test_urge_notifies_the_holder(api: Api, handling: dict[str, Any]) -> None:
    url = f"/api/v1/tasks/{handling['id']}/urge"
    assert api("demo_handler").post(url, json={"reason": "请尽快"}).status_code == 403  # not a supervisor
    assert api("supervisor_d2").post(url, json={"reason": "请尽快"}).status_code == 403  # another district
    r = api("demo_supervisor").post(url, json={})
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]
    before = unread_count(api, "demo_handler")  # the count, not the list: it shows the newest 50
    r = api("supervisor_d1").post(url, json={"reason": "群众反复来电，请尽快处置"})
    assert r.status_code == 200 and r.get_json()["urge_count"] == 1
    notes = unread(api, "demo_handler")
    assert unread_count(api, "demo_handler") == before + 1
    assert notes[0]["kind"] == "urge" and "群众反复来电" in notes[0]["message"]
    assert notes[0]["actor"] == "supervisor_d1"
    history = case_of(api, handling["case_id"])["history"]
    assert [e for e in history if e["action"] == "task_urged"][0]["detail"]["reason"] == "群众反复来电，请尽快处置"
    read = api("demo_handler").post("/api/v1/notifications/read", json={"ids": [notes[0]["id"]]}).get_json()
    assert read["marked"] == 1 and read["unread"] == before


# ---------------------------------------------------------------------------- reassign

def test_reassign_to_a_user_and_to_a_unit(app: Flask, api: Api, handling: dict[str, Any]) -> None:
    url = f"/api/v1/tasks/{handling['id']}/reassign"
    assert api("demo_handler").post(url, json={"user": "handler_d1_hw", "reason": "改派"}).status_code == 403
    assert api("supervisor_d2").post(url, json={"unit": "d2-sz", "reason": "改派"}).status_code == 403
    r = api("demo_supervisor").post(url, json={"user": "handler_d2_sz", "reason": "改派给他"})
    assert r.status_code == 422 and "user" in r.get_json()["errors"]  # no handler role over d1-sz
    r = api("demo_supervisor").post(url, json={"reason": "没有目标"})
    assert r.status_code == 422
    r = api("demo_supervisor").post(url, json={"unit": "nowhere", "reason": "改派"})
    assert r.status_code == 422 and "unit" in r.get_json()["errors"]
    # to the sanitation bureau of the district: the process variable follows, so report_back goes there too
    r = api("supervisor_d1").post(url, json={"unit": "d1-hw", "reason": "属环卫职责"})
    assert r.status_code == 200, r.get_json()
    moved = r.get_json()
    assert moved["org_unit"]["code"] == "d1-hw" and moved["claimed_by"] is None
    assert "handler_d1_hw" in moved["candidates"] and "demo_handler" not in moved["candidates"]
    assert case_of(api, handling["case_id"])["handling_unit"] == "d1-hw"
    # then to a user of that unit: they hold it at once
    r = api("supervisor_d1").post(url, json={"user": "handler_d1_hw", "reason": "指定专人"})
    assert r.status_code == 200 and r.get_json()["claimed_by"] == "handler_d1_hw"
    assert unread(api, "handler_d1_hw")[0]["kind"] == "reassigned"
    r = api("handler_d1_hw").post(f"/api/v1/tasks/{handling['id']}/complete",
                                 json={"data": api("handler_d1_hw").with_photos(handling["id"], {"handling_notes": "已处理"})})
    assert r.status_code == 200
    [report] = r.get_json()["current_tasks"]
    assert report["bpmn_id"] == "report_back" and report["org_unit"]["code"] == "d1-hw"


# ---------------------------------------------------------------------------- extension

def test_extension_request_and_decision(api: Api, handling: dict[str, Any], at_time: Callable[[str], Any]) -> None:
    url = f"/api/v1/tasks/{handling['id']}/extension-requests"
    assert api("handler_d1_hw").post(url, json={"hours": 2, "reason": "需要采购配件"}).status_code == 403  # not the holder
    r = api("demo_handler").post(url, json={"hours": 2, "days": 1, "reason": "需要采购配件"})
    assert r.status_code == 422 and "hours" in r.get_json()["errors"]
    r = api("demo_handler").post(url, json={"reason": "需要采购配件"})
    assert r.status_code == 422
    r = api("demo_handler").post(url, json={"hours": "2", "reason": "需要采购配件"})
    assert r.status_code == 422 and "hours" in r.get_json()["errors"]
    r = api("demo_handler").post(url, json={"days": 1, "reason": "需要采购配件"})
    assert r.status_code == 201, r.get_json()
    req = r.get_json()
    assert req["state"] == "pending" and req["amount"] == "1d" and req["minutes"] == 420
    assert api("demo_handler").post(url, json={"days": 1, "reason": "再申请"}).status_code == 409  # one at a time
    assert unread(api, "supervisor_d1")[0]["kind"] == "request_raised"
    decide = f"/api/v1/extension-requests/{req['id']}/decision"
    assert api("demo_handler").post(decide, json={"approve": True, "reason": "同意"}).status_code == 403
    assert api("supervisor_d2").post(decide, json={"approve": True, "reason": "同意"}).status_code == 403
    r = api("demo_supervisor").post(decide, json={"approve": "yes", "reason": "同意"})
    assert r.status_code == 422 and "approve" in r.get_json()["errors"]
    assert api("demo_supervisor").post(f"/api/v1/return-requests/{req['id']}/decision",
                                       json={"approve": True, "reason": "同意"}).status_code == 409  # wrong kind
    at_time(t("10:00"))
    r = api("demo_supervisor").post(decide, json={"approve": True, "reason": "同意延期一个工作日"})
    assert r.status_code == 200 and r.get_json()["state"] == "approved" and r.get_json()["decided_by"] == "demo_supervisor"
    task = api("demo_handler").get(f"/api/v1/tasks/{handling['id']}").get_json()
    # one working day (7 h) after 14:30 on Tuesday is 14:30 on Wednesday
    assert task["due_at"] == "2026-12-02T06:30:00+00:00" and task["extension_minutes"] == 420
    assert unread(api, "demo_handler")[0]["kind"] == "extension_decided"
    assert api("demo_supervisor").post(decide, json={"approve": False, "reason": "改主意"}).status_code == 409
    # after the deadline no more requests
    at_time(t("15:00", day=2))
    r = api("demo_handler").post(url, json={"hours": 1, "reason": "还要一小时"})
    assert r.status_code == 422


def test_extension_refused_keeps_the_deadline(api: Api, handling: dict[str, Any]) -> None:
    r = api("demo_handler").post(f"/api/v1/tasks/{handling['id']}/extension-requests", json={"hours": 3, "reason": "理由充分"})
    r = api("supervisor_d1").post(f"/api/v1/extension-requests/{r.get_json()['id']}/decision",
                                  json={"approve": False, "reason": "时限足够"})
    assert r.status_code == 200 and r.get_json()["state"] == "refused"
    assert api("demo_handler").get(f"/api/v1/tasks/{handling['id']}").get_json()["due_at"] == handling["due_at"]


# ---------------------------------------------------------------------------- return

def test_return_request_approved_goes_back_to_dispatch(api: Api, handling: dict[str, Any]) -> None:
    url = f"/api/v1/tasks/{handling['id']}/return"
    assert api("handler_d2_sz").post(url, json={"reason": "不属于本单位"}).status_code == 403
    r = api("demo_handler").post(url, json={"reason": "属地不符，不在本辖区"})
    assert r.status_code == 201 and r.get_json()["status"] == "requested"
    req = r.get_json()["request"]
    assert case_of(api, handling["case_id"])["current_tasks"][0]["bpmn_id"] == "handle_case"  # waits for approval
    r = api("supervisor_d1").post(f"/api/v1/return-requests/{req['id']}/decision", json={"approve": True, "reason": "同意退单"})
    assert r.status_code == 200, r.get_json()
    case = case_of(api, handling["case_id"])
    assert [t["bpmn_id"] for t in case["current_tasks"]] == ["triage"] and case["return_count"] == 1
    assert case["current_tasks"][0]["org_unit"]["code"] == "d1"
    console = api("supervisor_d1").get("/api/v1/supervision").get_json()
    assert console["returned_waiting"] >= 1


def test_supervisor_returns_directly_and_refusals(api: Api, handling: dict[str, Any]) -> None:
    r = api("demo_supervisor").post(f"/api/v1/tasks/{handling['id']}/return", json={"reason": "派错单位"})
    assert r.status_code == 200 and r.get_json()["status"] == "returned"
    case = r.get_json()["case"]
    triage = case["current_tasks"][0]
    assert triage["bpmn_id"] == "triage"
    # a dispatch task cannot be returned: the diagram has no return event there
    r = api("demo_supervisor").post(f"/api/v1/tasks/{triage['id']}/return", json={"reason": "派错单位"})
    assert r.status_code == 409
    assert api("demo_supervisor").post(f"/api/v1/tasks/{handling['id']}/return", json={"reason": "再退"}).status_code == 409


# ---------------------------------------------------------------------------- escalate

def test_escalate_refusals(api: Api, handling: dict[str, Any]) -> None:
    url = f"/api/v1/tasks/{handling['id']}/escalate"
    assert api("handler_d2_sz").post(url, json={"reason": "解决不了"}).status_code == 403
    assert api("demo_handler").post(url, json={"reason": ""}).status_code == 422
    r = api("demo_handler").post(f"/api/v1/tasks/{handling['id']}/complete",
                                json={"data": api("demo_handler").with_photos(handling["id"], {"handling_notes": "已处理"})})
    report = r.get_json()["current_tasks"][0]
    # report_back has no escalation event in the diagram
    assert api("demo_handler").post(f"/api/v1/tasks/{report['id']}/escalate", json={"reason": "解决不了"}).status_code == 409


# ---------------------------------------------------------------------------- park

def test_park_stops_the_clock_and_unpark_keeps_the_time_left(app: Flask, api: Api, handling: dict[str, Any],
                                                             at_time: Callable[[str], Any]) -> None:
    url = f"/api/v1/cases/{handling['case_id']}"
    assert api("demo_handler").post(f"{url}/park", json={"reason": "需等待管网改造"}).status_code == 403
    assert api("supervisor_d2").post(f"{url}/park", json={"reason": "需等待管网改造"}).status_code == 403
    assert api("demo_supervisor").post(f"{url}/unpark", json={"reason": "未挂账"}).status_code == 409
    at_time(t("13:30"))  # 1 working hour left (due 14:30), 12 minutes to yellow (13:42)
    r = api("supervisor_d1").post(f"{url}/park", json={"reason": "需等待管网改造，暂时无法解决"})
    assert r.status_code == 200 and r.get_json()["parked"] is True
    assert api("supervisor_d1").post(f"{url}/park", json={"reason": "再挂"}).status_code == 409
    with app.app_context():
        assert session.scalar(select(WorkflowInstance.next_timer_at).filter_by(case_id=handling["case_id"])) is None
    at_time(t("16:00", day=3))  # days later: the light stands where it was
    task = api("demo_handler").get(f"/api/v1/tasks/{handling['id']}").get_json()
    assert task["paused"] is True and task["light"] == "green"
    r = api("supervisor_d1").post(f"{url}/unpark", json={"reason": "管网改造完成"})
    assert r.status_code == 200 and r.get_json()["parked"] is False
    task = api("demo_handler").get(f"/api/v1/tasks/{handling['id']}").get_json()
    # 60 working minutes were left: 16:00 + 60 min → 17:00 (office closes 17:30)
    assert task["paused"] is False and task["due_at"] == "2026-12-03T09:00:00+00:00"
    assert task["yellow_at"] == "2026-12-03T08:12:00+00:00"  # 12 minutes were left to yellow: 16:12
    with app.app_context():
        moment = session.scalar(select(WorkflowInstance.next_timer_at).filter_by(case_id=handling["case_id"]))
    assert moment is not None and moment.isoformat() == "2026-12-03T08:12:00+00:00"
