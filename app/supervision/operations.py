"""督办 actions on tasks and cases. Each is one state change, audited with its reason.

Who may do what:
* a **supervisor** over the task's unit (or above it): reassign, urge, decide extension and return
  requests, return directly, escalate, park and un-park;
* the **holder** of a task: ask for an extension (before the deadline), ask for a return;
* whoever **may work on** the task (its role over its unit): escalate it (吹哨), ask for a return.

Flow changes (escalation, return) are BPMN signals: the diagram decides where they lead, and a
step without a catching boundary event refuses them. Deadline changes go through
:func:`app.engine.host.reschedule`, which re-arms the process's timers.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.cases.models import Case
from app.core.audit import record
from app.core.auth import Principal
from app.core.db import session, utcnow
from app.core.errors import Conflict, Forbidden, ValidationFailed
from app.engine import host
from app.notifications.operations import notify
from app.orgs.directory import directory
from app.orgs.models import RoleAssignment, User
from app.sla import deadlines
from app.sla.calendar import parse_limit
from app.supervision.models import TaskRequest
from app.tasks.models import Task
from app.tasks.operations import start_clock
from app.tasks.queries import holders_condition

MAX_REASON = 1000
MAX_EXTENSION_MINUTES = 30 * 7 * 60  # 30 working days of the default calendar


# ---------------------------------------------------------------------------- checks

def _reason(reason: Any) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if len(text) < 2:
        raise ValidationFailed("请填写理由 / a reason is required", errors={"reason": ["请填写理由（至少 2 个字） / give a reason (2 characters at least)"]})
    if len(text) > MAX_REASON:
        raise ValidationFailed("理由过长 / reason too long", errors={"reason": [f"最多 {MAX_REASON} 字 / at most {MAX_REASON} characters"]})
    return text


def _open(task: Task) -> None:
    if task.state != "open":
        raise Conflict(f"任务已结束 / the task is {task.state}", state=task.state)


def _supervisor(principal: Principal, unit_path: str) -> None:
    if not principal.covers("supervisor", unit_path):
        raise Forbidden("您不是该单位的督办员 / you are not a supervisor over this unit")


def _may_work_on(principal: Principal, task: Task) -> bool:
    return task.claimed_by_id == principal.id or principal.covers(task.role, task.unit_path)


def _case_of(task: Task) -> Case:
    case = session.get(Case, task.case_id)
    assert case is not None
    return case


def _engine_call(call: Any, *args: Any) -> None:
    """Run a host action, turning the engine's refusals into API errors."""
    try:
        call(*args)
    except (host.EventNotExpected, host.TaskNotReady, host.CaseConflict, host.CaseHasIncident) as exc:
        raise Conflict(str(exc)) from None


def _timing(task: Task) -> deadlines.Timing | None:
    if task.due_at is None or task.yellow_at is None:
        return None
    return deadlines.Timing(task.started_at, task.yellow_at, task.due_at)


def _supervisor_ids(unit_path: str) -> list[int]:
    return _candidate_ids("supervisor", unit_path)


def _candidate_ids(role: str, unit_path: str) -> list[int]:
    return list(session.scalars(select(RoleAssignment.user_id).join(User, User.id == RoleAssignment.user_id).where(
        holders_condition(role, unit_path))))


def _holder_or_candidates(task: Any) -> list[int]:
    return [task.claimed_by_id] if task.claimed_by_id else _candidate_ids(task.role, task.unit_path)


# ---------------------------------------------------------------------------- effects of the process

_MARK_SUPERVISED = update(Case.__table__).where(Case.__table__.c.id == bindparam("k_case"))


def process_reminder(case: Case, rows: list[Any], message: str, now: datetime) -> None:
    """A reminder timer fired (催办): notify the holders of those open tasks."""
    for r in rows:
        notify(_holder_or_candidates(r), "reminder", message, case_id=case.id, task_id=r.id)
        record("task_reminded", case_id=case.id, task_id=r.id, at=now, task=r.name, message=message)


def process_supervision(case: Case, rows: list[Any], message: str, now: datetime) -> None:
    """An overdue timer fired (转督办): alert the supervisors over those tasks' units and put the
    case on the supervisors' list of escalated cases."""
    for r in rows:
        notify(_supervisor_ids(r.unit_path), "overdue", message, case_id=case.id, task_id=r.id)
    record("case_supervised", case_id=case.id, at=now, message=message,
           tasks=[r.id for r in rows])
    # a plain UPDATE like the engine's own writes of the case row (no ORM flush on this path)
    session.connection().execute(_MARK_SUPERVISED, {"k_case": case.id, "supervised_at": now})
    set_committed_value(case, "supervised_at", now)


