"""Test runs of a draft (app/designer/testrun.py): the same engine, sandbox and forms as live
cases, and nothing of it in the real tables (cases, tasks, audit trail, notifications, timers)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from app.core.db import session, transaction, utcnow
from app.designer.testrun_models import TestRun

ROOT = Path(__file__).resolve().parents[2]
LOOP = (ROOT / "processes" / "seven_step_loop.bpmn").read_text(encoding="utf-8")
URL = "/api/v1/processes/test-runs"
START = {"grid_unit": "d1-s1-c1", "category_code": "component:01002"}

REVIEW_FORM = json.dumps({"type": "object", "title": "复核", "properties": {
    "review_notes": {"type": "string", "title": "复核意见", "maxLength": 200}}, "required": ["review_notes"]},
    ensure_ascii=False)
REVIEW_TASK = """    <bpmn:userTask id="review_case" name="复核">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="form" value="review_case.json" />
          <spiffworkflow:property name="unit" value="dispatch_unit" />
          <spiffworkflow:property name="limit" value="'2h'" />
          <spiffworkflow:property name="stage" value="verify" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="flow_review_file" sourceRef="review_case" targetRef="file_case" />
"""


def with_review_step(bpmn: str = LOOP) -> str:
    """The shipped loop with a step 复核 (review_case, dispatcher) between 现场核实 and 核实立案."""
    out = bpmn.replace('<bpmn:sequenceFlow id="flow_verified_file" sourceRef="verify_on_site" targetRef="file_case" />',
                       '<bpmn:sequenceFlow id="flow_verified_file" sourceRef="verify_on_site" targetRef="review_case" />\n'
                       + REVIEW_TASK)
    out = out.replace("<bpmn:flowNodeRef>file_case</bpmn:flowNodeRef>",
                      "<bpmn:flowNodeRef>file_case</bpmn:flowNodeRef>\n        <bpmn:flowNodeRef>review_case</bpmn:flowNodeRef>")
    assert out.count("review_case") == 5  # the task (id + form), two flows, the lane
    return out


REVIEW_DRAFT = {"processes/seven_step_loop.bpmn": with_review_step(), "forms/review_case.json": REVIEW_FORM}

#: the form data of each step of the seven-step loop (photos are left out in a test run)
STEPS = {
    "verify_on_site": {"confirmed": True},
    "review_case": {"review_notes": "已复核"},
    "file_case": {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"},
    "triage": {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": "4h"},
    "handle_case": {"handling_notes": "已更换井盖"},
    "report_back": {"result": "resolved", "result_notes": "已更换井盖"},
    "inspect_case": {"passed": True},
    "callback_case": {"satisfied": True, "score": 5, "reached": True},
}


def counts() -> dict[str, int]:
    tables = ("cases", "tasks", "workflow_instances", "incidents", "audit_events", "notifications", "process_definitions")
    return {t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def step(designer: Any, run: dict[str, Any], element: str, data: dict[str, Any] | None = None) -> Any:
    waiting = [w for w in run["waiting"] if w["element"] == element]
    assert waiting, (element, [w["element"] for w in run["waiting"]], run["error"])
    return designer.post(f"{URL}/{run['id']}/tasks/{waiting[0]['id']}", json={"data": STEPS[element] if data is None else data})


def walk(designer: Any, run: dict[str, Any], elements: list[str]) -> dict[str, Any]:
    for element in elements:
        r = step(designer, run, element)
        assert r.status_code == 200, r.get_json()
        run = r.get_json()
        assert run["error"] is None, run["error"]
    return run


LOOP_STEPS = ["verify_on_site", "review_case", "file_case", "triage", "handle_case", "report_back", "inspect_case",
              "callback_case"]


def test_a_draft_with_an_added_step_walks_the_loop_with_that_step(app: Flask, api: Callable[[str], Any]) -> None:
    from app.engine import definitions
    designer = api("demo_designer")
    with app.app_context():
        before = counts()
    versions = set(definitions._cache)
    r = designer.post(URL, json={"files": REVIEW_DRAFT, "data": START})
    assert r.status_code == 201, r.get_json()
    run = r.get_json()
    assert run["status"] == "waiting" and [w["element"] for w in run["waiting"]] == ["verify_on_site"]
    first = run["waiting"][0]
    assert first["role"] == "grid_worker" and first["unit"]["code"] == "d1-s1-c1" and first["limit"] == "1h"
    assert first["form"]["type"] == "object" and "confirmed" in first["form"]["properties"]  # JSON Schema to render
    assert first["photo_fields"] == ["site_photos"] and first["file"] == "processes/seven_step_loop.bpmn"
    assert first["flow"] == "flow_need_verify" and first["documentation"].startswith("请到现场核实")

    r = designer.post(f"{URL}/{run['id']}/tasks/{first['id'].upper()}", json={"data": STEPS["verify_on_site"]})
    assert r.status_code == 200, r.get_json()
    run = walk(designer, r.get_json(), LOOP_STEPS[1:2])
    assert [w["element"] for w in run["waiting"]] == ["file_case"]
    run = walk(designer, run, LOOP_STEPS[2:4])
    handle = run["waiting"][0]
    assert handle["element"] == "handle_case" and handle["process"] == "tier_handling" and handle["unit"]["code"] == "d1-sz"
    assert handle["file"] == "processes/tier_handling.bpmn"
    assert {t["element"] for t in run["timers"]} == {"handle_turns_yellow", "handle_turns_red"}
    assert all(t["at"] for t in run["timers"])  # armed from the working-time deadline, as live
    run = walk(designer, run, LOOP_STEPS[4:])
    assert run["status"] == "completed" and run["waiting"] == [] and run["data"]["outcome"] == "closed"

    path = [p["element"] for p in run["path"]]
    users = [e for e in path if e in STEPS]
    assert users == LOOP_STEPS  # the added step, in its place
    assert path.index("verify_on_site") < path.index("review_case") < path.index("file_case")
    assert {"starting_tier", "propose_dispatch", "case_closed"} <= set(path)  # DMN and end event ran
    assert "review_case" in run["elements"]["completed"]
    flows = {p["element"]: p["flow"] for p in run["path"]}
    assert flows["review_case"] == "flow_verified_file" and flows["file_case"] == "flow_review_file"
    assert flows["case_received"] is None  # a start: no flow led there
    assert {"flow_verified_file", "flow_review_file", "flow_need_verify"} <= set(run["elements"]["flows"])
    assert "flow_skip_verify" not in run["elements"]["flows"]  # the branch not taken
    assert [s["element"] for s in run["steps"]] == LOOP_STEPS
    assert run["steps"][0]["data"]["site_photos"] == []  # photo fields are left empty

    r = designer.get(f"{URL}/{run['id']}")
    assert r.status_code == 200 and r.get_json()["path"] == run["path"]
    with app.app_context():
        assert counts() == before  # no case, task, workflow, incident, audit event or notification
    assert set(definitions._cache) <= versions  # the draft is not among the versions cases run on


def test_without_files_it_runs_the_deployed_bundle(api: Callable[[str], Any]) -> None:
    r = api("demo_admin").post(URL, json={"data": START})
    assert r.status_code == 201
    run = walk(api("demo_admin"), r.get_json(), ["verify_on_site"])
    assert [w["element"] for w in run["waiting"]] == ["file_case"]  # no review step live


def test_the_form_checks_the_data_as_the_inbox_does(app: Flask, api: Callable[[str], Any]) -> None:
    designer = api("demo_designer")
    run = designer.post(URL, json={"data": START}).get_json()
    r = step(designer, run, "verify_on_site", {"confirmed": "yes", "nonsense": 1})
    assert r.status_code == 422
    errors = r.get_json()["errors"]
    assert set(errors) == {"confirmed", "nonsense"}
    r = step(designer, run, "verify_on_site", {"confirmed": False})  # the form's if/then: notes required
    assert r.status_code == 422 and "verify_notes" in r.get_json()["errors"]
    r = step(designer, run, "verify_on_site", {"confirmed": True, "site_photos": [1]})
    assert r.status_code == 422 and "site_photos" in r.get_json()["errors"]
    again = designer.get(f"{URL}/{run['id']}").get_json()
    assert again["steps"] == [] and again["waiting"] == run["waiting"]  # nothing changed
    r = designer.post(f"{URL}/{run['id']}/tasks/00000000-0000-0000-0000-000000000000", json={"data": {}})
    assert r.status_code == 409
    r = designer.post(f"{URL}/{run['id']}/tasks/not-a-uuid", json={"data": {}})
    assert r.status_code == 409


def test_effects_are_listed_not_carried_out_and_failures_are_shown(app: Flask, api: Callable[[str], Any]) -> None:
    designer = api("demo_designer")
    with app.app_context():
        before = counts()
    reminding = LOOP.replace("outcome = None</bpmn:script>",
                             "outcome = None\nsupervise('verify_on_site', '试运行督办')</bpmn:script>")
    r = designer.post(URL, json={"files": {"processes/seven_step_loop.bpmn": reminding}, "data": START})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["effects"] == [{"kind": "supervise", "task_bpmn_id": "verify_on_site", "message": "试运行督办"}]

    failing = LOOP.replace("outcome = None</bpmn:script>", "outcome = None\nx = 1 / 0</bpmn:script>")
    r = designer.post(URL, json={"files": {"processes/seven_step_loop.bpmn": failing}, "data": START})
    assert r.status_code == 201
    run = r.get_json()
    assert run["status"] == "failed" and run["error"]["element"] == "init_case"
    assert "ZeroDivisionError" in run["error"]["message"] and run["elements"]["error"] == "init_case"
    assert designer.post(f"{URL}/{run['id']}/tasks/00000000-0000-0000-0000-000000000000",
                         json={"data": {}}).status_code == 409

    # a failure on a later step keeps the run where it was
    late = LOOP.replace("<bpmn:sequenceFlow id=\"flow_verified_file\" sourceRef=\"verify_on_site\" targetRef=\"file_case\" />",
                        "<bpmn:sequenceFlow id=\"flow_verified_file\" sourceRef=\"verify_on_site\" targetRef=\"boom\" />\n"
                        "<bpmn:scriptTask id=\"boom\" name=\"出错\"><bpmn:script>y = undefined_name + 1</bpmn:script>"
                        "</bpmn:scriptTask>\n<bpmn:sequenceFlow id=\"flow_boom\" sourceRef=\"boom\" targetRef=\"file_case\" />")
    late = late.replace("<bpmn:flowNodeRef>file_case</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>file_case</bpmn:flowNodeRef><bpmn:flowNodeRef>boom</bpmn:flowNodeRef>")
    run = designer.post(URL, json={"files": {"processes/seven_step_loop.bpmn": late}, "data": START}).get_json()
    r = step(designer, run, "verify_on_site")
    assert r.status_code == 200
    after = r.get_json()
    assert after["error"]["element"] == "boom" and after["status"] == "waiting"
    assert [w["element"] for w in after["waiting"]] == ["verify_on_site"] and after["steps"] == []
    with app.app_context():
        assert counts() == before


def test_the_same_sandbox_refuses_a_draft_script(api: Callable[[str], Any]) -> None:
    evil = LOOP.replace("outcome = None</bpmn:script>", "outcome = __import__('os').system('id')</bpmn:script>")
    r = api("demo_designer").post(URL, json={"files": {"processes/seven_step_loop.bpmn": evil}, "data": START})
    assert r.status_code == 422
    body = r.get_json()
    assert any("__import__" in p["message"] and p["severity"] == "error" for p in body["problems"])
    assert any("__import__" in m for m in body["errors"]["files"])


@pytest.mark.parametrize("body, field", [
    ({"files": {"x.bpmn": "<x/>"}}, "files.x.bpmn"),
    ({"files": {"processes/a.bpmn": 3}}, "files.processes/a.bpmn.value"),
    ({"files": [], "data": {}}, "files"),
    ({"data": {"grid_unit": "nowhere"}}, "data.grid_unit"),
    ({"data": {"channel": "fax"}}, "data.channel"),
    ({"data": {"urgency": "soon"}}, "data.urgency"),
    ({"data": {"category_code": "0600"}}, "data.category_code"),
    ({"data": {"_secret": 1}}, "data._secret"),
    ({"data": []}, "data"),
])
def test_bad_input_is_a_422_with_the_field(api: Callable[[str], Any], body: dict[str, Any], field: str) -> None:
    r = api("demo_designer").post(URL, json=body)
    assert r.status_code == 422, r.get_json()
    assert any(k == field or k.startswith(field) for k in r.get_json()["errors"]), r.get_json()


def test_a_broken_draft_is_refused_with_its_problems(api: Callable[[str], Any]) -> None:
    r = api("demo_designer").post(URL, json={"files": {"rules/starting_tier.dmn": "<definitions"}})
    assert r.status_code == 422
    assert "rules/starting_tier.dmn" in [p["file"] for p in r.get_json()["problems"]]
    r = api("demo_designer").post(URL, data="not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422


def test_only_designers_and_admins_and_only_their_own_runs(app: Flask, api: Callable[[str], Any]) -> None:
    run = api("demo_designer").post(URL, json={"data": START}).get_json()
    task = run["waiting"][0]["id"]
    for user in ("demo_operator", "demo_supervisor", "demo_leader"):
        assert api(user).post(URL, json={"data": START}).status_code == 403
        assert api(user).get(f"{URL}/{run['id']}").status_code == 403
        assert api(user).post(f"{URL}/{run['id']}/tasks/{task}", json={"data": {}}).status_code == 403
        assert api(user).client.delete(f"{URL}/{run['id']}", headers=api(user).headers).status_code == 403
        assert api(user).post("/api/v1/processes/diff", json={"files": {}}).status_code == 403
    admin = api("demo_admin")
    assert admin.get(f"{URL}/{run['id']}").status_code == 404  # another's run is not disclosed
    assert admin.post(f"{URL}/{run['id']}/tasks/{task}", json={"data": STEPS["verify_on_site"]}).status_code == 404
    assert admin.client.delete(f"{URL}/{run['id']}", headers=admin.headers).status_code == 404
    assert app.test_client().get(f"{URL}/{run['id']}").status_code == 401
    designer = api("demo_designer")
    assert designer.client.delete(f"{URL}/{run['id']}", headers=designer.headers).status_code == 200
    assert designer.get(f"{URL}/{run['id']}").status_code == 404


def test_runs_expire_and_are_cleaned_up(app: Flask, api: Callable[[str], Any]) -> None:
    designer = api("demo_designer")
    old = designer.post(URL, json={"data": START}).get_json()
    with app.app_context(), transaction():
        session.get(TestRun, old["id"]).expires_at = utcnow() - timedelta(seconds=1)
    assert designer.get(f"{URL}/{old['id']}").status_code == 404
    assert designer.post(URL, json={"data": START}).status_code == 201  # starting a run deletes the expired ones
    with app.app_context():
        session.remove()  # (SQLite may give the new run the freed id: look for the expired row itself)
        assert session.scalar(select(func.count()).select_from(TestRun).where(TestRun.expires_at <= utcnow())) == 0


def test_a_designer_keeps_a_bounded_number_of_runs(app: Flask, api: Callable[[str], Any]) -> None:
    from app.designer.testrun import MAX_RUNS_PER_OWNER
    designer = api("demo_designer")
    ids = [designer.post(URL, json={"data": START}).get_json()["id"] for _ in range(MAX_RUNS_PER_OWNER + 2)]
    with app.app_context():
        owner = session.get(TestRun, ids[-1]).owner_id
        kept = session.scalar(select(func.count()).select_from(TestRun).where(TestRun.owner_id == owner))
    assert kept == MAX_RUNS_PER_OWNER
    assert designer.get(f"{URL}/{ids[0]}").status_code == 404 and designer.get(f"{URL}/{ids[-1]}").status_code == 200


def test_a_test_run_never_reaches_the_timer_sweep(app: Flask, api: Callable[[str], Any]) -> None:
    """Its armed timers live in its own state: the sweep reads workflow_instances only, so a sweep
    long after the run's deadlines fires nothing of it and leaves its state as it was."""
    from app.engine.timers import sweep
    designer = api("demo_designer")
    run = walk(designer, designer.post(URL, json={"data": START}).get_json(), ["verify_on_site", "file_case", "triage"])
    assert run["timers"]
    with app.app_context():
        state = session.get(TestRun, run["id"]).state
    with app.app_context(), transaction():
        sweep(utcnow() + timedelta(days=400))
    with app.app_context():
        session.remove()
        assert session.scalar(select(TestRun.state).where(TestRun.id == run["id"])) == state
    again = designer.get(f"{URL}/{run['id']}").get_json()
    assert again["timers"] == run["timers"] and again["waiting"] == run["waiting"]


