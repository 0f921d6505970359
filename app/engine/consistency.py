"""Cases whose stored workflow and the product's tables disagree: found, reported, turned into
incidents an administrator can repair (``flask cases check``, run daily by the scheduler).

The engine host keeps the task table, the case's status and its timer mark in step with the
workflow state in the same transaction, and opens a "no way forward" incident when an open case
is left waiting for nothing. This check is the net under that net: it reads every open case's
workflow and compares, so a case that went wrong some other way (a bug, a hand edit of the
database, a case from before a fix) is not lost silently.

The scan reads without locks, in batches; a case with a finding is read again under its row lock
before an incident is opened, so a request that changed it meanwhile is not reported by mistake.
Each case gets at most one open incident; a case that has one is reported but not flagged twice.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from SpiffWorkflow.util.task import TaskState

from app.cases.models import Case
from app.core.audit import record
from app.core.db import session, transaction
from app.engine import host
from app.engine.definitions import load_definition
from app.engine.models import Incident, WorkflowInstance
from app.engine.serializer import loads
from app.tasks.models import Task

log = logging.getLogger(__name__)

CASES, INSTANCES, TASKS, INCIDENTS = Case.__table__, WorkflowInstance.__table__, Task.__table__, Incident.__table__
TIMER_SLACK = timedelta(seconds=1)

#: Every problem the check knows, with the message an administrator reads (中文 / English).
PROBLEMS = {
    "no_way_forward": "案件办理中，但没有待办任务、计时器或事件告警，已从所有收件箱消失（停在 {where}）/ no way forward: "
                      "the case is open but has no user task, no waiting timer and no incident, so it has vanished "
                      "from every inbox (stalled at {where})",
    "task_row_not_waiting": "待办任务 #{task}（{name}）在流程中已不在等待 / open task #{task} ({name}) is not waiting in "
                            "the workflow",
    "task_without_row": "流程在“{name}”等待，但没有任何收件箱显示该任务 / the workflow waits at '{name}' but no inbox "
                        "shows that task",
    "ended_but_open": "流程已结束，但案件仍为办理中 / the process has ended but the case is still open",
    "timer_not_marked": "计时器将于 {due} 到期，但案件的计时登记为 {mark}，不会被触发 / a timer is due at {due} but the "
                        "case's timer mark is {mark}: the scheduler would not fire it",
    "blocked_without_incident": "案件被事件告警锁定，但没有未处理的告警 / the case is blocked as if it had an incident, but "
                                "none is open",
    "ended_with_open_task": "案件已结束（{status}），但任务 #{task}（{name}）仍为待办 / the case has ended ({status}) but "
                            "task #{task} ({name}) is still open",
    "unreadable": "流程状态无法读取 / the workflow state cannot be read: {error}",
}


@dataclass(frozen=True)
class Finding:
    case_id: int
    code: str
    message: str
    element: str | None = None  # the BPMN element it concerns, where one does


@dataclass
class CheckResult:
    cases: int = 0  # open cases whose workflow was read
    findings: list[Finding] = field(default_factory=list)
    incidents: list[int] = field(default_factory=list)  # opened by this check
    seconds: float = 0.0

    @property
    def problem_cases(self) -> list[int]:
        return sorted({f.case_id for f in self.findings})

    def summary(self) -> str:
        return (f"checked {self.cases} open case(s) in {self.seconds:.2f} s: {len(self.findings)} finding(s) in "
                f"{len(self.problem_cases)} case(s), {len(self.incidents)} incident(s) opened")


def _finding(case_id: int, code: str, element: str | None = None, **values: Any) -> Finding:
    return Finding(case_id, code, PROBLEMS[code].format(**values), element)


_OPEN_CASES = (select(CASES.c.id, CASES.c.has_incident, INSTANCES.c.state, INSTANCES.c.definition_id,
                      INSTANCES.c.next_timer_at)
               .join(INSTANCES, INSTANCES.c.case_id == CASES.c.id)
               .where(CASES.c.status == "open", CASES.c.id > bindparam("k_after"))
               .order_by(CASES.c.id).limit(bindparam("k_limit")))
_OPEN_TASKS_OF = (select(TASKS.c.case_id, TASKS.c.id, TASKS.c.spiff_id, TASKS.c.name)
                  .where(TASKS.c.state == "open", TASKS.c.case_id.in_(bindparam("k_cases", expanding=True))))
_OPEN_INCIDENTS_OF = (select(INCIDENTS.c.case_id).distinct()
                      .where(INCIDENTS.c.resolved_at.is_(None), INCIDENTS.c.case_id.in_(bindparam("k_cases", expanding=True))))
_TOUCH_INSTANCE = (update(INSTANCES).where(INSTANCES.c.case_id == bindparam("k_case"))
                   .values(version=INSTANCES.c.version))
_ENDED_WITH_OPEN_TASKS = (select(CASES.c.id, CASES.c.status, TASKS.c.id.label("task_id"), TASKS.c.name)
                          .join(TASKS, TASKS.c.case_id == CASES.c.id)
                          .where(TASKS.c.state == "open", CASES.c.status != "open").order_by(CASES.c.id, TASKS.c.id))


def inspect(case_id: int, state: str, definition_id: int, next_timer_at: datetime | None, has_incident: bool,
            open_tasks: list[Any], open_incident: bool) -> list[Finding]:
    """What is wrong with one open case, from its stored state and rows (read-only)."""
    definition = load_definition(definition_id)
    workflow = loads(state, definition.spec, definition.subprocess_specs)
    findings = []
    waiting = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    rows = {r.spiff_id: r for r in open_tasks}
    for spiff_id, r in rows.items():
        if spiff_id not in waiting:
            findings.append(_finding(case_id, "task_row_not_waiting", task=r.id, name=r.name))
    for spiff_id, t in waiting.items():
        if spiff_id not in rows:
            findings.append(_finding(case_id, "task_without_row", t.task_spec.bpmn_id,
                                     name=t.task_spec.bpmn_name or t.task_spec.bpmn_id))
    if workflow.is_completed():
        findings.append(_finding(case_id, "ended_but_open"))
    timer = host.next_timer(workflow)
    if timer is not None and (next_timer_at is None or next_timer_at > timer + TIMER_SLACK):
        findings.append(_finding(case_id, "timer_not_marked", due=timer.isoformat(),
                                 mark=next_timer_at.isoformat() if next_timer_at else "—"))
    if not workflow.is_completed() and not waiting and timer is None and not open_incident:
        where = host.stalled(workflow)
        findings.append(_finding(case_id, "no_way_forward", where[-1] if where else None,
                                 where=" › ".join(where) or "—"))
    if has_incident and not open_incident:
        findings.append(_finding(case_id, "blocked_without_incident"))
    return findings


def _scan(case_ids: list[int] | None, batch: int, result: CheckResult) -> None:
    after = 0
    wanted = sorted(set(case_ids)) if case_ids is not None else None
    while True:
        with transaction():  # one read snapshot per batch; nothing is written
            statement = _OPEN_CASES if wanted is None else _OPEN_CASES.where(CASES.c.id.in_(wanted))
            rows = session.execute(statement, {"k_after": after, "k_limit": batch}).all()
            if not rows:
                return
            ids = [r.id for r in rows]
            tasks: dict[int, list[Any]] = {}
            for t in session.execute(_OPEN_TASKS_OF, {"k_cases": ids}):
                tasks.setdefault(t.case_id, []).append(t)
            blocked = set(session.scalars(_OPEN_INCIDENTS_OF, {"k_cases": ids}))
        for r in rows:
            result.cases += 1
            try:
                result.findings += inspect(r.id, r.state, r.definition_id, r.next_timer_at, r.has_incident,
                                           tasks.get(r.id, []), r.id in blocked)
            except Exception as exc:  # noqa: BLE001 - a state that cannot even be read is a finding too
                result.findings.append(_finding(r.id, "unreadable", error=f"{type(exc).__name__}: {exc}"))
        after = ids[-1]


def _ended_cases(case_ids: list[int] | None, result: CheckResult) -> None:
    with transaction():
        statement = _ENDED_WITH_OPEN_TASKS if case_ids is None else _ENDED_WITH_OPEN_TASKS.where(CASES.c.id.in_(case_ids))
        for r in session.execute(statement):
            result.findings.append(_finding(r.id, "ended_with_open_task", status=r.status, task=r.task_id, name=r.name))


def _flag(case_id: int, actor: Any) -> int | None:
    """Read the case again under its lock; if it is still wrong and has no open incident, open one."""
    with transaction():
        # the workflow row first, as the engine host locks it (the two then never wait on each other),
        # by a write that changes nothing: a row lock on PostgreSQL, the writer's lock on SQLite (whose
        # driver would read each SELECT in a snapshot of its own), so what follows is read at one moment
        session.execute(_TOUCH_INSTANCE, {"k_case": case_id})
        instance = session.execute(select(INSTANCES.c.state, INSTANCES.c.definition_id, INSTANCES.c.next_timer_at)
                                   .where(INSTANCES.c.case_id == case_id)).one_or_none()
        case = session.get(Case, case_id, populate_existing=True)  # not a copy read before the lock
        if case is None:
            return None
        if session.scalar(select(Incident.id).where(Incident.case_id == case_id, Incident.resolved_at.is_(None)).limit(1)):
            return None
        open_tasks = session.execute(_OPEN_TASKS_OF, {"k_cases": [case_id]}).all()
        if case.status == "open" and instance is not None:
            findings = inspect(case_id, instance.state, instance.definition_id, instance.next_timer_at,
                               case.has_incident, open_tasks, False)
        else:
            findings = [_finding(case_id, "ended_with_open_task", status=case.status, task=t.id, name=t.name)
                        for t in open_tasks]
        if not findings:
            return None
        element = next((f.element for f in findings if f.element), None)
        incident = Incident(case_id=case_id, element=element, error="\n".join(f.message for f in findings)[:4000],
                            action=json.dumps({"type": "inconsistent", "findings": [f.code for f in findings]}))
        session.add(incident)
        case.has_incident = True
        session.flush()
        record("incident_opened", actor=actor, case_id=case_id, incident=incident.id, element=element,
               error=incident.error[:500], found_by="consistency check")
        log.warning("consistency check: case %s: %s", case_id, "; ".join(f.code for f in findings))
        return incident.id


def check_cases(case_ids: list[int] | None = None, open_incidents: bool = True, batch: int = 200,
                actor: Any = None) -> CheckResult:
    """Check every open case (or ``case_ids``), plus ended cases that still have open tasks.
    With ``open_incidents``, each problem case without an open incident gets one (its own
    transaction), so it shows on the incidents page with its repair actions."""
    started = time.perf_counter()
    result = CheckResult()
    _scan(case_ids, batch, result)
    _ended_cases(case_ids, result)
    if open_incidents:
        for case_id in result.problem_cases:
            try:
                incident_id = _flag(case_id, actor)
            except Exception:  # noqa: BLE001 - one case that cannot be flagged must not stop the others
                log.exception("consistency check: could not flag case %s", case_id)
                continue
            if incident_id is not None:
                result.incidents.append(incident_id)
    result.seconds = time.perf_counter() - started
    return result
