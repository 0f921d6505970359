"""The four-tier circulation end to end through the API: climbing the tiers, and dispatching
down with co-handlers in parallel. The tiers come from rules/starting_tier.dmn and the diagrams;
these tests only use the API a caseworker uses."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

FILE = {"decision": "file", "urgency": "normal"}


def case_of(api: Callable[[str], Any], case_id: int) -> dict[str, Any]:
    r = api("demo_supervisor").get(f"/api/v1/cases/{case_id}")
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def only_task(case: dict[str, Any], bpmn_id: str) -> dict[str, Any]:
    tasks = [t for t in case["current_tasks"] if t["bpmn_id"] == bpmn_id]
    assert len(tasks) == 1, case["current_tasks"]
    return tasks[0]


def do(api: Callable[[str], Any], user: str, task_id: int, data: dict[str, Any]) -> dict[str, Any]:
    r = api(user).claim_and_complete(task_id, data)
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def filed(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]], **kw: Any) -> dict[str, Any]:
    case = make_case(channel="grid", **kw)  # a grid worker's report needs no on-site verification
    return do(api, "demo_dispatcher", only_task(case, "file_case")["id"], {**FILE, "grid_unit": kw.get("grid_unit", "d1-s1-c1")})


def test_a_case_climbs_community_street_district_city(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    # exposed garbage (event 06) starts in the community micro loop
    case = filed(api, make_case, category_code="event:06001", grid_unit="d1-s1-c1")
    assert case["tier"] == "community"
    triage = only_task(case, "triage")
    assert triage["org_unit"]["code"] == "d1-s1-c1" and "dispatcher_d1_s1_c1" in triage["candidates"]
    # the community cannot solve it: escalate through its triage form
    case = do(api, "dispatcher_d1_s1_c1", triage["id"], {"decision": "escalate", "escalate_reason": "需要街道协调"})
    assert case["tier"] == "street" and case["escalation_count"] == 1
    triage = only_task(case, "triage")
    assert triage["org_unit"]["code"] == "d1-s1"
    # the street dispatches to its own handling team; the handler blows the whistle (吹哨)
    case = do(api, "dispatcher_d1_s1", triage["id"], {"decision": "dispatch", "lead_unit": "d1-s1", "handling_limit": "4h"})
    handle = only_task(case, "handle_case")
    assert handle["org_unit"]["code"] == "d1-s1" and handle["sign_limit"] == "2h"
    r = api("handler_d1_s1").post(f"/api/v1/tasks/{handle['id']}/escalate", json={"reason": "涉及多个部门，街道无法解决"})
    assert r.status_code == 200, r.get_json()
    case = r.get_json()
    assert case["tier"] == "district" and case["escalation_count"] == 2
    assert [t["bpmn_id"] for t in case["current_tasks"]] == ["triage"]
    triage = only_task(case, "triage")
    assert triage["org_unit"]["code"] == "d1"
    # the district escalates to the city with the supervisor's button
    r = api("supervisor_d1_s1").post(f"/api/v1/tasks/{triage['id']}/escalate", json={"reason": "x"})
    assert r.status_code == 422 and "reason" in r.get_json()["errors"]  # a real reason is required
    r = api("demo_supervisor").post(f"/api/v1/tasks/{triage['id']}/escalate", json={"reason": "需要市级统筹"})
    assert r.status_code == 200, r.get_json()
    case = r.get_json()
    assert case["tier"] == "city" and case["escalation_count"] == 3
    triage = only_task(case, "triage")
    assert triage["org_unit"]["code"] == "city"
    # the city solves it with a city bureau
    case = do(api, "demo_dispatcher", triage["id"], {"decision": "dispatch", "lead_unit": "city-hw", "handling_limit": "1d"})
    handle = only_task(case, "handle_case")
    assert handle["org_unit"]["code"] == "city-hw"
    case = do(api, "handler_city_hw", handle["id"], {"handling_notes": "已协调清运"})
    case = do(api, "handler_city_hw", only_task(case, "report_back")["id"], {"result": "resolved", "result_notes": "已清运"})
    assert only_task(case, "inspect_case")
    history = [e["action"] for e in case_of(api, case["id"])["history"]]
    assert history.count("task_escalated") == 2  # the two escalations by button; the form one is a completion


def test_dispatched_down_with_co_handlers_in_parallel(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    # a manhole cover (component 01) starts at the district
    case = filed(api, make_case, category_code="component:01002", grid_unit="d1-s2-c1")
    assert case["tier"] == "district"
    triage = only_task(case, "triage")
    form = api("dispatcher_d1").get(f"/api/v1/tasks/{triage['id']}").get_json()["form"]
    lead_choices = form["properties"]["lead_unit"]["enum"]
    assert "d1-sz" in lead_choices and "d1-s2-c1" in lead_choices and "d2-sz" not in lead_choices  # own area only
    r = api("dispatcher_d1").claim_and_complete(triage["id"], {"decision": "dispatch", "lead_unit": "d2-sz", "handling_limit": "4h"})
    assert r.status_code == 422 and "lead_unit" in r.get_json()["errors"]
    case = api("dispatcher_d1").post(f"/api/v1/tasks/{triage['id']}/complete", json={"data": {
        "decision": "dispatch", "lead_unit": "d1-sz", "co_units": ["d1-jt", "d1-s2"], "handling_limit": "4h"}}).get_json()
    tasks = {(t["bpmn_id"], t["org_unit"]["code"]) for t in case["current_tasks"]}
    assert tasks == {("handle_case", "d1-sz"), ("cohandle_case", "d1-jt"), ("cohandle_case", "d1-s2")}
    assert case["handling_unit"] == "d1-sz"
    by_unit = {t["org_unit"]["code"]: t for t in case["current_tasks"]}
    # the lead finishes first: the case waits for both co-handlers
    case = do(api, "demo_handler", by_unit["d1-sz"]["id"], {"handling_notes": "已更换井盖"})
    assert {t["bpmn_id"] for t in case["current_tasks"]} == {"cohandle_case"}
    case = do(api, "handler_d1_jt", by_unit["d1-jt"]["id"], {"cohandling_notes": "已设置交通警示"})
    assert [t["org_unit"]["code"] for t in case["current_tasks"]] == ["d1-s2"]
    case = do(api, "handler_d1_s2", by_unit["d1-s2"]["id"], {"cohandling_notes": "已通知周边居民"})
    report = only_task(case, "report_back")
    assert report["org_unit"]["code"] == "d1-sz"
    case = do(api, "demo_handler", report["id"], {"result": "resolved", "result_notes": "已完成"})
    assert only_task(case, "inspect_case")["org_unit"]["code"] == "d1-s2-c1"