def _expire(app: Flask, run_id: int) -> None:
    with app.app_context(), transaction():
        session.get(TestRun, run_id).expires_at = utcnow() - timedelta(seconds=1)


def _expired(app: Flask) -> int:
    with app.app_context():
        session.remove()
        return int(session.scalar(select(func.count()).select_from(TestRun).where(TestRun.expires_at <= utcnow())) or 0)


def test_the_hourly_purge_and_the_cli_delete_expired_runs(app: Flask, api: Callable[[str], Any]) -> None:
    from app import scheduler
    designer = api("demo_designer")
    _expire(app, designer.post(URL, json={"data": START}).get_json()["id"])
    assert _expired(app) == 1
    scheduler.session_purge_job(app)
    assert _expired(app) == 0
    _expire(app, designer.post(URL, json={"data": START}).get_json()["id"])
    result = app.test_cli_runner().invoke(args=["processes", "clean-test-runs"])
    assert result.exit_code == 0 and "1 expired test runs deleted" in result.output
    assert _expired(app) == 0


def test_two_steps_at_once_on_one_run_conflict(app: Flask, api: Callable[[str], Any]) -> None:
    """A step that read the run before another step was stored is refused (409), not merged."""
    from app.core.auth import load_principal
    from app.core.errors import Conflict
    from app.designer import testrun
    from app.orgs.models import User
    run = api("demo_designer").post(URL, json={"data": START}).get_json()
    with app.test_request_context():
        principal = load_principal(session.scalar(select(User.id).where(User.username == "demo_designer")))
        assert principal is not None
        row = testrun.get_test_run(principal, run["id"])
        session.execute(text("UPDATE designer_test_runs SET version = version + 1 WHERE id = :id"), {"id": run["id"]})
        with pytest.raises(Conflict):
            testrun.complete_test_task(principal, row, run["waiting"][0]["id"], STEPS["verify_on_site"])
        session.rollback()


