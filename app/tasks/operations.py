"""Claim, unclaim and complete: the changes a caseworker makes to a task.

Claims are conditional updates (``... WHERE claimed_by_id IS NULL``), so of two people claiming
the same task exactly one wins and the other is told who has it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update

from app.attachments.operations import StoredFile, attach_step_photos
from app.cases.models import Case
from app.core.audit import record
from app.core.auth import Principal
from app.core.db import session, utcnow
from app.core.errors import Conflict, Forbidden, ValidationFailed
from app.engine import host
from app.engine.definitions import load_definition
from app.forms import schema as forms
from app.orgs.models import User
from app.sla import deadlines
from app.tasks.models import Task
from app.tasks.queries import can_claim


def _holder(task: Task) -> User | None:
    return session.get(User, task.claimed_by_id) if task.claimed_by_id else None


STATE_ZH = {"completed": "已完成", "cancelled": "已取消"}


def _not_open(task: Task) -> Conflict:
    return Conflict(f"该任务{STATE_ZH.get(task.state, task.state)} / the task is {task.state}", state=task.state)


def claim_task(task: Task, principal: Principal) -> Task:
    if task.state != "open":
        raise _not_open(task)
    if not can_claim(principal, task):
        raise Forbidden("您没有签收此任务的角色或单位权限 / you may not claim this task")
    now = utcnow()
    result = session.execute(update(Task).where(Task.id == task.id, Task.state == "open", Task.claimed_by_id.is_(None))
                             .values(claimed_by_id=principal.id, claimed_at=now).execution_options(synchronize_session=False))
    session.refresh(task)
    if result.rowcount == 0:
        if task.claimed_by_id == principal.id:
            return task
        holder = _holder(task)
        raise Conflict(f"任务已被 {holder.display_name if holder else '他人'} 签收 / already claimed by {holder.username if holder else 'someone else'}",
                       claimed_by=holder.username if holder else None)
    record("task_claimed", actor=principal.user, case_id=task.case_id, task_id=task.id, task=task.name)
    start_clock(task, principal.user, now)
    return task


def start_clock(task: Task, actor: Any, now: datetime) -> None:
    """The department's clock starts when it signs for the task (签收): a task with a sign-for
    limit gets its own limit from ``now`` on its first claim, and the process's timers follow."""
    if task.sign_limit is None or task.started_at is not None or task.time_limit is None:
        return
    timing = deadlines.timing(now, task.time_limit)
    case = session.get(Case, task.case_id)
    assert case is not None
    if case.parked_at is not None:  # the clock stands: the deadlines wait for the un-park
        session.execute(update(Task).where(Task.id == task.id).values(
            started_at=now, yellow_at=timing.yellow_at, due_at=timing.due_at).execution_options(synchronize_session=False))
    else:
        try:
            host.reschedule(case, {task.id: timing}, actor, {"why": "claimed", "task_id": task.id})
        except (host.TaskNotReady, host.CaseConflict, host.CaseHasIncident) as exc:
            raise Conflict(str(exc)) from None
    session.refresh(task)


def unclaim_task(task: Task, principal: Principal) -> Task:
    if task.state != "open":
        raise _not_open(task)
    if task.claimed_by_id != principal.id:
        raise Conflict("只有签收人可以退回签收 / only the holder can release this task",
                       claimed_by=getattr(_holder(task), "username", None))
    result = session.execute(update(Task).where(Task.id == task.id, Task.claimed_by_id == principal.id, Task.state == "open")
                             .values(claimed_by_id=None, claimed_at=None).execution_options(synchronize_session=False))
    session.refresh(task)
    if result.rowcount == 0:
        raise Conflict("任务已被他人更新，请刷新 / the task changed meanwhile; reload it")
    record("task_unclaimed", actor=principal.user, case_id=task.case_id, task_id=task.id, task=task.name)
    return task


def task_form(task: Task, locale: str = "zh") -> dict[str, Any]:
    """The task's form schema (from the case's process version), with unit lists resolved."""
    return forms.resolve(load_definition(task.definition_id).forms[task.form], locale, scope=task.unit_path)


def complete_task(task: Task, principal: Principal, data: dict[str, Any], locale: str = "zh",
                  photos: Mapping[str, Sequence[StoredFile]] | None = None) -> Case:
    """Validate the form data, then let the engine complete the task and move the case on.

    The form's photo fields are tied to the task first (app.attachments.operations.attach_step_photos):
    the ids in ``data`` and the files in ``photos`` (checked and stored, no row yet). A refused
    form raises ValidationFailed, and the request's rollback takes the new rows with it.

    If the process fails on the way (a broken expression), the submission is kept as an incident
    for an administrator and the returned case has ``has_incident`` set.
    """
    if task.state != "open":
        raise _not_open(task)
    if task.claimed_by_id != principal.id:
        raise Conflict("请先签收任务 / claim the task before completing it" if task.claimed_by_id is None
                       else f"任务由 {getattr(_holder(task), 'display_name', '?')} 签收 / the task is held by someone else")
    schema = task_form(task, locale)
    case = session.get(Case, task.case_id)
    assert case is not None
    data = dict(data)
    photo_errors = attach_step_photos(case, task, principal.user, schema, data, photos) \
        if forms.photo_fields(schema) or photos else {}
    errors = {**forms.validate(schema, data, locale), **photo_errors}
    if errors:
        raise ValidationFailed("表单有误 / the form has errors", errors=errors)
    values = forms.complete_data(schema, data)
    record("task_completed", actor=principal.user, case_id=case.id, task_id=task.id, task=task.name,
           bpmn_id=task.bpmn_id, data=values)
    try:
        host.complete_task(case, task, values, principal.user, proposals={
            name: prop["x-default-from"] for name, prop in schema.get("properties", {}).items()
            if isinstance(prop, dict) and isinstance(prop.get("x-default-from"), str)})
    except host.TaskNotReady as exc:
        raise Conflict(str(exc)) from None
    except (host.CaseHasIncident, host.CaseConflict) as exc:
        raise Conflict(str(exc)) from None
    except host.EngineIncidentError:
        pass  # kept for an administrator: the caller sees case.has_incident
    if case.status != "open" and case.repeat_count:
        from app.duplicates.operations import inform_merged_reporters
        inform_merged_reporters(case, principal.user)
    return case


def proposal(task: Task, schema: dict[str, Any]) -> dict[str, Any]:
    """What the rules proposed for this step (the form's ``x-proposal`` variables) and the values
    its fields start with. Empty for forms that name no proposal."""
    names = schema.get("x-proposal") or []
    if not names or task.state != "open":
        return {}
    case = session.get(Case, task.case_id)
    assert case is not None
    data = host.task_data(case, task)
    return {name: data.get(name) for name in names}