def register_effect_handlers() -> None:
    """Hand the engine what to do when a process asks for ``remind`` (催办) or ``supervise`` (转督办)."""
    from app.engine.effects import register_handler
    register_handler("remind", process_reminder)
    register_handler("supervise", process_supervision)


# ---------------------------------------------------------------------------- supervisor actions

def reassign_task(task: Task, principal: Principal, reason: Any, user: User | None = None,
                  unit_code: str | None = None) -> Task:
    """Give a task to another user (who must be able to take it) and/or another unit."""
    _open(task)
    _supervisor(principal, task.unit_path)
    text = _reason(reason)
    if user is None and unit_code is None:
        raise ValidationFailed("请指定用户或单位 / name a user or a unit",
                               errors={"user": ["指定用户或单位之一 / give a user or a unit"]})
    before = {"unit": directory().by_id[task.org_unit_id].code, "user": getattr(task.claimed_by, "username", None)}
    if (unit_code is None or unit_code == before["unit"]) and (user is None or user.id == task.claimed_by_id):
        raise ValidationFailed("改派没有改变什么 / the reassignment changes nothing",
                               errors={"user": ["请选择另一个单位，或指定一名（其他）人员 / choose another unit, or another person"]})
    case = _case_of(task)
    if unit_code is not None and unit_code != before["unit"]:
        unit = directory().by_code.get(unit_code)
        if unit is None:
            raise ValidationFailed("单位不存在 / unknown unit", errors={"unit": [f"没有单位 {unit_code} / no unit {unit_code}"]})
        if not principal.covers("supervisor", unit.path):
            raise Forbidden("只能改派到您督办范围内的单位 / you can only reassign within your units")
        if not _candidate_ids(task.role, unit.path):
            raise ValidationFailed("该单位没有可办理此任务的人员 / nobody at that unit can take this task",
                                   errors={"unit": [f"{unit.name} 没有“{task.role}”角色的人员 / nobody holds the role {task.role} there"]})
        _engine_call(host.move_task, case, task, unit_code, principal.user)
    if user is not None:
        if not user.active:
            raise ValidationFailed("用户不可用 / user not available", errors={"user": ["用户已停用 / user inactive"]})
        from app.core.auth import load_principal
        target = load_principal(user.id)
        if target is None or not target.covers(task.role, task.unit_path):
            raise ValidationFailed("该用户不能办理此任务 / that user cannot take this task",
                                   errors={"user": [f"{user.username} 没有该单位的“{task.role}”角色 / {user.username} does not hold the role {task.role} over the task's unit"]})
        now = utcnow()
        session.execute(update(Task).where(Task.id == task.id, Task.state == "open")
                        .values(claimed_by_id=user.id, claimed_at=now).execution_options(synchronize_session=False))
        session.refresh(task)
        start_clock(task, principal.user, now)
    record("task_reassigned", actor=principal.user, case_id=task.case_id, task_id=task.id, task=task.name,
           reason=text, before=before, unit=unit_code, user=getattr(user, "username", None))
    recipients = _holder_or_candidates(task)
    notify(recipients, "reassigned", f"督办员改派给您：{task.name}。理由：{text}", case_id=task.case_id,
           task_id=task.id, actor=principal.user)
    return task


def urge_task(task: Task, principal: Principal, reason: Any) -> Task:
    """催办: remind the holder (or, unclaimed, everyone who may take it)."""
    _open(task)
    _supervisor(principal, task.unit_path)
    text = _reason(reason)
    session.execute(update(Task).where(Task.id == task.id).values(urge_count=Task.urge_count + 1)
                    .execution_options(synchronize_session=False))
    session.refresh(task)
    sent = notify(_holder_or_candidates(task), "urge", f"督办催办：{task.name}。{text}", case_id=task.case_id,
                  task_id=task.id, actor=principal.user)
    record("task_urged", actor=principal.user, case_id=task.case_id, task_id=task.id, task=task.name, reason=text,
           notified=sent, urge_count=task.urge_count)
    return task


def escalate_task(task: Task, principal: Principal, reason: Any) -> Case:
    """上报 / 吹哨: the case leaves this tier for the next one, as the diagram says."""
    _open(task)
    if not (_may_work_on(principal, task) or principal.covers("supervisor", task.unit_path)):
        raise Forbidden("您不能上报此任务 / you may not escalate this task")
    text = _reason(reason)
    case = _case_of(task)
    from_tier = case.tier
    _engine_call(host.signal, case, task, "escalate", {"reason": text, "by": principal.username,
                                                        "from_tier": from_tier}, principal.user)
    record("task_escalated", actor=principal.user, case_id=case.id, task_id=task.id, task=task.name, reason=text,
           tier=from_tier, to_tier=case.tier)
    notify(_supervisor_ids(task.unit_path), "escalated", f"案件上报：{task.name}。理由：{text}", case_id=case.id,
           task_id=task.id, actor=principal.user)
    return case