def test_escalating_and_returning_as_the_task_page_does(app: Flask, api: Callable[[str], Any]) -> None:
    designer = api("demo_designer")
    run = walk(designer, designer.post(URL, json={"data": START}).get_json(), ["verify_on_site", "file_case", "triage"])
    handle = next(w for w in run["waiting"] if w["element"] == "handle_case")
    assert run["data"]["tier"] == "district"
    r = designer.post(f"{URL}/{run['id']}/signals", json={"task": run["waiting"][0]["id"], "name": "bogus"})
    assert r.status_code == 422 and "name" in r.get_json()["errors"]
    with app.app_context():
        before = counts()
    r = designer.post(f"{URL}/{run['id']}/signals", json={"task": handle["id"], "name": "escalate", "reason": "区级无法处置"})
    assert r.status_code == 200, r.get_json()
    run = r.get_json()
    assert run["error"] is None and [w["element"] for w in run["waiting"]] == ["triage"]
    assert run["waiting"][0]["unit"]["code"] == "city" and run["data"]["tier"] == "city"
    assert "handling_escalated" in [p["element"] for p in run["path"]]
    assert run["steps"][-1]["action"] == "signal" and run["steps"][-1]["data"]["reason"] == "区级无法处置"
    # 现场核实 catches no signal: refused as live
    fresh = designer.post(URL, json={"data": START}).get_json()
    r = designer.post(f"{URL}/{fresh['id']}/signals", json={"task": fresh["waiting"][0]["id"], "name": "return"})
    assert r.status_code == 409
    with app.app_context():
        assert counts() == before


