"""The engine host: state stored by reference, versions kept per case, incidents and retries,
optimistic locking."""
from __future__ import annotations

from typing import Any, Callable

import orjson
import pytest
from flask import Flask
from sqlalchemy import select, update

from app.cases.models import Case
from app.core.db import session, transaction
from app.engine import host
from app.engine.definitions import deploy
from app.engine.models import Incident, WorkflowInstance
from app.orgs.models import OrgUnit
from app.orgs.operations import create_unit
from app.tasks.models import Task
from tests.engine.bpmn_factory import bundle, linear


VALUES = {"channel": "api", "title": "测试", "description": "d", "address": "a", "urgency": "normal"}


def _new_case(pid: str) -> int:
    return host.start_case(VALUES, pid, {"dispatch_unit": "city"}).case.id


def _open(case_id: int) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.case_id == case_id, Task.state == "open").order_by(Task.id)))


def test_state_is_stored_without_the_process_definition(app: Flask, make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    with app.app_context():
        instance = session.get(WorkflowInstance, case["id"])
        state = orjson.loads(instance.state)
        assert "spec" not in state and "subprocess_specs" not in state
        assert len(instance.state) < 12_000  # the stock serializer embeds ~20 KB of definition
        assert host.workflow_data(session.get(Case, case["id"]))["grid_unit"] == "d1-s1-c1"


def test_running_case_stays_on_its_version(app: Flask) -> None:
    pid = "host_versions"
    with app.app_context(), transaction():
        v1, _ = deploy(bundle(pid, linear(pid, second_name="旧第二步")), pid)
        old = _new_case(pid)
        v2, _ = deploy(bundle(pid, linear(pid, second_name="新第二步")), pid)
        new = _new_case(pid)
    with app.app_context(), transaction():
        assert session.get(WorkflowInstance, old).definition_id == v1.id
        assert session.get(WorkflowInstance, new).definition_id == v2.id
        for case_id in (old, new):
            host.complete_task(session.get(Case, case_id), _open(case_id)[0], {"note": "ok"}, None)
        assert _open(old)[0].name == "旧第二步" and _open(new)[0].name == "新第二步"


def test_incident_on_start_is_retried_after_the_cause_is_fixed(app: Flask) -> None:
    pid = "host_incident_start"
    with app.app_context(), transaction():
        deploy(bundle(pid, linear(pid, unit_of_first="'unit-made-later'")), pid)
        case_id = _new_case(pid)
    with app.app_context():
        case = session.get(Case, case_id)
        incident = session.scalar(select(Incident).where(Incident.case_id == case_id))
        assert case.has_incident and "unit-made-later" in incident.error and _open(case_id) == []
    with app.app_context(), transaction():
        with pytest.raises(host.CaseHasIncident):
            host.fire_timers(session.get(Case, case_id))
    with app.app_context(), transaction():
        create_unit("unit-made-later", "后建单位", "department", session.scalar(select(OrgUnit).where(OrgUnit.code == "city")))
    with app.app_context(), transaction():
        host.retry_incident(session.get(Incident, incident.id), None)
    with app.app_context():
        assert not session.get(Case, case_id).has_incident
        assert [t.bpmn_id for t in _open(case_id)] == ["t1"]
        assert session.get(Incident, incident.id).resolution == "retried"


def test_incident_on_complete_can_be_dismissed(app: Flask) -> None:
    pid = "host_incident_complete"
    with app.app_context(), transaction():
        deploy(bundle(pid, linear(pid, script="ratio = 10 / divisor")), pid)
        case_id = _new_case(pid)
    with app.app_context(), transaction():
        with pytest.raises(host.EngineIncidentError):
            host.complete_task(session.get(Case, case_id), _open(case_id)[0], {"divisor": 0}, None)
    with app.app_context(), transaction():
        incident = session.scalar(select(Incident).where(Incident.case_id == case_id))
        assert "ZeroDivisionError" in incident.error and incident.element == "s1"
        host.dismiss_incident(incident, None)
    with app.app_context(), transaction():
        case = session.get(Case, case_id)
        host.complete_task(case, _open(case_id)[0], {"divisor": 2}, None)
        assert host.workflow_data(case)["ratio"] == 5
        assert [t.bpmn_id for t in _open(case_id)] == ["t2"]


def test_a_stale_version_cannot_overwrite(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = "host_stale"
    with app.app_context(), transaction():
        deploy(bundle(pid, linear(pid)), pid)
        case_id = _new_case(pid)
    real_load = host._load

    def read_then_someone_else_commits(case: Case, lock: bool = True) -> Any:
        # without the row lock (as on SQLite), another request commits a change of this case
        # right after this one read it: the version check must refuse the stale write
        loaded = real_load(case, lock=False)
        with app.extensions["db_engine"].begin() as conn:
            conn.execute(update(WorkflowInstance.__table__).where(WorkflowInstance.case_id == case_id)
                         .values(version=WorkflowInstance.__table__.c.version + 1))
        return loaded

    monkeypatch.setattr(host, "_load", read_then_someone_else_commits)
    with app.app_context():
        case = session.get(Case, case_id)
        with pytest.raises(host.CaseConflict):
            host.complete_task(case, _open(case_id)[0], {"note": "x"}, None)
        session.rollback()
    monkeypatch.setattr(host, "_load", real_load)
    with app.app_context():
        assert [t.bpmn_id for t in _open(case_id)] == ["t1"]


def test_an_action_that_breaks_the_process_keeps_its_incident(app: Flask, api: Callable[[str], Any]) -> None:
    """An escalation whose path fails in the diagram answers 202 and the incident is stored (not a 500)."""
    pid = "host_incident_signal"
    signal = ('<bpmn:signal id="sig_escalate" name="escalate"/>')
    xml = linear(pid).replace("<bpmn:collaboration", signal + "\n  <bpmn:collaboration")
    xml = xml.replace("<bpmn:endEvent id=\"ev_end\"/>", """<bpmn:endEvent id="ev_end"/>
    <bpmn:boundaryEvent id="b_escalate" attachedToRef="t1"><bpmn:signalEventDefinition signalRef="sig_escalate"/></bpmn:boundaryEvent>
    <bpmn:scriptTask id="s_broken" name="坏脚本"><bpmn:script>x = 1 / 0</bpmn:script></bpmn:scriptTask>
    <bpmn:endEvent id="ev_escalated"/>
    <bpmn:sequenceFlow id="fb1" sourceRef="b_escalate" targetRef="s_broken"/>
    <bpmn:sequenceFlow id="fb2" sourceRef="s_broken" targetRef="ev_escalated"/>""")
    xml = xml.replace("<bpmn:flowNodeRef>ev_start</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>ev_start</bpmn:flowNodeRef>"
                      "<bpmn:flowNodeRef>s_broken</bpmn:flowNodeRef><bpmn:flowNodeRef>ev_escalated</bpmn:flowNodeRef>")
    with app.app_context():
        with transaction():
            deploy(bundle(pid, xml), pid)
        with transaction():
            case_id = _new_case(pid)
            task_id = _open(case_id)[0].id
        session.remove()
    r = api("demo_supervisor").post(f"/api/v1/tasks/{task_id}/escalate", json={"reason": "需要上级协调"})
    assert r.status_code == 202, r.get_json()
    assert r.get_json()["status"] == "incident"
    with app.app_context():
        incident = session.get(Incident, r.get_json()["incident"])
        assert incident is not None and "ZeroDivisionError" in incident.error
        assert session.get(Case, case_id).has_incident
        assert [t.id for t in _open(case_id)] == [task_id]  # the last good state: still at t1
