"""Model → API dictionaries. Reads here are plain column selects (no ORM entities): the API answers
every create and complete with the whole case, so this is on the hot path."""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from app.cases.models import Case
from app.core import clock
from app.attachments.operations import case_attachments
from app.cases.privacy import reporter_visible
from app.core.audit import AuditEvent
from app.duplicates.queries import duplicate_candidates, merged_cases
from app.core.db import session
from app.sla.deadlines import light
from app.orgs.directory import directory
from app.orgs.models import User
from app.tasks.models import Task
from app.tasks.queries import candidates

TASKS, AUDIT, USERS = Task.__table__, AuditEvent.__table__, User.__table__


def unit_dict(unit_id: int | None) -> dict[str, Any] | None:
    info = directory().by_id.get(unit_id) if unit_id else None
    return {"code": info.code, "name": info.name, "kind": info.kind} if info else None


def _claimed_by(task: Any) -> str | None:
    if not task.claimed_by_id:
        return None
    name = getattr(task, "claimed_by_name", None)  # present on rows read by open_task_rows
    if name is None and isinstance(task, Task) and task.claimed_by is not None:
        name = task.claimed_by.username
    return name


def task_dict(task: Any, cands: list[str] | None = None, now: Any = None) -> dict[str, Any]:
    """A task (ORM object or row with the same columns) as the API shows it."""
    is_open = task.state == "open"
    return {
        "id": task.id, "case_id": task.case_id, "name": task.name, "bpmn_id": task.bpmn_id, "stage": task.stage,
        "role": task.role, "org_unit": unit_dict(task.org_unit_id), "state": task.state,
        "claimed_by": _claimed_by(task), "claimed_at": task.claimed_at, "candidates": cands or [],
        "created_at": task.created_at, "due_at": task.due_at, "time_limit": task.time_limit,
        "yellow_at": task.yellow_at, "sign_limit": task.sign_limit, "started_at": task.started_at,
        "light": light(task.yellow_at, task.due_at, now or clock.now(), task.paused_at) if is_open else None,
        "paused": task.paused_at is not None, "extension_minutes": task.extension_minutes,
        "urge_count": task.urge_count,
    }


def request_dict(req: Any) -> dict[str, Any]:
    """An extension or return request as the API shows it."""
    return {"id": req.id, "kind": req.kind, "task_id": req.task_id, "case_id": req.case_id, "state": req.state,
            "amount": req.amount, "minutes": req.minutes, "reason": req.reason,
            "requested_by": req.requested_by.username, "created_at": req.created_at,
            "decided_by": req.decided_by.username if req.decided_by else None, "decided_at": req.decided_at,
            "decision_reason": req.decision_reason}


def notification_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "kind": row.kind, "case_id": row.case_id, "task_id": row.task_id, "message": row.message,
            "actor": row.actor_name, "created_at": row.created_at, "read": row.read_at is not None}


_OPEN_TASKS = (select(TASKS, USERS.c.username.label("claimed_by_name"))
               .outerjoin(USERS, USERS.c.id == TASKS.c.claimed_by_id)
               .where(TASKS.c.case_id == bindparam("k_case"), TASKS.c.state == "open").order_by(TASKS.c.id))
_HISTORY = (select(AUDIT.c.id, AUDIT.c.at, AUDIT.c.actor_name, AUDIT.c.action, AUDIT.c.task_id, AUDIT.c.detail)
            .where(AUDIT.c.case_id == bindparam("k_case")).order_by(AUDIT.c.id))


def open_task_rows(case_id: int) -> list[Any]:
    """The case's open tasks with the claimer's username, as rows."""
    return list(session.connection().execute(_OPEN_TASKS, {"k_case": case_id}))


def history(case_id: int) -> list[dict[str, Any]]:
    return history_dicts(session.connection().execute(_HISTORY, {"k_case": case_id}).mappings())


def history_dicts(rows: Any) -> list[dict[str, Any]]:
    """Audit rows (mappings with the table's columns) as the API's history entries."""
    return [{"id": r["id"], "at": r["at"], "actor": r["actor_name"], "action": r["action"], "task_id": r["task_id"],
             "detail": r["detail"]} for r in rows]


