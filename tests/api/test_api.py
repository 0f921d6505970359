"""Every API endpoint, with bad input and permission refusals."""
from __future__ import annotations

import re

from typing import Any, Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.cases.models import Case
from app.core.db import session

Api = Callable[[str], Any]


def _count_cases(app: Flask) -> int:
    with app.app_context():
        return session.scalar(select(func.count(Case.id))) or 0


def _task(case: dict[str, Any], bpmn_id: str | None = None) -> dict[str, Any]:
    tasks = [t for t in case["current_tasks"] if bpmn_id is None or t["bpmn_id"] == bpmn_id]
    assert tasks, case["current_tasks"]
    return tasks[0]


def test_healthz(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_token(client: FlaskClient) -> None:
    ok = client.post("/api/v1/auth/token", json={"username": "demo_operator", "password": "demo"})
    assert ok.status_code == 200 and ok.get_json()["token"]
    assert client.post("/api/v1/auth/token", json={"username": "demo_operator", "password": "nope"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "ghost", "password": "demo"}).status_code == 401
    missing = client.post("/api/v1/auth/token", json={"username": "demo_operator"})
    assert missing.status_code == 422 and "password" in missing.get_json()["errors"]
    not_json = client.post("/api/v1/auth/token", data="username=x", content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 422


def test_calls_without_a_valid_token_are_refused(client: FlaskClient) -> None:
    assert client.get("/api/v1/tasks").status_code == 401
    assert client.get("/api/v1/tasks", headers={"Authorization": "Bearer forged.token"}).status_code == 401
    assert client.post("/api/v1/cases", json={}).status_code == 401


def test_create_case_returns_the_case_with_its_first_task(make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    assert case["status"] == "open" and case["number"].startswith("TG") and case["grid_unit"] == "d1-s1-c1"
    task = _task(case)
    assert task["bpmn_id"] == "verify_on_site" and task["role"] == "grid_worker"
    assert task["org_unit"]["code"] == "d1-s1-c1" and "demo_grid_worker" in task["candidates"]
    assert task["due_at"].endswith("+00:00") and task["claimed_by"] is None
    assert case["history"][0]["action"] == "case_created" and case["history"][0]["actor"] == "demo_operator"


def test_location_finds_the_grid_when_no_unit_is_given(make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(grid_unit=None, lat=31.2, lng=121.4)
    assert case["grid_unit"].startswith("d2-")


@pytest.mark.parametrize("body,field", [
    ({"channel": "fax"}, "channel"),
    ({"title": "x"}, "title"),
    ({"description": ""}, "description"),
    ({"lat": 123.0}, "lat"),
    ({"category_code": "garbage"}, "category_code"),
    ({"reporter": {"name": "李", "phone": "call me"}}, "reporter.phone"),
    ({"surprise": 1}, "surprise"),
    ({"grid_unit": "d1-sz"}, "grid_unit"),
])
def test_bad_case_input_is_refused_and_stores_nothing(app: Flask, api: Api, body: dict[str, Any], field: str) -> None:
    good = {"channel": "hotline", "title": "路灯不亮", "description": "整条路的路灯都不亮", "address": "东湖区新港路"}
    before = _count_cases(app)
    r = api("demo_operator").post("/api/v1/cases", json={**good, **body})
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["errors"]
    assert _count_cases(app) == before


def test_missing_fields_are_listed(api: Api) -> None:
    r = api("demo_operator").post("/api/v1/cases", json={"channel": "hotline"})
    assert r.status_code == 422 and {"title", "description", "address"} <= set(r.get_json()["errors"])
    assert api("demo_operator").post("/api/v1/cases", json=[1, 2]).status_code == 422


def test_idempotency_key_and_external_id_return_the_same_case(app: Flask, api: Api) -> None:
    body = {"channel": "wechat", "title": "垃圾满溢", "description": "垃圾桶满了", "address": "枫林路", "external_id": "wx-778899"}
    first = api("demo_operator").post("/api/v1/cases", json=body)
    again = api("demo_operator").post("/api/v1/cases", json=body)
    assert first.status_code == 201 and again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    before = _count_cases(app)
    body2 = {**body, "external_id": None}
    a = api("demo_operator").post("/api/v1/cases", json=body2, headers={"Idempotency-Key": "k-123"})
    b = api("demo_operator").post("/api/v1/cases", json=body2, headers={"Idempotency-Key": "k-123"})
    assert a.get_json()["id"] == b.get_json()["id"] and _count_cases(app) == before + 1


def test_intake_keys_never_answer_with_another_clients_case(app: Flask, api: Api) -> None:
    """Idempotency keys are the client's own; a channel message id answers only to who may see its case."""
    import uuid
    tag = uuid.uuid4().hex[:8]
    body = {"channel": "wechat", "title": "小区门口垃圾满溢", "description": "垃圾桶满了没人清理", "address": "枫林路 3 号",
            "external_id": f"wx-{tag}", "grid_unit": "d1-s1-c1", "reporter": {"name": "李女士", "phone": "13700001234"}}
    first = api("demo_operator").post("/api/v1/cases", json=body, headers={"Idempotency-Key": f"key-{tag}"})
    assert first.status_code == 201
    case_id = first.get_json()["id"]
    outsider = api("handler_d2_sz")
    assert outsider.get(f"/api/v1/cases/{case_id}").status_code == 403
    # the same Idempotency-Key from another client is another key: its own new case, nothing of the first
    mine = outsider.post("/api/v1/cases", json={**body, "external_id": None}, headers={"Idempotency-Key": f"key-{tag}"})
    assert mine.status_code == 201 and mine.get_json()["id"] != case_id
    # the same channel message id: refused without naming the case or its reporter
    guess = outsider.post("/api/v1/cases", json=body)
    assert guess.status_code == 409 and "external_id" in guess.get_json()["errors"]
    text = guess.get_data(as_text=True)
    assert str(case_id) not in text and "13700001234" not in text and "李女士" not in text
    # the first client: the same request again answers with its case; other content with the same key is refused
    again = api("demo_operator").post("/api/v1/cases", json=body, headers={"Idempotency-Key": f"key-{tag}"})
    assert again.status_code == 200 and again.get_json()["id"] == case_id
    changed = api("demo_operator").post("/api/v1/cases", json={**body, "title": "另一件事"}, headers={"Idempotency-Key": f"key-{tag}"})
    assert changed.status_code == 422 and "Idempotency-Key" in changed.get_json()["errors"]
    changed = api("demo_operator").post("/api/v1/cases", json={**body, "title": "另一件事"})
    assert changed.status_code == 422 and "external_id" in changed.get_json()["errors"]
    # a dispatcher who may see the case gets it for the message id (a channel adapter's retry under another account)
    seen = api("demo_dispatcher").post("/api/v1/cases", json=body)
    assert seen.status_code == 200 and seen.get_json()["id"] == case_id


def test_get_case(api: Api, make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    r = api("demo_dispatcher").get(f"/api/v1/cases/{case['id']}")
    body = r.get_json()
    assert r.status_code == 200 and body["status"] == "open"
    assert {"current_tasks", "history", "status", "title", "reporter"} <= set(body)
    assert api("demo_dispatcher").get("/api/v1/cases/999999").status_code == 404


def test_other_district_cannot_see_or_claim(api: Api, make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(channel="grid")
    outsider = api("handler_d2_sz")
    assert outsider.get(f"/api/v1/cases/{case['id']}").status_code == 403
    task = _task(case)
    assert outsider.get(f"/api/v1/tasks/{task['id']}").status_code == 403
    assert outsider.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 403
    # the same holds for the handling step: a d1 department task is out of reach for d2
    dispatcher = api("demo_dispatcher")
    dispatcher.claim_and_complete(task["id"], {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"})
    triage = _task(dispatcher.get(f"/api/v1/cases/{case['id']}").get_json(), "triage")
    r = dispatcher.claim_and_complete(triage["id"], {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": "4h"})
    assert r.status_code == 200, r.get_json()
    handle = _task(r.get_json(), "handle_case")
    assert handle["org_unit"]["code"] == "d1-sz"
    assert outsider.post(f"/api/v1/tasks/{handle['id']}/claim").status_code == 403
    assert all(t["id"] != handle["id"] for t in outsider.get("/api/v1/tasks?scope=claimable&limit=500").get_json()["tasks"])
    assert api("demo_handler").get(f"/api/v1/tasks/{handle['id']}").status_code == 200


def test_inbox_scopes(api: Api, make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(channel="grid")
    task = _task(case)
    me = api("demo_dispatcher")
    claimable = me.get("/api/v1/tasks?scope=claimable&limit=500&sort=-created").get_json()["tasks"]
    assert task["id"] in [t["id"] for t in claimable]
    me.post(f"/api/v1/tasks/{task['id']}/claim")
    mine = me.get("/api/v1/tasks?scope=mine&limit=500").get_json()["tasks"]
    assert task["id"] in [t["id"] for t in mine] and all(t["claimed_by"] == "demo_dispatcher" for t in mine)
    assert task["id"] not in [t["id"] for t in me.get("/api/v1/tasks?scope=claimable&limit=500").get_json()["tasks"]]
    assert me.get("/api/v1/tasks?scope=everything").status_code == 422
    assert me.get("/api/v1/tasks?limit=many").status_code == 422
    grid = api("demo_grid_worker").get("/api/v1/tasks?scope=claimable&limit=500").get_json()["tasks"]
    assert all(t["role"] == "grid_worker" for t in grid)


def test_task_detail_has_its_form(api: Api, make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(channel="grid")
    r = api("demo_dispatcher").get(f"/api/v1/tasks/{_task(case)['id']}")
    body = r.get_json()
    assert r.status_code == 200 and body["form"]["type"] == "object"
    assert "decision" in body["form"]["properties"] and "d1-s1-c1" in body["form"]["properties"]["grid_unit"]["enum"]
    assert api("demo_dispatcher").get("/api/v1/tasks/999999").status_code == 404


def test_claim_unclaim_and_conflicts(api: Api, make_case: Callable[..., dict[str, Any]]) -> None:
    task_id = _task(make_case(channel="grid"))["id"]
    first, second = api("demo_dispatcher"), api("dispatcher_2")
    assert first.post(f"/api/v1/tasks/{task_id}/claim").get_json()["claimed_by"] == "demo_dispatcher"
    assert first.post(f"/api/v1/tasks/{task_id}/claim").status_code == 200  # claiming again is harmless
    taken = second.post(f"/api/v1/tasks/{task_id}/claim")
    assert taken.status_code == 409 and taken.get_json()["claimed_by"] == "demo_dispatcher"
    assert second.post(f"/api/v1/tasks/{task_id}/unclaim").status_code == 409
    assert second.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "file"}}).status_code == 409
    released = first.post(f"/api/v1/tasks/{task_id}/unclaim")
    assert released.status_code == 200 and released.get_json()["claimed_by"] is None
    assert second.post(f"/api/v1/tasks/{task_id}/claim").status_code == 200


def test_complete_validates_and_changes_nothing_on_error(api: Api, make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case(channel="grid")
    task_id = _task(case)["id"]
    me = api("demo_dispatcher")
    assert me.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "file"}}).status_code == 409  # not claimed
    me.post(f"/api/v1/tasks/{task_id}/claim")
    for data, field in (({"decision": "maybe"}, "decision"), ({"decision": "file", "bogus": 1}, "bogus"),
                        ({"decision": "file"}, "grid_unit"), ({"decision": "file", "grid_unit": "d1-sz"}, "grid_unit")):
        r = me.post(f"/api/v1/tasks/{task_id}/complete", json={"data": data})
        assert r.status_code == 422 and field in r.get_json()["errors"], r.get_json()
    assert me.post(f"/api/v1/tasks/{task_id}/complete", json={"nodata": 1}).status_code == 422
    after = me.get(f"/api/v1/cases/{case['id']}").get_json()
    assert [t["id"] for t in after["current_tasks"]] == [task_id]
    assert not [e for e in after["history"] if e["action"] == "task_completed"]
    ok = me.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"}})
    assert ok.status_code == 200 and ok.get_json()["current_tasks"][0]["bpmn_id"] == "triage"
    assert me.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"decision": "file"}}).status_code == 409


def test_openapi_describes_every_path(client: FlaskClient) -> None:
    from openapi_spec_validator import validate
    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)
    paths = set(doc["paths"])
    assert {"/api/v1/auth/token", "/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/tasks", "/api/v1/tasks/{task_id}",
            "/api/v1/tasks/{task_id}/claim", "/api/v1/tasks/{task_id}/unclaim", "/api/v1/tasks/{task_id}/complete"} <= paths
    # and every route the API serves, with each of its methods
    served = {(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
              for rule in client.application.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    described = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert served <= described, sorted(served - described)


def test_answers_have_exactly_the_documented_fields(api: Api, make_case: Callable[..., dict[str, Any]]) -> None:
    from app.api import schemas
    case = make_case()
    assert set(case) == set(schemas.CaseSchema().fields)
    assert set(case["current_tasks"][0]) == set(schemas.TaskSchema().fields)
    detail = api("demo_grid_worker").get(f"/api/v1/tasks/{case['current_tasks'][0]['id']}").get_json()
    assert set(detail) == set(schemas.TaskDetailSchema().fields)
    assert set(case["history"][0]) == set(schemas.HistoryEventSchema().fields)
    # the schema loads what the API wrote (types and formats agree)
    schemas.CaseSchema().load({k: v for k, v in case.items()})


def test_intake_without_a_deployed_process_is_a_clear_503(app: Flask, api: Api, monkeypatch: Any) -> None:
    monkeypatch.setattr(app.config["SETTINGS"], "CASE_PROCESS_ID", "never_deployed")
    before = _count_cases(app)
    r = api("demo_operator").post("/api/v1/cases", json={"channel": "hotline", "title": "路灯不亮",
                                                         "description": "整条路不亮", "address": "新港路"})
    assert r.status_code == 503 and "never_deployed" in r.get_json()["message"]
    assert _count_cases(app) == before
