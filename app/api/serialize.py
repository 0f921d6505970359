"""Model → API dictionaries, shared by the API views and the tests' expectations."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.cases.models import Case
from app.core.audit import AuditEvent
from app.core.db import session
from app.orgs.directory import directory
from app.tasks.models import Task
from app.tasks.queries import candidates, open_tasks


def unit_dict(unit_id: int | None) -> dict[str, Any] | None:
    info = directory().by_id.get(unit_id) if unit_id else None
    return {"code": info.code, "name": info.name, "kind": info.kind} if info else None


def task_dict(task: Task, cands: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": task.id, "case_id": task.case_id, "name": task.name, "bpmn_id": task.bpmn_id, "stage": task.stage,
        "role": task.role, "org_unit": unit_dict(task.org_unit_id), "state": task.state,
        "claimed_by": task.claimed_by.username if task.claimed_by_id and task.claimed_by else None,
        "claimed_at": task.claimed_at, "candidates": cands or [], "created_at": task.created_at,
        "due_at": task.due_at, "time_limit": task.time_limit,
    }


def case_dict(case: Case, with_history: bool = True) -> dict[str, Any]:
    tasks = open_tasks(case.id)
    cands = candidates(tasks)
    units = directory().by_id
    out: dict[str, Any] = {
        "id": case.id, "number": case.number, "status": case.status, "stage": case.stage, "channel": case.channel,
        "external_id": case.external_id, "title": case.title, "description": case.description,
        "address": case.address, "lat": case.lat, "lng": case.lng, "category_code": case.category_code,
        "urgency": case.urgency, "reporter": {"name": case.reporter_name, "phone": case.reporter_phone},
        "grid_unit": units[case.grid_unit_id].code if case.grid_unit_id in units else None,
        "handling_unit": units[case.handling_unit_id].code if case.handling_unit_id in units else None,
        "rework_count": case.rework_count, "reopen_count": case.reopen_count, "incident": case.has_incident,
        "created_at": case.created_at, "updated_at": case.updated_at, "closed_at": case.closed_at,
        "current_tasks": [task_dict(t, cands.get(t.id)) for t in tasks],
    }
    if with_history:
        out["history"] = [
            {"id": e.id, "at": e.at, "actor": e.actor_name, "action": e.action, "task_id": e.task_id, "detail": e.detail}
            for e in session.scalars(select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id))
        ]
    return out
