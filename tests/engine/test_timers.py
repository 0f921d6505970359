"""BPMN timers on working-time deadlines: the clock starts at the claim (签收), the reminder fires
when the light turns yellow, the escalation to supervisors when it turns red, each exactly once,
also with two scheduler processes at the same time. A fixed clock stands in for waiting."""
from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from app.core.audit import AuditEvent
from app.core.db import session
from app.engine.models import WorkflowInstance
from app.engine.timers import sweep
from app.notifications.models import Notification

ROOT = Path(__file__).resolve().parents[2]
# Tuesday 1 December 2026 is a working day; office hours 09:00-12:00 and 13:30-17:30 (+08:00)
TUESDAY = "2026-12-01T{}:00+08:00"


def t(hhmm: str) -> str:
    return TUESDAY.format(hhmm)


def handling_task(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]], limit: str = "4h") -> dict[str, Any]:
    """A case at its handle_case step at d1-sz (not yet claimed)."""
    case = make_case(channel="grid")
    file_task = case["current_tasks"][0]
    r = api("demo_dispatcher").claim_and_complete(file_task["id"], {"decision": "file", "grid_unit": "d1-s1-c1", "urgency": "normal"})
    triage = r.get_json()["current_tasks"][0]
    r = api("demo_dispatcher").claim_and_complete(triage["id"], {"decision": "dispatch", "lead_unit": "d1-sz", "handling_limit": limit})
    assert r.status_code == 200, r.get_json()
    [task] = [x for x in r.get_json()["current_tasks"] if x["bpmn_id"] == "handle_case"]
    return task


def task_of(api: Callable[[str], Any], task_id: int) -> dict[str, Any]:
    return api("demo_supervisor").get(f"/api/v1/tasks/{task_id}").get_json()  # type: ignore[no-any-return]


def count(app: Flask, model: Any, **where: Any) -> int:
    with app.app_context():
        return int(session.scalar(select(func.count()).select_from(model).filter_by(**where)) or 0)


def test_clock_starts_at_claim_and_lights_change_at_their_boundaries(
        app: Flask, api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]], at_time: Callable[[str], Any]) -> None:
    at_time(t("10:00"))
    task = handling_task(api, make_case)
    # not signed for yet: 2 working hours to sign for it
    assert task["sign_limit"] == "2h" and task["started_at"] is None
    assert task["due_at"] == "2026-12-01T04:00:00+00:00"  # 12:00 local
    at_time(t("10:30"))
    assert api("demo_handler").post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    task = task_of(api, task["id"])
    # 4 working hours from 10:30: 1.5 h before lunch, 2.5 h after → 16:00; yellow at 80 % (192 min) → 15:12
    assert task["started_at"] == "2026-12-01T02:30:00+00:00"
    assert task["due_at"] == "2026-12-01T08:00:00+00:00"
    assert task["yellow_at"] == "2026-12-01T07:12:00+00:00"
    for moment, light in (("15:11", "green"), ("15:12", "yellow"), ("15:59", "yellow"), ("16:00", "red")):
        at_time(t(moment))
        assert task_of(api, task["id"])["light"] == light, moment
    case = api("demo_supervisor").get(f"/api/v1/cases/{task['case_id']}").get_json()
    assert case["light"] == "red" and case["due_at"] == "2026-12-01T08:00:00+00:00"


def test_reminder_at_yellow_and_supervision_at_red_fire_once(
        app: Flask, api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]], at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case, "2h")  # claimed at 09:00: yellow 10:36, due 11:00
    assert api("demo_handler").post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    with app.app_context():
        due = session.scalar(select(WorkflowInstance.next_timer_at).filter_by(case_id=task["case_id"]))
    assert due is not None and due.isoformat() == "2026-12-01T02:36:00+00:00"
    with app.app_context():
        sweep(at_time(t("10:35")))
    assert count(app, AuditEvent, case_id=task["case_id"], action="task_reminded") == 0
    with app.app_context():
        sweep(at_time(t("10:36")))
        sweep(at_time(t("10:50")))  # already fired: nothing more
    assert count(app, AuditEvent, case_id=task["case_id"], action="task_reminded") == 1
    # other tests' open tasks share the database: look at this task's notifications only
    mine = [n for n in api("demo_handler").get("/api/v1/notifications?unread=1").get_json()["notifications"]
            if n["task_id"] == task["id"]]
    assert [n["kind"] for n in mine] == ["reminder"] and "即将到期" in mine[0]["message"]
    assert count(app, AuditEvent, case_id=task["case_id"], action="case_supervised") == 0
    with app.app_context():
        sweep(at_time(t("11:00")))
        sweep(at_time(t("16:00")))
    assert count(app, AuditEvent, case_id=task["case_id"], action="case_supervised") == 1
    supervisors = {n.user_id for n in _notifications(app, task["case_id"], "overdue")}
    assert len(supervisors) >= 2  # the city's and the district's supervisors
    case = api("demo_supervisor").get(f"/api/v1/cases/{task['case_id']}").get_json()
    assert case["supervised_at"] is not None and case["light"] == "red"
    # the handler can still finish: nothing was cancelled by the non-interrupting timers
    handler = api("demo_handler")
    r = handler.post(f"/api/v1/tasks/{task['id']}/complete",
                     json={"data": handler.with_photos(task["id"], {"handling_notes": "已处理"})})
    assert r.status_code == 200 and r.get_json()["current_tasks"][0]["bpmn_id"] == "report_back"


