"""The safety net: no open case may be left waiting for nothing, and every disagreement between a
case's workflow and its task table is found (``flask cases check``) and repairable from the
incidents page — the stuck case of ../shared/repro/ included."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from app.cases.models import Case
from app.core.audit import AuditEvent
from app.core.db import session, transaction
from app.engine import host
from app.engine.consistency import check_cases
from app.engine.definitions import bundle_hash, deploy
from app.engine.models import Incident, ProcessDefinition, WorkflowInstance
from app.tasks.models import Task
from tests.conftest import csrf_token
from tests.engine.bpmn_factory import bundle, linear, waits_for_message

REPRO = Path(__file__).resolve().parents[1] / "data" / "repro"
VALUES = {"channel": "api", "title": "测试", "description": "d", "address": "a", "urgency": "normal"}


def _open(case_id: int) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.case_id == case_id, Task.state == "open").order_by(Task.id)))


def _open_incidents(case_id: int) -> list[Incident]:
    return list(session.scalars(select(Incident).where(Incident.case_id == case_id, Incident.resolved_at.is_(None))))


def _codes(case_id: int) -> list[str]:
    return [f.code for f in check_cases([case_id], open_incidents=False).findings]


# ---------------------------------------------------------------------------- after every engine action

def test_an_action_that_leaves_the_case_waiting_for_nothing_opens_an_incident(app: Flask) -> None:
    pid = "consistency_no_way_forward"
    with app.app_context(), transaction():
        deploy(bundle(pid, waits_for_message(pid)), pid)
        case_id = host.start_case(VALUES, pid, {"dispatch_unit": "city"}).case.id
    with app.app_context(), transaction():
        case = session.get(Case, case_id)
        host.complete_task(case, _open(case_id)[0], {"note": "好"}, None)  # the step itself succeeds
    with app.app_context():
        case = session.get(Case, case_id)
        [incident] = _open_incidents(case_id)
        assert case.status == "open" and case.has_incident and _open(case_id) == []
        assert "no way forward" in incident.error and incident.element == "wait"
        assert json.loads(incident.action)["after"]["type"] == "complete"
        assert session.scalar(select(Task.state).where(Task.case_id == case_id, Task.bpmn_id == "t1")) == "completed"
        assert _codes(case_id) == []  # the open incident is its way forward: nothing more to flag
    with app.app_context():
        with pytest.raises(host.NoWayForward):  # a repair that cannot help is refused, and changes nothing
            host.repair_case(session.get(Case, case_id), None)
        session.rollback()
        assert len(_open_incidents(case_id)) == 1
    with app.app_context(), transaction():
        host.dismiss_incident(_open_incidents(case_id)[0], None)
    with app.app_context():
        assert _codes(case_id) == ["no_way_forward"]  # dismissed, it is still stuck: the check finds it


def test_a_case_that_cannot_start_anywhere_is_an_incident_at_once(app: Flask) -> None:
    pid = "consistency_empty_start"
    xml = linear(pid).replace('<bpmn:sequenceFlow id="f0" sourceRef="ev_start" targetRef="t1"/>',
                              '<bpmn:intermediateCatchEvent id="wait0"><bpmn:messageEventDefinition id="md0" '
                              'messageRef="m0"/></bpmn:intermediateCatchEvent>'
                              '<bpmn:sequenceFlow id="f0" sourceRef="ev_start" targetRef="wait0"/>'
                              '<bpmn:sequenceFlow id="f0b" sourceRef="wait0" targetRef="t1"/>')
    xml = xml.replace("<bpmn:flowNodeRef>t1</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>wait0</bpmn:flowNodeRef><bpmn:flowNodeRef>t1</bpmn:flowNodeRef>")
    xml = xml.replace("\n</bpmn:definitions>", '\n  <bpmn:message id="m0" name="m0"/>\n</bpmn:definitions>')
    with app.app_context(), transaction():
        deploy(bundle(pid, xml), pid)
        started = host.start_case(VALUES, pid, {"dispatch_unit": "city"})
        assert started.incident is not None and "no way forward" in started.incident.error
        assert host.incident_kind(started.incident) == "stopped"  # repaired, not retried: the start worked
    with app.app_context():
        assert session.get(Case, started.case.id).has_incident


# ---------------------------------------------------------------------------- the check finds every disagreement

def _case_at_t2(app: Flask, pid: str) -> int:
    with app.app_context(), transaction():
        if session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.process_id == pid)) is None:
            deploy(bundle(pid, linear(pid)), pid)
        case_id = host.start_case(VALUES, pid, {"dispatch_unit": "city"}).case.id
    return case_id


def test_the_check_finds_task_rows_that_disagree_and_re_projecting_mends_them(app: Flask) -> None:
    pid = "consistency_rows"
    first, second = _case_at_t2(app, pid), _case_at_t2(app, pid)
    with app.app_context(), transaction():
        # first: its only task row vanished (the workflow waits at t1, no inbox shows it)
        session.execute(update(Task).where(Task.case_id == first).values(state="cancelled"))
        # second: an extra open row for a task the workflow does not wait for
        row = _open(second)[0]
        session.add(Task(case_id=second, spiff_id="00000000-0000-0000-0000-000000000001", bpmn_id="t2", name="第二步",
                         stage="verify", role="dispatcher", form="f.json", org_unit_id=row.org_unit_id,
                         unit_path=row.unit_path, state="open", created_at=row.created_at, extension_minutes=0, urge_count=0))
    with app.app_context():
        assert _codes(first) == ["task_without_row"]
        assert _codes(second) == ["task_row_not_waiting"]
        result = check_cases([first, second])
        assert len(result.incidents) == 2 and check_cases([first, second]).incidents == []  # flagged once
        assert session.get(Case, first).has_incident
    with app.app_context(), transaction():
        for case_id in (first, second):
            host.reproject_tasks(session.get(Case, case_id), None)
    with app.app_context():
        assert [t.bpmn_id for t in _open(first)] == ["t1"] and [t.bpmn_id for t in _open(second)] == ["t1"]
        assert _codes(first) == [] and _codes(second) == [] and not session.get(Case, first).has_incident
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == second)).all()
        assert "tasks_reprojected" in actions and "task_cancelled" in actions and "incident_repaired" in actions


def _being_handled(api: Callable[[str], Any], make_case: Callable[..., Any]) -> dict[str, Any]:
    """A manhole-cover report filed and dispatched: 任务处理 waits, with its reminder timers."""
    case = make_case(channel="grid", grid_unit="d1-s2-c1")
    [filing] = case["current_tasks"]
    case = api("demo_dispatcher").claim_and_complete(filing["id"], {"decision": "file", "urgency": "normal",
                                                                    "grid_unit": "d1-s2-c1"}).get_json()
    [triage] = case["current_tasks"]
    r = api("dispatcher_d1").claim_and_complete(triage["id"], {"decision": "dispatch", "lead_unit": "d1-sz",
                                                               "handling_limit": "4h"})
    assert r.status_code == 200, r.get_json()
    return r.get_json()  # type: ignore[no-any-return]


def test_the_check_finds_a_timer_the_sweep_would_never_fire_and_a_stale_block(
        app: Flask, api: Callable[[str], Any], make_case: Callable[..., Any]) -> None:
    case = _being_handled(api, make_case)
    with app.app_context():
        assert session.scalar(select(WorkflowInstance.next_timer_at).where(WorkflowInstance.case_id == case["id"]))
    with app.app_context(), transaction():
        session.execute(update(WorkflowInstance).where(WorkflowInstance.case_id == case["id"]).values(next_timer_at=None))
        session.execute(update(Case).where(Case.id == case["id"]).values(has_incident=True))
    with app.app_context():
        assert _codes(case["id"]) == ["timer_not_marked", "blocked_without_incident"]
    with app.app_context():
        [incident_id] = check_cases([case["id"]]).incidents
    with app.app_context(), transaction():
        host.repair_case(session.get(Case, case["id"]), None)
    with app.app_context():
        assert _codes(case["id"]) == [] and session.get(Incident, incident_id).resolution == "repaired"


@pytest.mark.parametrize("action", ["repair", "reproject"])
def test_an_ended_case_with_an_open_task_is_found_and_keeps_its_status(app: Flask, make_case: Callable[..., Any],
                                                                     action: str) -> None:
    from datetime import datetime, timezone
    case = make_case(channel="grid", title="路灯不亮")
    closed_at = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)
    with app.app_context(), transaction():
        session.execute(update(Case).where(Case.id == case["id"]).values(status="merged", closed_at=closed_at))
    with app.app_context():
        assert _codes(case["id"]) == ["ended_with_open_task"]
        [incident_id] = check_cases([case["id"]]).incidents
        assert host.incident_kind(session.get(Incident, incident_id)) == "stopped"
    with app.app_context(), transaction():
        (host.repair_case if action == "repair" else host.reproject_tasks)(session.get(Case, case["id"]), None)
    with app.app_context():
        ended = session.get(Case, case["id"])
        assert (ended.status, ended.closed_at, ended.has_incident) == ("merged", closed_at, False)
        assert _open(case["id"]) == [] and _codes(case["id"]) == []
        assert session.get(Incident, incident_id).resolution == "repaired"


def test_flask_cases_check(app: Flask) -> None:
    case_id = _case_at_t2(app, "consistency_rows")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["cases", "check", "--case", str(case_id)])
    assert result.exit_code == 0 and "0 finding(s)" in result.output, result.output
    with app.app_context(), transaction():
        session.execute(update(Task).where(Task.case_id == case_id).values(state="cancelled"))
    result = runner.invoke(args=["cases", "check", "--case", str(case_id), "--dry-run", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert [f["problem"] for f in report["findings"]] == ["task_without_row"] and report["incidents"] == []
    result = runner.invoke(args=["cases", "check", "--case", str(case_id)])
    assert result.exit_code == 1 and "1 incident(s) opened" in result.output


# ---------------------------------------------------------------------------- the repro, repaired in the browser

def _repro_definition(app: Flask) -> int:
    """The bundle the repro case ran on (make run at commit 97a24ad), deployed as an older version
    of the loop unless the same content is deployed already."""
    files = json.loads((REPRO / "stuck_cohandling_bundle.json").read_text(encoding="utf-8"))
    pid = app.config["SETTINGS"].CASE_PROCESS_ID
    with app.app_context(), transaction():
        digest = bundle_hash(files)
        found = session.scalar(select(ProcessDefinition.id).where(ProcessDefinition.process_id == pid,
                                                                  ProcessDefinition.content_hash == digest))
        if found is not None:
            return found
        oldest = session.scalar(select(func.min(ProcessDefinition.version)).where(ProcessDefinition.process_id == pid))
        row = ProcessDefinition(process_id=pid, name=pid, version=(oldest or 1) - 1, content_hash=digest,
                                bundle=json.dumps(files, ensure_ascii=False), deployed_by="repro")
        session.add(row)
        session.flush()
        return row.id


def _stored_repro_case(app: Flask, make_case: Callable[..., Any]) -> int:
    """A case whose workflow and task rows are the repro's: every task completed, nothing open."""
    repro = json.loads((REPRO / "stuck_cohandling_case.json").read_text(encoding="utf-8"))
    definition_id = _repro_definition(app)
    case = make_case(title="滨江路12号门口垃圾堆积发臭", category_code="event:06010",
                     reporter={"name": "王女士", "phone": "13911112222"})
    with app.app_context(), transaction():
        # the repro's task rows are history: all completed, as the new case's first one becomes
        session.execute(update(Task).where(Task.case_id == case["id"]).values(state="completed"))
        session.execute(update(WorkflowInstance).where(WorkflowInstance.case_id == case["id"]).values(
            definition_id=definition_id, state=orjson.dumps(repro["workflow_state"]).decode(), next_timer_at=None,
            version=WorkflowInstance.version + 1))
        session.execute(update(Case).where(Case.id == case["id"]).values(
            status="open", tier=repro["case"]["tier"], escalation_count=repro["case"]["escalation_count"],
            has_incident=False, stage="handle", due_at=None, yellow_at=None))
    return case["id"]  # type: ignore[no-any-return]


