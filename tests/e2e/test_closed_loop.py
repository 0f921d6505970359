"""The seven-step closed loop end to end through the API: happy path, rejection, return,
failed inspection and unsatisfied call-back."""
from __future__ import annotations

from typing import Any, Callable

import pytest

FILE = {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"}
ASSIGN = {"handling_unit": "d1-sz", "time_limit": "4h"}
HANDLE = {"action": "handle"}
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

    def do(self, bpmn_id: str, user: str, data: dict[str, Any]) -> dict[str, Any]:
        tasks = [t for t in self.case()["current_tasks"] if t["bpmn_id"] == bpmn_id]
        assert tasks, f"{bpmn_id} not current; current: {self.current()}"
        task = tasks[0]
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
    assert w.current() == ["assign_case"] and case["stage"] == "assign"
    w.do("assign_case", "demo_dispatcher", ASSIGN)
    handle = w.case()["current_tasks"][0]
    assert handle["bpmn_id"] == "handle_case" and handle["org_unit"]["code"] == "d1-sz"
    assert handle["due_at"] and handle["role"] == "handler"
    w.do("handle_case", "demo_handler", HANDLE)
    w.do("report_back", "demo_handler", REPORT)
    w.do("inspect_case", "demo_grid_worker", PASS)
    assert w.case()["stage"] == "evaluate"
    final = w.do("callback_case", "demo_operator", SATISFIED)
    assert final["status"] == "closed" and final["current_tasks"] == [] and final["closed_at"]
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


def test_return_by_the_unit_goes_back_to_assignment(walk: Callable[..., Walker]) -> None:
    w = walk(channel="grid")
    w.do("file_case", "demo_dispatcher", FILE)
    w.do("assign_case", "demo_dispatcher", {"handling_unit": "d2-sz", "time_limit": "1d"})
    w.do("handle_case", "handler_d2_sz", {"action": "return", "return_reason": "wrong_area", "return_notes": "不在本区"})
    assert w.current() == ["assign_case"]
    w.do("assign_case", "demo_dispatcher", ASSIGN)
    assert w.case()["current_tasks"][0]["org_unit"]["code"] == "d1-sz"


def test_failed_inspection_sends_it_back_and_counts_rework(walk: Callable[..., Walker]) -> None:
    w = walk(channel="grid")
    w.do("file_case", "demo_dispatcher", FILE)
    w.do("assign_case", "demo_dispatcher", ASSIGN)
    w.do("handle_case", "demo_handler", HANDLE)
    w.do("report_back", "demo_handler", REPORT)
    w.do("inspect_case", "demo_grid_worker", {"passed": False, "inspect_notes": "井盖仍松动"})
    case = w.case()
    assert w.current() == ["handle_case"] and case["rework_count"] == 1
    w.do("handle_case", "demo_handler", HANDLE)
    w.do("report_back", "demo_handler", REPORT)
    w.do("inspect_case", "demo_grid_worker", PASS)
    assert w.do("callback_case", "demo_operator", SATISFIED)["status"] == "closed"


def test_unsatisfied_callback_reopens_at_most_twice(walk: Callable[..., Walker]) -> None:
    w = walk(channel="grid")
    w.do("file_case", "demo_dispatcher", FILE)
    w.do("assign_case", "demo_dispatcher", ASSIGN)
    unsatisfied = {"satisfied": False, "score": 1, "reached": True, "callback_notes": "问题依旧"}
    for reopened in (1, 2):
        w.do("handle_case", "demo_handler", HANDLE)
        w.do("report_back", "demo_handler", REPORT)
        w.do("inspect_case", "demo_grid_worker", PASS)
        w.do("callback_case", "demo_operator", unsatisfied)
        assert w.current() == ["handle_case"] and w.case()["reopen_count"] == reopened
    w.do("handle_case", "demo_handler", HANDLE)
    w.do("report_back", "demo_handler", REPORT)
    w.do("inspect_case", "demo_grid_worker", PASS)
    final = w.do("callback_case", "demo_operator", unsatisfied)
    assert final["status"] == "closed" and final["reopen_count"] == 2
