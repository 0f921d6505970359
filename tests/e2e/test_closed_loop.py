"""The seven-step closed loop end to end through the API: happy path, rejection, return,
failed inspection and unsatisfied call-back. Event assignment and handling run in the four-tier
circulation: the default case (a manhole cover in d1-s1-c1) starts at the district tier, where
the district's triage dispatches it to a lead unit (tests/e2e/test_four_tier.py climbs the tiers)."""
from __future__ import annotations

from typing import Any, Callable

import pytest

FILE = {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"}
TRIAGE = {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": "4h"}
HANDLE = {"handling_notes": "已更换井盖"}
REPORT = {"result": "resolved", "result_notes": "已更换井盖"}
PASS = {"passed": True}
SATISFIED = {"satisfied": True, "score": 5, "reached": True}


class Walker:
    def __init__(self, api: Callable[[str], Any], case: dict[str, Any]) -> None:
        self.api, self.case_id = api, case["id"]

    def case(self) -> dict[str, Any]:
        r = self.api("demo_dispatcher").get(f"/api/v1/cases/{self.case_id}")
        assert r.status_code == 200
        return r.get_json()

    def current(self) -> list[str]:
        return [t["bpmn_id"] for t in self.case()["current_tasks"]]

    def task(self, bpmn_id: str) -> dict[str, Any]:
        tasks = [t for t in self.case()["current_tasks"] if t["bpmn_id"] == bpmn_id]
        assert tasks, f"{bpmn_id} not current; current: {self.current()}"
        return tasks[0]

    def do(self, bpmn_id: str, user: str, data: dict[str, Any]) -> dict[str, Any]:
        return self.do_task(self.task(bpmn_id), user, data)

    def do_task(self, task: dict[str, Any], user: str, data: dict[str, Any]) -> dict[str, Any]:
        assert user in task["candidates"], (user, task["candidates"])
        r = self.api(user).claim_and_complete(task["id"], data)
        assert r.status_code == 200, r.get_json()
        return r.get_json()


@pytest.fixture()
def walk(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> Callable[..., Walker]:
    return lambda **kw: Walker(api, make_case(**kw))


def test_happy_path_closes_the_case(walk: Callable[..., Walker]) -> None:
    w = walk()
    assert w.current() == ["verify_on_site"]
    w.do("verify_on_site", "demo_grid_worker", {"confirmed": True})
    assert w.current() == ["file_case"]
    w.do("file_case", "demo_dispatcher", FILE)
    case = w.case()
    assert w.current() == ["triage"] and case["stage"] == "assign" and case["tier"] == "district"
    triage = w.task("triage")
    assert triage["org_unit"]["code"] == "d1" and triage["role"] == "dispatcher"
    assert {"demo_dispatcher", "dispatcher_d1"} <= set(triage["candidates"])
    w.do("triage", "demo_dispatcher", TRIAGE)
    handle = w.case()["current_tasks"][0]
    assert handle["bpmn_id"] == "handle_case" and handle["org_unit"]["code"] == "d1-sz"
    assert handle["due_at"] and handle["role"] == "handler"
    w.do("handle_case", "demo_handler", HANDLE)
    w.do("report_back", "demo_handler", REPORT)
    w.do("inspect_case", "demo_grid_worker", PASS)
    assert w.case()["stage"] == "evaluate"
    final = w.do("callback_case", "demo_operator", SATISFIED)
    assert final["status"] == "closed" and final["current_tasks"] == [] and final["closed_at"]
    assert final["tier"] == "district" and final["handling_unit"] == "d1-sz"
    assert (final["escalation_count"], final["return_count"]) == (0, 0)
    actions = [e["action"] for e in final["history"]]
    assert actions[0] == "case_created" and actions.count("task_completed") == 7
    completed = [e for e in final["history"] if e["action"] == "task_completed"]
    assert [e["actor"] for e in completed] == ["demo_grid_worker", "demo_dispatcher", "demo_dispatcher", "demo_handler",
                                             "demo_handler", "demo_grid_worker", "demo_operator"]
    assert completed[-1]["detail"]["data"]["score"] == 5


def test_rejection_ends_the_case_as_rejected(walk: Callable[..., Walker]) -> None:
    w = walk(channel="grid")  # a grid worker's own report needs no on-site verification
    assert w.current() == ["file_case"]
    final = w.do("file_case", "demo_dispatcher", {"decision": "reject", "reject_reason": "不属于受理范围"})
    assert final["status"] == "rejected" and final["current_tasks"] == []


def test_rejection_needs_a_reason(walk: Callable[..., Walker], api: Callable[[str], Any]) -> None:
    w = walk(channel="grid")
    task = w.case()["current_tasks"][0]
    r = api("demo_dispatcher").claim_and_complete(task["id"], {"decision": "reject"})
    assert r.status_code == 422 and "reject_reason" in r.get_json()["errors"]
    assert w.current() == ["file_case"]


def test_return_by_the_unit_goes_back_to_assignment(walk: Callable[..., Walker], api: Callable[[str], Any]) -> None:
    w = walk(channel="grid")
    w.do("file_case", "demo_dispatcher", FILE)
    # the district dispatches it to the wrong department
    w.do("triage", "demo_dispatcher", {"decision": "dispatch", "lead_unit": "d1-jt", "handling_limit": "1d"})
    handle = w.task("handle_case")
    assert handle["org_unit"]["code"] == "d1-jt"
    unit = api("handler_d1_jt")
    assert unit.post(f"/api/v1/tasks/{handle['id']}/claim").status_code == 200
    # the unit asks for a return (退单); nothing moves until a supervisor decides
    r = unit.post(f"/api/v1/tasks/{handle['id']}/return", json={"reason": "不属于交通部门职责"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "requested" and body["case"] is None
    request = body["request"]
    assert (request["kind"], request["state"], request["task_id"], request["requested_by"]) == (
        "return", "pending", handle["id"], "handler_d1_jt")
    assert w.current() == ["handle_case"] and w.case()["return_count"] == 0
    again = unit.post(f"/api/v1/tasks/{handle['id']}/return", json={"reason": "再次申请退单"})
    assert again.status_code == 409  # one pending request per task
    # the handler cannot decide its own request
    refused = unit.post(f"/api/v1/return-requests/{request['id']}/decision", json={"approve": True, "reason": "同意退单"})
    assert refused.status_code == 403
    assert w.current() == ["handle_case"]
    r = api("demo_supervisor").post(f"/api/v1/return-requests/{request['id']}/decision",
                                    json={"approve": True, "reason": "确非交通部门职责"})
    assert r.status_code == 200, r.get_json()
    assert (r.get_json()["state"], r.get_json()["decided_by"]) == ("approved", "demo_supervisor")
    # back to the triage of the same tier, counted as a return
    case = w.case()
    assert w.current() == ["triage"] and case["tier"] == "district" and case["return_count"] == 1
    assert w.task("triage")["org_unit"]["code"] == "d1"
    actions = [e["action"] for e in case["history"]]
    assert actions.count("return_requested") == 1 and actions.count("return_approved") == 1
    assert "handle_case" not in [t["bpmn_id"] for t in case["current_tasks"]]
    w.do("triage", "demo_dispatcher", TRIAGE)
    assert w.task("handle_case")["org_unit"]["code"] == "d1-sz"


def test_supervisor_returns_a_task_at_once(walk: Callable[..., Walker], api: Callable[[str], Any]) -> None:
    w = walk(channel="grid")
    w.do("file_case", "demo_dispatcher", FILE)
    w.do("triage", "demo_dispatcher", {"decision": "dispatch", "lead_unit": "d1-jt", "handling_limit": "1d"})
    handle = w.task("handle_case")
    assert api("handler_d2_sz").post(f"/api/v1/tasks/{handle['id']}/return", json={"reason": "不在本区"}).status_code == 403
    r = api("demo_supervisor").post(f"/api/v1/tasks/{handle['id']}/return", json={"reason": "派错部门，退回重新派遣"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "returned" and body["request"] is None
    case = body["case"]
    assert [t["bpmn_id"] for t in case["current_tasks"]] == ["triage"] and case["return_count"] == 1
    assert case["tier"] == "district"
    assert [e["action"] for e in case["history"]].count("task_returned") == 1
    w.do("triage", "demo_dispatcher", TRIAGE)
    assert w.task("handle_case")["org_unit"]["code"] == "d1-sz"


def test_failed_inspection_sends_it_back_and_counts_rework(walk: Callable[..., Walker]) -> None:
    w = walk(channel="grid")
    w.do("file_case", "demo_dispatcher", FILE)
    w.do("triage", "demo_dispatcher", TRIAGE)
    w.do("handle_case", "demo_handler", HANDLE)
    w.do("report_back", "demo_handler", REPORT)
    w.do("inspect_case", "demo_grid_worker", {"passed": False, "inspect_notes": "井盖仍松动"})
    case = w.case()
    # rework goes back into the circulation at the tier that solved it
    assert w.current() == ["triage"] and case["rework_count"] == 1
    assert case["tier"] == "district" and w.task("triage")["org_unit"]["code"] == "d1"
    w.do("triage", "demo_dispatcher", TRIAGE)
    assert w.task("handle_case")["org_unit"]["code"] == "d1-sz"
    w.do("handle_case", "demo_handler", HANDLE)
    w.do("report_back", "demo_handler", REPORT)
    w.do("inspect_case", "demo_grid_worker", PASS)
    final = w.do("callback_case", "demo_operator", SATISFIED)
    assert final["status"] == "closed" and final["rework_count"] == 1


def test_unsatisfied_callback_reopens_at_most_twice(walk: Callable[..., Walker]) -> None:
    w = walk(channel="grid")
    w.do("file_case", "demo_dispatcher", FILE)
    w.do("triage", "demo_dispatcher", TRIAGE)
    unsatisfied = {"satisfied": False, "score": 1, "reached": True, "callback_notes": "问题依旧"}
    for reopened in (1, 2):
        w.do("handle_case", "demo_handler", HANDLE)
        w.do("report_back", "demo_handler", REPORT)
        w.do("inspect_case", "demo_grid_worker", PASS)
        w.do("callback_case", "demo_operator", unsatisfied)
        case = w.case()
        assert w.current() == ["triage"] and case["reopen_count"] == reopened and case["tier"] == "district"
        w.do("triage", "demo_dispatcher", TRIAGE)
    w.do("handle_case", "demo_handler", HANDLE)
    w.do("report_back", "demo_handler", REPORT)
    w.do("inspect_case", "demo_grid_worker", PASS)
    final = w.do("callback_case", "demo_operator", unsatisfied)
    assert final["status"] == "closed" and final["reopen_count"] == 2


def test_a_problem_not_solved_reopens_even_when_the_reporter_is_satisfied(walk: Callable[..., Walker]) -> None:
    """DOMAIN.md 回访: asked whether it is solved and satisfied, "if not, the case is reopened"; a
    call-back that does not say (an API client leaving ``solved`` out) does not reopen."""
    w = walk(channel="grid")
    w.do("file_case", "demo_dispatcher", FILE)
    w.do("triage", "demo_dispatcher", TRIAGE)
    w.do("handle_case", "demo_handler", HANDLE)
    w.do("report_back", "demo_handler", REPORT)
    w.do("inspect_case", "demo_grid_worker", PASS)
    w.do("callback_case", "demo_operator", {"reached": True, "solved": False, "satisfied": True, "score": 4,
                                            "callback_notes": "态度好，但井盖还是松的"})
    assert w.current() == ["triage"] and w.case()["reopen_count"] == 1
    w.do("triage", "demo_dispatcher", TRIAGE)
    w.do("handle_case", "demo_handler", HANDLE)
    w.do("report_back", "demo_handler", REPORT)
    w.do("inspect_case", "demo_grid_worker", PASS)
    final = w.do("callback_case", "demo_operator", {"reached": True, "satisfied": True})  # solved left out
    assert final["status"] == "closed" and final["reopen_count"] == 1


def test_rework_with_co_handlers_twice_runs_the_second_round(walk: Callable[..., Walker]) -> None:
    """The first round's co-handler item (``co_unit``) is left in the data by the multi-instance;
    a second dispatch with co-handlers after a failed inspection must not end in an incident
    ("Multiinstance input item co_unit already exists", seen by the demo history)."""
    w = walk(channel="grid")
    w.do("file_case", "demo_dispatcher", FILE)
    with_co = {**TRIAGE, "co_units": ["d1-jt"]}
    w.do("triage", "demo_dispatcher", with_co)
    w.do("handle_case", "demo_handler", HANDLE)
    w.do("cohandle_case", "handler_d1_jt", {"cohandling_notes": "已配合疏导交通"})
    w.do("report_back", "demo_handler", REPORT)
    w.do("inspect_case", "demo_grid_worker", {"passed": False, "inspect_notes": "井盖仍松动"})
    w.do("triage", "demo_dispatcher", {**TRIAGE, "co_units": ["d1-jt", "d1-hw"]})
    case = w.case()
    assert not case.get("has_incident"), case
    assert sorted(w.current()) == ["cohandle_case", "cohandle_case", "handle_case"]
    co_units = sorted(t["org_unit"]["code"] for t in case["current_tasks"] if t["bpmn_id"] == "cohandle_case")
    assert co_units == ["d1-hw", "d1-jt"]
    for task in [t for t in case["current_tasks"] if t["bpmn_id"] == "cohandle_case"]:
        w.do_task(task, f"handler_{task['org_unit']['code'].replace('-', '_')}", {"cohandling_notes": "已配合"})
    w.do("handle_case", "demo_handler", HANDLE)
    w.do("report_back", "demo_handler", REPORT)
    w.do("inspect_case", "demo_grid_worker", PASS)
    final = w.do("callback_case", "demo_operator", SATISFIED)
    assert final["status"] == "closed" and final["rework_count"] == 1
