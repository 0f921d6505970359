"""The 改派 pickers' JSON (GET /api/v1/tasks/<id>/reassign-options, and the same answer for the
task page's script): scoped by the caller's supervision, people resolved through inherited role
assignments, and the rules POST …/reassign keeps (a person without the role is a 422)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from app.api.schemas import ReassignOptionsSchema

Api = Callable[[str], Any]


@pytest.fixture()
def handling(api: Api, make_case: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    """A handle_case task at d1-sz, claimed by demo_handler."""
    case = make_case(channel="grid")
    r = api("demo_dispatcher").claim_and_complete(case["current_tasks"][0]["id"],
                                                  {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"})
    r = api("demo_dispatcher").claim_and_complete(r.get_json()["current_tasks"][0]["id"],
                                                  {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": "4h"})
    assert r.status_code == 200, r.get_json()
    [task] = [x for x in r.get_json()["current_tasks"] if x["bpmn_id"] == "handle_case"]
    assert api("demo_handler").post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    return task  # type: ignore[no-any-return]


def unit_codes(body: dict[str, Any]) -> list[str]:
    return [u["code"] for g in body["groups"] for u in g["units"]]


def test_only_supervisors_over_the_task_get_the_choices(api: Api, handling: dict[str, Any]) -> None:
    url = f"/api/v1/tasks/{handling['id']}/reassign-options"
    assert api("demo_handler").get(url).status_code == 403  # holds the task, supervises nothing
    assert api("supervisor_d2").get(url).status_code == 403  # supervises another district
    assert api("supervisor_d1_s1").get(url).status_code == 403  # a street's supervisor: the bureau is above it
    assert api("demo_supervisor").get("/api/v1/tasks/2147483647/reassign-options").status_code == 404
    assert api("demo_supervisor").client.get(url).status_code == 401  # no token


def test_units_are_those_of_the_callers_supervision_where_someone_holds_the_role(
        api: Api, handling: dict[str, Any]) -> None:
    url = f"/api/v1/tasks/{handling['id']}/reassign-options"
    r = api("supervisor_d1").get(url)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert ReassignOptionsSchema().validate(body) == {}
    assert body["role"] == "handler" and body["current_unit"] == "d1-sz" and body["current_user"] == "demo_handler"
    offered = unit_codes(body)
    assert "d1-hw" in offered and "d1-s1" in offered and "d1-s1-c1" in offered
    assert all(c == "d1" or c.startswith("d1-") for c in offered)  # nothing outside the district
    assert "d1" not in offered  # nobody holds the handler role at the district itself
    assert [g["label"] for g in body["groups"]] == ["东湖区"]
    depth = {u["code"]: u["depth"] for g in body["groups"] for u in g["units"]}
    assert depth["d1-sz"] == 0 and depth["d1-s1"] == 0 and depth["d1-s1-c1"] == 1
    # the people of the task's own unit by default, the current holder marked
    assert body["unit"]["code"] == "d1-sz"
    assert {p["username"]: p["current"] for p in body["people"]} == {"demo_handler": True}
    city = unit_codes(api("demo_supervisor").get(url).get_json())
    assert "d2-sz" in city and "city-hw" in city and len(city) > len(offered)


def test_people_hold_the_role_at_the_unit_or_above_it(api: Api, handling: dict[str, Any]) -> None:
    url = f"/api/v1/tasks/{handling['id']}/reassign-options"
    body = api("supervisor_d1").get(url, query_string={"unit": "d1-hw"}).get_json()
    assert body["unit"] == {"code": "d1-hw", "name": "东湖区环境卫生局", "kind": "department"}
    assert [p["username"] for p in body["people"]] == ["handler_d1_hw"]
    # the street's handler holds the role over its communities too (assignments cover the subtree)
    people = {p["username"] for p in api("supervisor_d1").get(url, query_string={"unit": "d1-s1-c1"}).get_json()["people"]}
    assert people == {"handler_d1_s1_c1", "handler_d1_s1"}
    en = api("supervisor_d1").get(url, query_string={"unit": "d1-hw"}, headers={"Accept-Language": "en"}).get_json()
    assert en["groups"][0]["label"] == "Donghu District"


def test_a_unit_outside_the_supervision_is_refused_and_an_unknown_one_not_found(api: Api, handling: dict[str, Any]) -> None:
    url = f"/api/v1/tasks/{handling['id']}/reassign-options"
    r = api("supervisor_d1").get(url, query_string={"unit": "d2-sz"})
    assert r.status_code == 403 and "unit" in r.get_json()["errors"]
    r = api("supervisor_d1").get(url, query_string={"unit": "nowhere"})
    assert r.status_code == 404 and "unit" in r.get_json()["errors"]
    assert api("supervisor_d1").get(url, query_string={"unit": "d1\x00"}).status_code == 422
    assert api("supervisor_d1").get(url, query_string={"unit": "x" * 65}).status_code == 422


def test_the_choices_and_reassign_keep_the_same_rules(api: Api, handling: dict[str, Any]) -> None:
    options = f"/api/v1/tasks/{handling['id']}/reassign-options"
    url = f"/api/v1/tasks/{handling['id']}/reassign"
    # someone not listed for the unit: the reassignment says so on the field, nothing changes
    r = api("supervisor_d1").post(url, json={"unit": "d1-hw", "user": "handler_d1_jt", "reason": "改派"})
    assert r.status_code == 422 and "user" in r.get_json()["errors"]
    assert api("supervisor_d1").get(f"/api/v1/tasks/{handling['id']}").get_json()["org_unit"]["code"] == "d1-sz"
    # nothing to change: the same unit and nobody else
    r = api("supervisor_d1").post(url, json={"unit": "d1-sz", "reason": "改派"})
    assert r.status_code == 422 and "user" in r.get_json()["errors"]
    r = api("supervisor_d1").post(url, json={"user": "demo_handler", "reason": "改派"})
    assert r.status_code == 422 and "user" in r.get_json()["errors"]
    # a person the pickers list: done, and the choices follow
    [person] = api("supervisor_d1").get(options, query_string={"unit": "d1-hw"}).get_json()["people"]
    r = api("supervisor_d1").post(url, json={"unit": "d1-hw", "user": person["username"], "reason": "属环卫职责"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["org_unit"]["code"] == "d1-hw" and r.get_json()["claimed_by"] == "handler_d1_hw"
    body = api("supervisor_d1").get(options).get_json()
    assert body["current_unit"] == "d1-hw" and body["people"] == [
        {"username": "handler_d1_hw", "display_name": body["people"][0]["display_name"], "current": True}]


def test_an_ended_task_has_no_choices(app: Flask, api: Api, handling: dict[str, Any]) -> None:
    handler = api("demo_handler")
    r = handler.post(f"/api/v1/tasks/{handling['id']}/complete",
                     json={"data": handler.with_photos(handling["id"], {"handling_notes": "已处理"})})
    assert r.status_code == 200, r.get_json()
    assert api("demo_supervisor").get(f"/api/v1/tasks/{handling['id']}/reassign-options").status_code == 409


def test_the_openapi_document_describes_the_pickers(client: Any) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    operation = doc["paths"]["/api/v1/tasks/{task_id}/reassign-options"]["get"]
    assert operation["operationId"] == "reassignOptions"
    assert {"200", "401", "403", "404", "409", "422"} <= set(operation["responses"])
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ReassignOptions")
    assert {"groups", "people", "unit"} <= set(doc["components"]["schemas"]["ReassignOptions"]["properties"])