def _return(task: Task, case: Case, reason: str, principal: Principal) -> None:
    _engine_call(host.signal, case, task, "return", {"reason": reason, "by": principal.username}, principal.user)


def return_task(task: Task, principal: Principal, reason: Any) -> tuple[str, TaskRequest | None]:
    """退单. A supervisor over the unit returns it at once (back to dispatch); the handler asks for
    it, and a supervisor decides. Returns ``("returned", None)`` or ``("requested", request)``."""
    _open(task)
    text = _reason(reason)
    case = _case_of(task)
    if principal.covers("supervisor", task.unit_path):
        _return(task, case, text, principal)
        record("task_returned", actor=principal.user, case_id=case.id, task_id=task.id, task=task.name, reason=text)
        return "returned", None
    if not _may_work_on(principal, task):
        raise Forbidden("您不能对此任务申请退单 / you may not return this task")
    if not host.accepts_signal(case, task, "return"):
        raise Conflict(f"流程在此环节不接受退单 / the process does not accept a return at {task.bpmn_id}")
    return "requested", _raise_request(task, principal, "return", text)


def request_extension(task: Task, principal: Principal, reason: Any, hours: Any = None, days: Any = None) -> TaskRequest:
    """延期申请: the holder asks, before the deadline, for more working hours or days."""
    _open(task)
    if task.claimed_by_id != principal.id:
        raise Forbidden("只有签收人可以申请延期 / only the holder of the task can ask for an extension")
    text = _reason(reason)
    if (hours is None) == (days is None):
        raise ValidationFailed("请填写延期的工作时或工作日之一 / give hours or days",
                               errors={"hours": ["填写 hours 或 days 之一 / give either hours or days"]})
    field, amount = ("hours", hours) if hours is not None else ("days", days)
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationFailed("延期时长无效 / invalid amount", errors={field: ["须为正整数 / must be a positive whole number"]})
    limit = f"{amount}{'h' if field == 'hours' else 'd'}"
    try:
        minutes = parse_limit(limit, deadlines.calendar())
    except ValueError:  # longer than any time limit may be
        minutes = MAX_EXTENSION_MINUTES + 1
    if minutes > MAX_EXTENSION_MINUTES:
        raise ValidationFailed("延期过长 / extension too long", errors={field: ["最多 30 个工作日 / at most 30 working days"]})
    if task.due_at is None:
        raise ValidationFailed("此任务没有办理时限 / this task has no deadline", errors={field: ["无时限可延 / nothing to extend"]})
    if task.paused_at is None and task.due_at <= utcnow():
        raise ValidationFailed("已超过办理时限，不能再申请延期 / the deadline has passed",
                               errors={field: ["须在到期前申请 / ask before the deadline"]})
    return _raise_request(task, principal, "extension", text, minutes=minutes, amount=limit)


def _raise_request(task: Task, principal: Principal, kind: str, reason: str, minutes: int | None = None,
                   amount: str | None = None) -> TaskRequest:
    pending = session.scalar(select(TaskRequest.id).where(TaskRequest.task_id == task.id, TaskRequest.kind == kind,
                                                          TaskRequest.state == "pending"))
    if pending is not None:
        raise Conflict(f"此任务已有待审批的申请 #{pending} / a request is already waiting", request=pending)
    req = TaskRequest(kind=kind, task_id=task.id, case_id=task.case_id, unit_path=task.unit_path, minutes=minutes,
                      amount=amount, reason=reason, state="pending", requested_by_id=principal.id, created_at=utcnow())
    session.add(req)
    session.flush()
    label = "延期" if kind == "extension" else "退单"
    record(f"{kind}_requested", actor=principal.user, case_id=task.case_id, task_id=task.id, request=req.id,
           task=task.name, reason=reason, amount=amount)
    notify(_supervisor_ids(task.unit_path), "request_raised", f"{label}申请待审批：{task.name}。理由：{reason}",
           case_id=task.case_id, task_id=task.id, actor=principal.user)
    return req


