"""Races on one task, with real threads and real commits, on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from typing import Any, Callable

from flask import Flask


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_people_claim_one_task_exactly_one_wins(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    users = [api("demo_dispatcher"), api("dispatcher_2")]
    for _ in range(5):
        task_id = make_case(channel="grid")["current_tasks"][0]["id"]
        responses = _race([lambda u=u: u.post(f"/api/v1/tasks/{task_id}/claim") for u in users])
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 409], codes
        winner = next(r for r in responses if r.status_code == 200).get_json()["claimed_by"]
        loser = next(r for r in responses if r.status_code == 409).get_json()
        assert loser["claimed_by"] == winner
        task = users[0].get(f"/api/v1/tasks/{task_id}").get_json()
        assert task["claimed_by"] == winner


def test_two_requests_complete_one_task_exactly_one_wins(app: Flask, api: Callable[[str], Any],
                                                         make_case: Callable[..., dict[str, Any]]) -> None:
    me = api("demo_dispatcher")
    data = {"data": {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"}}
    for _ in range(5):
        case = make_case(channel="grid")
        task_id = case["current_tasks"][0]["id"]
        assert me.post(f"/api/v1/tasks/{task_id}/claim").status_code == 200
        clients = [api("demo_dispatcher"), api("demo_dispatcher")]
        responses = _race([lambda c=c: c.post(f"/api/v1/tasks/{task_id}/complete", json=data) for c in clients])
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 409], [r.get_json() for r in responses]
        after = me.get(f"/api/v1/cases/{case['id']}").get_json()
        assert [t["bpmn_id"] for t in after["current_tasks"]] == ["triage"]
        assert len([e for e in after["history"] if e["action"] == "task_completed"]) == 1
        assert len([e for e in after["history"] if e["action"] == "task_created" and e["detail"]["bpmn_id"] == "triage"]) == 1
