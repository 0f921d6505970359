"""The diff of a draft against the deployed bundle (app/designer/diff.py, POST /api/v1/processes/diff)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.designer.test_testrun import LOOP, REVIEW_DRAFT

ROOT = Path(__file__).resolve().parents[2]
TIER = (ROOT / "rules" / "starting_tier.dmn").read_text(encoding="utf-8")
TRIAGE_FORM = (ROOT / "forms" / "triage.json").read_text(encoding="utf-8")
URL = "/api/v1/processes/diff"


def diff(api: Callable[[str], Any], files: dict[str, str], user: str = "demo_designer") -> dict[str, Any]:
    r = api(user).post(URL, json={"files": files})
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def only(answer: dict[str, Any]) -> dict[str, Any]:
    assert len(answer["files"]) == 1
    return answer["files"][0]  # type: ignore[no-any-return]


def test_the_deployed_files_themselves_change_nothing(api: Callable[[str], Any]) -> None:
    answer = diff(api, {"processes/seven_step_loop.bpmn": LOOP, "rules/starting_tier.dmn": TIER})
    assert answer["changed"] is False and {f["status"] for f in answer["files"]} == {"unchanged"}


def test_layout_alone_is_no_change(api: Callable[[str], Any]) -> None:
    moved = LOOP.replace('<dc:Bounds x="', '<dc:Bounds x="1', 1)
    assert moved != LOOP
    entry = only(diff(api, {"processes/seven_step_loop.bpmn": moved}))
    assert entry["status"] == "unchanged" and entry["parts"] == []


def test_a_renamed_task_is_changed_with_its_name_before_and_after(api: Callable[[str], Any]) -> None:
    renamed = LOOP.replace('<bpmn:userTask id="file_case" name="核实立案">', '<bpmn:userTask id="file_case" name="立案审核">')
    entry = only(diff(api, {"processes/seven_step_loop.bpmn": renamed}))
    assert entry["status"] == "changed" and entry["elements"] == {"added": [], "removed": [], "changed": ["file_case"]}
    part = entry["parts"][0]
    assert part["id"] == "seven_step_loop" and part["status"] == "changed"
    assert part["changed"] == [{"id": "file_case", "type": "userTask", "name": "立案审核",
                                "changes": [{"field": "name", "before": "核实立案", "after": "立案审核"}]}]


def test_an_added_step_is_added_with_its_flow_and_the_rerouted_flow_changed(api: Callable[[str], Any]) -> None:
    answer = diff(api, REVIEW_DRAFT)
    form, bpmn = answer["files"]  # sorted by file name
    assert form == {**form, "file": "forms/review_case.json", "kind": "form", "status": "added"}
    assert set(form["elements"]["added"]) == {"review_notes"}
    assert bpmn["file"] == "processes/seven_step_loop.bpmn"
    assert sorted(bpmn["elements"]["added"]) == ["flow_review_file", "review_case"]
    assert bpmn["elements"]["changed"] == ["flow_verified_file"] and bpmn["elements"]["removed"] == []
    part = bpmn["parts"][0]
    added = {e["id"]: e for e in part["added"]}
    assert added["review_case"] == {"id": "review_case", "type": "userTask", "name": "复核"}
    (flow,) = part["changed"]
    assert flow["changes"] == [{"field": "targetRef", "before": "file_case", "after": "review_case"}]


def test_properties_lanes_scripts_conditions_and_timers_are_changes(api: Callable[[str], Any]) -> None:
    draft = (LOOP.replace('<spiffworkflow:property name="limit" value="\'1h\'" />\n          <spiffworkflow:property name="stage" value="verify" />',
                          '<spiffworkflow:property name="limit" value="\'2h\'" />\n          <spiffworkflow:property name="stage" value="verify" />')
             .replace("max_reopen = 2", "max_reopen = 3"))
    tier = (ROOT / "processes" / "tier_handling.bpmn").read_text(encoding="utf-8")
    tier_draft = tier.replace("deadline('yellow')", "deadline('due')")
    answer = diff(api, {"processes/seven_step_loop.bpmn": draft, "processes/tier_handling.bpmn": tier_draft})
    loop, handling = answer["files"]
    changes = {e["id"]: e["changes"] for e in loop["parts"][0]["changed"]}
    assert changes["file_case"] == [{"field": "property:limit", "before": "'1h'", "after": "'2h'"}]
    assert changes["init_case"][0]["field"] == "script" and "max_reopen = 3" in changes["init_case"][0]["after"]
    assert handling["elements"]["changed"] == ["handle_turns_yellow"]
    (timer,) = handling["parts"][0]["changed"]
    assert timer["changes"] == [{"field": "timer", "before": "timeDate: deadline('yellow')", "after": "timeDate: deadline('due')"}]


def test_a_removed_task_and_a_moved_lane_and_a_changed_condition(api: Callable[[str], Any]) -> None:
    draft = LOOP.replace("<bpmn:flowNodeRef>count_rework</bpmn:flowNodeRef>", "")
    draft = draft.replace("<bpmn:flowNodeRef>inspect_case</bpmn:flowNodeRef>",
                          "<bpmn:flowNodeRef>inspect_case</bpmn:flowNodeRef><bpmn:flowNodeRef>count_rework</bpmn:flowNodeRef>")
    start = draft.index('<bpmn:scriptTask id="mark_closed"')
    end = draft.index("</bpmn:scriptTask>", start) + len("</bpmn:scriptTask>")
    draft = draft[:start] + draft[end:]
    entry = only(diff(api, {"processes/seven_step_loop.bpmn": draft}))
    assert "mark_closed" in entry["elements"]["removed"]
    changes = {e["id"]: e["changes"] for e in entry["parts"][0]["changed"]}
    assert changes["count_rework"] == [{"field": "lane", "before": "处置人员 (handler)", "after": "网格员 (grid_worker)"},
                                       {"field": "role", "before": "handler", "after": "grid_worker"}]


def test_a_renamed_lane_keeps_its_role(api: Callable[[str], Any]) -> None:
    draft = LOOP.replace('name="受理员 (operator)"', 'name="接线受理员 (operator)"')
    entry = only(diff(api, {"processes/seven_step_loop.bpmn": draft}))
    changes = {e["id"]: e["changes"] for e in entry["parts"][0]["changed"]}
    assert changes["lane_operator"] == [{"field": "name", "before": "受理员 (operator)", "after": "接线受理员 (operator)"}]
    assert changes["callback_case"] == [{"field": "lane", "before": "受理员 (operator)", "after": "接线受理员 (operator)"}]


def test_dmn_rules_and_form_fields(api: Callable[[str], Any]) -> None:
    start = TIER.index('<rule id="tier_rule_02">')
    end = TIER.index("</rule>", start) + len("</rule>")
    dmn = TIER[:start] + TIER[end:]
    dmn = dmn.replace("<text>'district'</text>", "<text>'street'</text>", 1)
    form = json.loads(TRIAGE_FORM)
    form["properties"]["handling_limit"]["title"] = "处置时限（工作时间）"
    del form["properties"]["triage_notes"]
    form["properties"]["urgent_reason"] = {"type": "string", "title": "加急理由"}
    answer = diff(api, {"rules/starting_tier.dmn": dmn, "forms/triage.json": json.dumps(form, ensure_ascii=False)})
    forms, rules = answer["files"]
    assert rules["kind"] == "dmn" and rules["parts"][0]["id"] == "starting_tier"
    assert rules["elements"]["removed"] == ["tier_rule_02"]
    assert "starting_tier" in rules["elements"]["changed"]  # the order of its rules
    changed_rule = [e for e in rules["parts"][0]["changed"] if e["type"] == "rule"]
    assert changed_rule and changed_rule[0]["changes"][0]["field"] == "outputs"
    assert forms["elements"] == {"added": ["urgent_reason"], "removed": ["triage_notes"], "changed": ["handling_limit"]}


def test_a_file_that_does_not_parse_gets_its_error_not_a_500(api: Callable[[str], Any]) -> None:
    answer = diff(api, {"rules/starting_tier.dmn": "<definitions", "forms/triage.json": "{",
                        "processes/evil.bpmn": '<!DOCTYPE x [<!ENTITY e "x">]><x/>'})
    errors = {f["file"]: f["error"] for f in answer["files"]}
    assert all(errors.values()), errors
    assert "DOCTYPE" in errors["processes/evil.bpmn"]


@pytest.mark.parametrize("body", [{"files": {"other/x.bpmn": ""}}, {"files": "x"}, {"files": {"forms/a.json": None}}, []])
def test_bad_input_is_a_422(api: Callable[[str], Any], body: Any) -> None:
    r = api("demo_designer").post(URL, json=body)
    assert r.status_code == 422 and r.get_json()["errors"]


def test_only_designers_and_admins(api: Callable[[str], Any]) -> None:
    assert api("demo_admin").post(URL, json={"files": {}}).status_code == 200
    for user in ("demo_operator", "demo_dispatcher", "demo_handler"):
        assert api(user).post(URL, json={"files": {}}).status_code == 403