def _admin(client: FlaskClient, login: Callable[..., Any]) -> FlaskClient:
    assert login(client, "demo_admin").status_code == 302
    return client


def test_the_repro_case_is_found_by_the_check_and_repaired_from_the_incidents_page(
        app: Flask, make_case: Callable[..., Any], client: FlaskClient, login: Callable[..., Any], api: Callable[[str], Any]) -> None:
    case_id = _stored_repro_case(app, make_case)
    with app.app_context():
        result = check_cases([case_id])
        assert [f.code for f in result.findings] == ["no_way_forward"] and len(result.incidents) == 1
    admin = _admin(client, login)
    page = admin.get("/admin/incidents").get_data(as_text=True)
    assert f"/admin/incidents/{result.incidents[0]}/repair" in page and "no way forward" in page
    r = admin.post(f"/admin/incidents/{result.incidents[0]}/repair", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302
    assert "已修复案件" in admin.get("/admin/incidents").get_data(as_text=True)
    shown = api("demo_supervisor").get(f"/api/v1/cases/{case_id}").get_json()
    assert shown["status"] == "open" and [(t["bpmn_id"], t["org_unit"]["code"]) for t in shown["current_tasks"]] == \
        [("report_back", "d1-sz")]
    assert "case_repaired" in [e["action"] for e in shown["history"]]
    with app.app_context():
        assert check_cases([case_id], open_incidents=False).findings == []
        incident = session.get(Incident, result.incidents[0])
        assert incident.resolution == "repaired" and incident.resolved_by_id is not None
    # and the case goes on through the loop: the lead reports back, the grid worker inspects
    report = shown["current_tasks"][0]
    r = api("demo_handler").claim_and_complete(report["id"], {"result": "resolved", "result_notes": "垃圾已清运"})
    assert r.status_code == 200 and [t["bpmn_id"] for t in r.get_json()["current_tasks"]] == ["inspect_case"]


def test_only_admins_repair(app: Flask, make_case: Callable[..., Any], client: FlaskClient, login: Callable[..., Any]) -> None:
    case_id = _case_at_t2(app, "consistency_rows")
    with app.app_context(), transaction():
        session.execute(update(Task).where(Task.case_id == case_id).values(state="cancelled"))
    with app.app_context():
        [incident_id] = check_cases([case_id]).incidents
    assert login(client, "demo_supervisor").status_code == 302
    page = client.get("/inbox").get_data(as_text=True)
    r = client.post(f"/admin/incidents/{incident_id}/repair", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 403
    r = client.post(f"/admin/incidents/{incident_id}/reproject", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 403
    with app.app_context():
        assert session.get(Incident, incident_id).resolved_at is None


def test_repairing_a_merged_case_keeps_it_merged(app: Flask, api: Callable[[str], Any],
                                                 make_case: Callable[..., Any]) -> None:
    """A merged duplicate's process was cancelled; a stray open task row on it is all a repair touches."""
    master = make_case(title="锦绣路工地夜间施工噪音扰民", category_code="event:05003")
    dup = make_case(title="锦绣路工地晚上施工太吵", category_code="event:05003", reporter={"name": "李", "phone": "13700007777"})
    r = api("demo_dispatcher").post(f"/api/v1/cases/{dup['id']}/merge", json={"into": master["id"], "reason": "同一工地"})
    assert r.status_code == 200, r.get_json()
    with app.app_context(), transaction():
        merged = session.get(Case, dup["id"])
        assert merged.status == "merged" and merged.closed_at is not None
        closed_at = merged.closed_at
        session.execute(update(Task).where(Task.case_id == dup["id"]).values(state="open"))  # a stray row
    with app.app_context():
        [incident_id] = check_cases([dup["id"]]).incidents
    with app.app_context(), transaction():
        host.repair_case(session.get(Case, dup["id"]), None)
    with app.app_context():
        after = session.get(Case, dup["id"])
        assert (after.status, after.closed_at) == ("merged", closed_at) and _open(dup["id"]) == []
        assert session.get(Incident, incident_id).resolution == "repaired"