def decide_request(req: TaskRequest, principal: Principal, approve: Any, reason: Any, kind: str | None = None) -> TaskRequest:
    """Approve or refuse a pending extension or return request."""
    if kind is not None and req.kind != kind:
        raise Conflict(f"申请 #{req.id} 不是{kind}申请 / request {req.id} is a {req.kind} request")
    _supervisor(principal, req.unit_path)
    if not isinstance(approve, bool):
        raise ValidationFailed("approve 须为 true 或 false", errors={"approve": ["须为 true 或 false / must be true or false"]})
    text = _reason(reason)
    if req.state != "pending":
        raise Conflict(f"申请已处理（{req.state}） / the request is already {req.state}", state=req.state)
    task = session.get(Task, req.task_id)
    assert task is not None
    if approve and task.state != "open":
        raise Conflict("任务已结束，无法批准 / the task has ended; the request cannot be approved")
    now = utcnow()
    changed = session.execute(update(TaskRequest).where(TaskRequest.id == req.id, TaskRequest.state == "pending").values(
        state="approved" if approve else "refused", decided_by_id=principal.id, decided_at=now, decision_reason=text)
        .execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict("申请已被他人处理 / someone else decided this request meanwhile")
    session.refresh(req)
    if approve and req.kind == "extension":
        current = _timing(task)
        assert current is not None and req.minutes is not None
        new = deadlines.extended(current, req.minutes)
        session.execute(update(Task).where(Task.id == task.id).values(extension_minutes=Task.extension_minutes + req.minutes)
                        .execution_options(synchronize_session=False))
        if task.paused_at is None:
            _engine_call(host.reschedule, _case_of(task), {task.id: new}, principal.user,
                         {"why": "extension", "request": req.id})
        else:
            session.execute(update(Task).where(Task.id == task.id).values(yellow_at=new.yellow_at, due_at=new.due_at)
                            .execution_options(synchronize_session=False))
        session.refresh(task)
    elif approve:
        _return(task, _case_of(task), req.reason, principal)
    label = "延期" if req.kind == "extension" else "退单"
    verdict = "已批准" if approve else "未批准"
    record(f"{req.kind}_{'approved' if approve else 'refused'}", actor=principal.user, case_id=req.case_id,
           task_id=req.task_id, request=req.id, reason=text,
           due_at=task.due_at.isoformat() if approve and req.kind == "extension" and task.due_at else None)
    notify([req.requested_by_id], f"{req.kind}_decided", f"您的{label}申请{verdict}：{task.name}。{text}",
           case_id=req.case_id, task_id=req.task_id, actor=principal.user)
    return req


def _case_supervisable(case: Case, principal: Principal) -> list[Task]:
    tasks = list(session.scalars(select(Task).where(Task.case_id == case.id, Task.state == "open")))
    if not tasks:
        raise Conflict("案件没有办理中的任务 / the case has no open task")
    if not any(principal.covers("supervisor", t.unit_path) for t in tasks):
        raise Forbidden("您不是该案件办理单位的督办员 / you are not a supervisor over this case's units")
    return tasks


def park_case(case: Case, principal: Principal, reason: Any) -> Case:
    """挂账: the problem cannot be solved now; the clocks of its tasks stop."""
    tasks = _case_supervisable(case, principal)
    text = _reason(reason)
    if case.parked_at is not None:
        raise Conflict("案件已挂账 / the case is already parked")
    now = utcnow()
    session.execute(update(Case).where(Case.id == case.id).values(parked_at=now, park_reason=text)
                    .execution_options(synchronize_session=False))
    session.refresh(case)
    timed = {t.id: None for t in tasks if t.due_at is not None}
    if timed:
        _engine_call(host.reschedule, case, timed, principal.user, {"why": "parked"})
    record("case_parked", actor=principal.user, case_id=case.id, reason=text)
    for t in tasks:
        notify(_holder_or_candidates(t), "parked", f"案件已挂账，计时暂停：{t.name}。{text}", case_id=case.id,
               task_id=t.id, actor=principal.user)
    return case


def unpark_case(case: Case, principal: Principal, reason: Any) -> Case:
    """Take a case off the parked list: each task keeps the working time it had left."""
    tasks = _case_supervisable(case, principal)
    text = _reason(reason)
    if case.parked_at is None:
        raise Conflict("案件未挂账 / the case is not parked")
    now = utcnow()
    timings: dict[int, deadlines.Timing | None] = {}
    for t in tasks:
        current = _timing(t)
        if current is not None:
            timings[t.id] = deadlines.resumed(current, t.paused_at or case.parked_at, now)
    session.execute(update(Case).where(Case.id == case.id).values(parked_at=None, park_reason=None)
                    .execution_options(synchronize_session=False))
    session.refresh(case)
    if timings:
        _engine_call(host.reschedule, case, timings, principal.user, {"why": "unparked"})
    else:
        session.execute(update(Task).where(Task.case_id == case.id, Task.state == "open").values(paused_at=None)
                        .execution_options(synchronize_session=False))
    record("case_unparked", actor=principal.user, case_id=case.id, reason=text)
    for t in tasks:
        notify(_holder_or_candidates(t), "unparked", f"案件取消挂账，恢复计时：{t.name}。{text}", case_id=case.id,
               task_id=t.id, actor=principal.user)
    return case