def test_timers_fire_on_the_runs_own_clock_and_their_effects_are_only_listed(app: Flask, api: Callable[[str], Any]) -> None:
    designer = api("demo_designer")
    run = walk(designer, designer.post(URL, json={"data": START}).get_json(), ["verify_on_site", "file_case", "triage"])
    assert designer.post(f"{URL}/{run['id']}/timers", json={"at": utcnow().isoformat()}).status_code == 409
    for bad in ("2026-01-01T00:00:00", "0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00", "soon"):
        assert designer.post(f"{URL}/{run['id']}/timers", json={"at": bad}).status_code == 422, bad  # no zone, range
    red = max(t["at"] for t in run["timers"])
    with app.app_context():
        before = counts()
    late = (datetime.fromisoformat(red) + timedelta(minutes=1)).isoformat()
    r = designer.post(f"{URL}/{run['id']}/timers", json={"at": late})
    assert r.status_code == 200, r.get_json()
    run = r.get_json()
    assert run["error"] is None and [w["element"] for w in run["waiting"]] == ["handle_case"]  # non-interrupting
    path = [p["element"] for p in run["path"]]
    assert {"handle_turns_yellow", "remind_handler", "handle_turns_red", "supervise_overdue"} <= set(path)
    assert [e["kind"] for e in run["effects"]] == ["remind", "supervise"]
    assert run["steps"][-1]["action"] == "timers" and run["timers"] == []
    with app.app_context():
        assert counts() == before  # no notification, no audit event, no case