def case_dict(case: Case, tasks: list[Any] | None = None, events: list[dict[str, Any]] | None = None,
              candidates_found: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The case as the API shows it. ``tasks`` (its open tasks), ``events`` (its whole audit
    trail, as written) and ``candidates_found`` (its duplicate candidates, as
    :func:`app.duplicates.queries.duplicate_candidates` shows them) may be passed when the caller
    has them already, saving the queries."""
    tasks = open_task_rows(case.id) if tasks is None else tasks
    cands = candidates(tasks)
    units = directory().by_id
    now = clock.now()
    out: dict[str, Any] = {
        "id": case.id, "number": case.number, "status": case.status, "stage": case.stage, "channel": case.channel,
        "external_id": case.external_id, "title": case.title, "description": case.description,
        "address": case.address, "lat": case.lat, "lng": case.lng, "category_code": case.category_code,
        "urgency": case.urgency, "reporter": _reporter(case),
        "grid_unit": units[case.grid_unit_id].code if case.grid_unit_id in units else None,
        "handling_unit": units[case.handling_unit_id].code if case.handling_unit_id in units else None,
        "rework_count": case.rework_count, "reopen_count": case.reopen_count, "incident": case.has_incident,
        "tier": case.tier, "escalation_count": case.escalation_count, "return_count": case.return_count,
        "due_at": case.due_at,
        "light": light(case.yellow_at, case.due_at, now, case.parked_at) if case.status == "open" else None,
        "supervised_at": case.supervised_at, "parked": case.parked_at is not None, "park_reason": case.park_reason,
        "created_at": case.created_at, "updated_at": case.updated_at, "closed_at": case.closed_at,
        "current_tasks": [task_dict(t, cands.get(t.id), now) for t in tasks],
    }
    out["history"] = history(case.id) if events is None else history_dicts(events)
    out.update(extension=case.extension_data, merged_into=case.merged_into_id, repeat_count=case.repeat_count or 0)
    # the trail says whether there is anything more to read: candidates are stored together with
    # a duplicates_found event, attachments with attachment_added, and a merge counts a repeat
    # on the master. Most cases have none of them, and the answer skips three queries.
    actions = {e["action"] for e in out["history"]}
    if candidates_found is None:
        candidates_found = duplicate_candidates(case.id) if "duplicates_found" in actions else []
    out["duplicate_candidates"] = candidates_found if case.status == "open" else []
    out["merged_cases"] = [
        {"case_id": m.id, "number": m.number, "channel": m.channel, "merged_at": m.merged_at,
         "reporter": _reporter(m)} for m in merged_cases(case.id)] if case.repeat_count else []
    out["attachments"] = attachment_dicts(case_attachments(case.id)) if "attachment_added" in actions else []
    return out


def _reporter(case: Any) -> dict[str, Any]:
    """The reporter, or a confidential mark for callers who may not see them (app.cases.privacy)."""
    if not reporter_visible(case):
        return {"name": None, "phone": None, "confidential": True}
    return {"name": case.reporter_name, "phone": case.reporter_phone}


def attachment_dict(a: Any, steps: dict[int, str] | None = None) -> dict[str, Any]:
    """An attachment; a step's photo names its task, step (``steps``: task id → BPMN id), field and tag."""
    return {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size, "source": a.source,
            "uploaded_by": a.uploaded_by.username if a.uploaded_by else None, "created_at": a.created_at,
            "url": f"/api/v1/attachments/{a.id}", "task_id": a.task_id,
            "step": (steps or {}).get(a.task_id) if a.task_id is not None else None, "field": a.field, "tag": a.tag}


def attachment_dicts(attachments: list[Any]) -> list[dict[str, Any]]:
    """Attachments as the API lists them (one query for the steps of their tasks)."""
    task_ids = {a.task_id for a in attachments if a.task_id is not None}
    steps = dict(session.execute(select(Task.id, Task.bpmn_id).where(Task.id.in_(task_ids))).all()) if task_ids else {}
    return [attachment_dict(a, steps) for a in attachments]


def notice_dict(n: Any) -> dict[str, Any]:
    return {"id": n.id, "case_id": n.case_id, "master_id": n.master_id, "channel": n.channel,
            "external_id": n.external_id, "reporter_name": n.reporter_name, "contact": n.contact,
            "message": n.message, "created_at": n.created_at, "delivered_at": n.delivered_at}
