"""When a master case ends, the reporters of the cases merged into it are owed a notice (the adapters' outbox)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.duplicates.test_merge_api import create, place_name, report, reworded

STEPS = [("verify_on_site", "demo_grid_worker", {"confirmed": True}),
         ("file_case", "demo_dispatcher", {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"}),
         ("triage", "demo_dispatcher", {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": "4h"}),
         ("handle_case", "demo_handler", {"handling_notes": "已协调工地停止夜间施工"}),
         ("report_back", "demo_handler", {"result": "resolved", "result_notes": "工地已承诺夜间22点后停工"}),
         ("inspect_case", "demo_grid_worker", {"passed": True}),
         ("callback_case", "demo_operator", {"satisfied": True, "score": 5, "reached": True})]


def walk_to_the_end(api: Callable[[str], Any], case_id: int) -> dict[str, Any]:
    for bpmn_id, user, data in STEPS:
        case = api("demo_dispatcher").get(f"/api/v1/cases/{case_id}").get_json()
        task = next(t for t in case["current_tasks"] if t["bpmn_id"] == bpmn_id)
        r = api(user).claim_and_complete(task["id"], data)
        assert r.status_code == 200, (bpmn_id, r.get_json())
    return r.get_json()  # type: ignore[no-any-return]


def test_reporters_of_merged_cases_are_told_when_the_master_closes(api: Callable[[str], Any]) -> None:
    name = place_name()
    master = create(api, report(name, grid_unit="d1-s1-c1"))
    dup = create(api, reworded(name, external_id=f"wx-{name.encode().hex()[:16]}"))
    assert api("demo_dispatcher").post(f"/api/v1/cases/{dup['id']}/merge", json={"into": master["id"]}).status_code == 200
    outbox = api("demo_operator").get("/api/v1/reporter-notices?channel=wechat").get_json()["items"]
    assert dup["id"] not in [n["case_id"] for n in outbox]  # nothing owed while the master is open
    final = walk_to_the_end(api, master["id"])
    assert final["status"] == "closed"
    outbox = api("demo_operator").get("/api/v1/reporter-notices?channel=wechat").get_json()["items"]
    notice = next(n for n in outbox if n["case_id"] == dup["id"])
    assert notice["master_id"] == master["id"] and notice["external_id"] == dup["external_id"]
    assert notice["contact"] == dup["reporter"]["phone"] and notice["reporter_name"] == "李先生"
    assert master["number"] in notice["message"] and "工地已承诺夜间22点后停工" in notice["message"]
    history = api("demo_dispatcher").get(f"/api/v1/cases/{dup['id']}").get_json()["history"]
    assert "reporter_informed" in [e["action"] for e in history]
    # the adapter delivers it once
    assert api("demo_dispatcher").post(f"/api/v1/reporter-notices/{notice['id']}/delivered").status_code == 403
    r = api("demo_operator").post(f"/api/v1/reporter-notices/{notice['id']}/delivered")
    assert r.status_code == 200 and r.get_json()["delivered_at"]
    assert api("demo_operator").post(f"/api/v1/reporter-notices/{notice['id']}/delivered").status_code == 409
    pending = api("demo_operator").get("/api/v1/reporter-notices?channel=wechat").get_json()["items"]
    assert notice["id"] not in [n["id"] for n in pending]
    everything = api("demo_operator").get("/api/v1/reporter-notices?channel=wechat&pending=0").get_json()["items"]
    assert notice["id"] in [n["id"] for n in everything]


def test_the_outbox_checks_its_query_and_its_readers(api: Callable[[str], Any]) -> None:
    assert api("demo_handler").get("/api/v1/reporter-notices").status_code == 403
    r = api("demo_operator").get("/api/v1/reporter-notices?channel=fax&limit=0")
    assert r.status_code == 422 and {"channel", "limit"} <= set(r.get_json()["errors"])
    assert api("demo_operator").post("/api/v1/reporter-notices/999999999/delivered").status_code == 404