def test_answers_have_exactly_the_documented_fields(api: Callable[[str], Any]) -> None:
    from app.designer.api_testrun import DiffSchema, TestRunSchema
    run = api("demo_designer").post(URL, json={"data": START}).get_json()
    assert set(run) == set(TestRunSchema().fields)
    assert set(api("demo_designer").post("/api/v1/processes/diff", json={"files": {}}).get_json()) == set(DiffSchema().fields)


def test_the_editor_page_runs_and_diffs_with_its_session_and_csrf_token(app: Flask, login: Callable[..., Any]) -> None:
    """The BPMN editor calls the test-run and diff API with the page's session cookie, as it saves
    drafts: a change needs the page's CSRF token (header X-CSRFToken); reads need none."""
    from tests.conftest import csrf_token
    browser = app.test_client()
    login(browser, "demo_designer")
    token = csrf_token(browser.get("/account").get_data(as_text=True))
    body = {"files": REVIEW_DRAFT, "data": START}
    assert browser.post(URL, json=body).status_code == 400  # no CSRF token
    r = browser.post(URL, json=body, headers={"X-CSRFToken": token})
    assert r.status_code == 201, r.get_json()
    run = r.get_json()
    assert browser.get(f"{URL}/{run['id']}").status_code == 200
    task = run["waiting"][0]
    r = browser.post(f"{URL}/{run['id']}/tasks/{task['id']}", json={"data": STEPS[task["element"]]},
                     headers={"X-CSRFToken": token})
    assert r.status_code == 200, r.get_json()
    assert browser.post(f"{URL}/{run['id']}/timers", json={"at": "2030-01-01T00:00:00+08:00"}).status_code == 400
    diff = browser.post("/api/v1/processes/diff", json={"files": REVIEW_DRAFT}, headers={"X-CSRFToken": token})
    assert diff.status_code == 200 and diff.get_json()["changed"] is True
    assert browser.delete(f"{URL}/{run['id']}", headers={"X-CSRFToken": token}).status_code == 200
    assert app.test_client().post(URL, json=body).status_code == 401  # neither token nor session
    operator = app.test_client()
    login(operator, "demo_operator")
    token = csrf_token(operator.get("/account").get_data(as_text=True))
    assert operator.post(URL, json=body, headers={"X-CSRFToken": token}).status_code == 403
    assert operator.post("/api/v1/processes/diff", json=body, headers={"X-CSRFToken": token}).status_code == 403
