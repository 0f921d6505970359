"""The rules' dispatch proposal (department, tier, time limit, legal basis) and the dispatcher's audited override."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

FILE = {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"}


def _task(api: Callable[[str], Any], case_id: int, bpmn_id: str) -> dict[str, Any]:
    case = api("demo_dispatcher").get(f"/api/v1/cases/{case_id}").get_json()
    return next(t for t in case["current_tasks"] if t["bpmn_id"] == bpmn_id)


def _to_triage(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    case = make_case()
    verify = _task(api, case["id"], "verify_on_site")
    assert api("demo_grid_worker").claim_and_complete(verify["id"], {"confirmed": True}).status_code == 200
    file = _task(api, case["id"], "file_case")
    assert api("demo_dispatcher").claim_and_complete(file["id"], FILE).status_code == 200
    return case["id"], _task(api, case["id"], "triage")


def test_the_triage_task_shows_the_rules_proposal(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    _, triage = _to_triage(api, make_case)
    detail = api("demo_dispatcher").get(f"/api/v1/tasks/{triage['id']}").get_json()
    proposal = detail["proposal"]
    # a sewer manhole cover (component:01002), not urgent: municipal department, 4 working hours
    assert proposal["proposed_department"] == "sz" and proposal["proposed_lead"] == "d1-sz"
    assert proposal["time_limit"] == "4h" and proposal["tier"] == "district"
    assert "城市道路管理条例" in proposal["legal_basis"]


def test_a_choice_other_than_the_proposal_is_audited(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    case_id, triage = _to_triage(api, make_case)
    r = api("demo_dispatcher").claim_and_complete(
        triage["id"], {"decision": "dispatch", "lead_unit": "d1-jt", "handling_limit": "1d"})
    assert r.status_code == 200, r.get_json()
    events = [e for e in r.get_json()["history"] if e["action"] == "proposal_overridden"]
    assert len(events) == 1 and events[0]["actor"] == "demo_dispatcher"
    assert {(o["field"], o["proposed"], o["chosen"]) for o in events[0]["detail"]["overrides"]} == {
        ("lead_unit", "d1-sz", "d1-jt"), ("handling_limit", "4h", "1d")}


def test_following_the_proposal_records_no_override(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    _, triage = _to_triage(api, make_case)
    r = api("demo_dispatcher").claim_and_complete(
        triage["id"], {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": "4h"})
    assert r.status_code == 200
    assert "proposal_overridden" not in [e["action"] for e in r.get_json()["history"]]