def _notifications(app: Flask, case_id: int, kind: str) -> list[Any]:
    with app.app_context():
        return list(session.scalars(select(Notification).filter_by(case_id=case_id, kind=kind)))


def test_timers_catch_up_after_downtime(app: Flask, api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]],
                                        at_time: Callable[[str], Any]) -> None:
    at_time(t("09:00"))
    task = handling_task(api, make_case, "1h")
    api("demo_handler").post(f"/api/v1/tasks/{task['id']}/claim")
    # the scheduler was down all day: one sweep the next morning fires both timers, in order
    with app.app_context():
        sweep(at_time("2026-12-02T09:05:00+08:00"))
    assert count(app, AuditEvent, case_id=task["case_id"], action="task_reminded") == 1
    assert count(app, AuditEvent, case_id=task["case_id"], action="case_supervised") == 1
    with app.app_context():
        assert session.scalar(select(WorkflowInstance.next_timer_at).filter_by(case_id=task["case_id"])) is None


def test_two_scheduler_processes_fire_each_timer_once(
        app: Flask, api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]], at_time: Callable[[str], Any],
        database_url: str) -> None:
    at_time(t("09:00"))
    tasks = [handling_task(api, make_case, "1h") for _ in range(24)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda x: api("demo_handler").post(f"/api/v1/tasks/{x['id']}/claim"), tasks))
    env = {**os.environ, "TONGGUAN_DATABASE_URL": database_url, "TONGGUAN_ENV": "testing", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "scheduler", "sweep", "--at", t("11:00"), "--batch", "3"]
    runs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in runs]
    for p, (out, err) in zip(runs, outputs):
        assert p.returncode == 0, err
    for x in tasks:
        assert count(app, AuditEvent, case_id=x["case_id"], action="task_reminded") == 1
        assert count(app, AuditEvent, case_id=x["case_id"], action="case_supervised") == 1
        assert len(_notifications(app, x["case_id"], "reminder")) == 1
    fired = sum(int(out.split("fired ")[1].split(" ")[0]) for out, _err in outputs)
    assert fired >= len(tasks)  # every case moved, in one process or the other


def test_an_intermediate_timer_fires_from_the_sweep(app: Flask, at_time: Callable[[str], Any]) -> None:
    """Not only boundary timers: any timer event a designer draws waits in next_timer_at."""
    from app.cases.models import Case
    from app.core.db import transaction
    from app.engine import host
    from app.engine.definitions import deploy
    from app.tasks.models import Task
    from tests.engine.bpmn_factory import bundle, linear

    pid = "timer_intermediate"
    xml = linear(pid).replace('<bpmn:sequenceFlow id="f1" sourceRef="t1" targetRef="t2"/>', (
        '<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition><bpmn:timeDate>'
        "'2026-12-01T14:00:00+08:00'</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        '<bpmn:sequenceFlow id="f1a" sourceRef="t1" targetRef="wait"/>'
        '<bpmn:sequenceFlow id="f1b" sourceRef="wait" targetRef="t2"/>'))
    xml = xml.replace("<bpmn:flowNodeRef>t2</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>t2</bpmn:flowNodeRef><bpmn:flowNodeRef>wait</bpmn:flowNodeRef>")
    at_time(t("09:00"))
    with app.app_context():
        with transaction():
            deploy(bundle(pid, xml), pid)
        with transaction():
            case_id = host.start_case({"channel": "api", "title": "定时", "description": "d", "address": "a",
                                       "urgency": "normal"}, pid, {"dispatch_unit": "city"}).case.id
        with transaction():
            case = session.get(Case, case_id)
            first = session.scalar(select(Task).filter_by(case_id=case_id, state="open"))
            host.complete_task(case, first, {}, None)
        assert session.scalar(select(WorkflowInstance.next_timer_at).filter_by(case_id=case_id)).isoformat() \
            == "2026-12-01T06:00:00+00:00"
        session.remove()
        sweep(at_time(t("13:59")))
        assert session.scalar(select(func.count()).select_from(Task).filter_by(case_id=case_id, state="open")) == 0
        session.remove()
        sweep(at_time(t("14:01")))
        assert [x.bpmn_id for x in session.scalars(select(Task).filter_by(case_id=case_id, state="open"))] == ["t2"]
