"""What a supervisor sees: everything open under the units where they hold the supervisor role.

Lights are comparisons of indexed deadline columns with now (app.sla.deadlines), so counting
10,000 open tasks by light is one aggregate query over the partial index of open tasks.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, false, func, or_, select
from sqlalchemy.orm import joinedload

from app.cases.models import Case
from app.core import clock
from app.core.auth import Principal
from app.core.db import session
from app.sla.deadlines import LIGHTS, light_condition
from app.supervision.models import TaskRequest
from app.tasks.models import Task

TASKS, CASES, REQUESTS = Task.__table__, Case.__table__, TaskRequest.__table__


def _scope(principal: Principal, column: Any) -> Any:
    ranges = principal.ranges("supervisor")
    if not ranges:
        return false()
    return or_(*(and_(column >= lo, column < hi) for _r, lo, hi in ranges))


def _open_tasks(principal: Principal) -> list[Any]:
    return [TASKS.c.state == "open", _scope(principal, TASKS.c.unit_path)]


def _case_in_scope(principal: Principal) -> Any:
    return exists().where(TASKS.c.case_id == CASES.c.id, *_open_tasks(principal))


@dataclass
class Overview:
    lights: dict[str, int]  # open tasks by light (no-limit tasks are not counted)
    parked: int
    escalated: int
    returned_waiting: int
    extension_requests: int
    return_requests: int


def overview(principal: Principal, now: datetime | None = None) -> Overview:
    at = now or clock.now()
    counts = [func.count(case((light_condition(name, TASKS, at), 1))) for name in LIGHTS]
    row = session.execute(select(*counts).where(*_open_tasks(principal), TASKS.c.due_at.is_not(None))).one()
    pending = dict(session.execute(select(REQUESTS.c.kind, func.count()).where(
        REQUESTS.c.state == "pending", _scope(principal, REQUESTS.c.unit_path)).group_by(REQUESTS.c.kind)).all())
    return Overview(lights=dict(zip(LIGHTS, row)), parked=_count_cases(principal, CASES.c.parked_at.is_not(None)),
                    escalated=_count_cases(principal, _escalated()), returned_waiting=len(returned_waiting(principal)),
                    extension_requests=pending.get("extension", 0), return_requests=pending.get("return", 0))


def _count_cases(principal: Principal, condition: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(CASES).where(
        CASES.c.status == "open", condition, _case_in_scope(principal))) or 0)


def _escalated() -> Any:
    return or_(CASES.c.escalation_count > 0, CASES.c.supervised_at.is_not(None))


def tasks(principal: Principal, light: str | None = None, limit: int = 50, offset: int = 0,
          now: datetime | None = None) -> list[tuple[Task, Case]]:
    """Open tasks under the supervisor's units, most urgent first, optionally of one light."""
    at = now or clock.now()
    query = (select(Task, Case).join(Case, Case.id == Task.case_id).where(*_open_tasks(principal))
             .options(joinedload(Task.org_unit), joinedload(Task.claimed_by))
             .order_by(Task.due_at.is_(None), Task.due_at, Task.id).limit(limit).offset(offset))
    if light is not None:
        query = query.where(light_condition(light, TASKS, at))
    return [(t, c) for t, c in session.execute(query).unique().all()]


def escalated_cases(principal: Principal, limit: int = 50) -> list[Case]:
    """Open cases that climbed a tier or were put under supervision by an overdue timer."""
    return list(session.scalars(select(Case).where(Case.status == "open", _escalated(), _case_in_scope(principal))
                                .order_by(Case.supervised_at.desc().nulls_last(), Case.updated_at.desc()).limit(limit)))


def parked_cases(principal: Principal, limit: int = 50) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.status == "open", Case.parked_at.is_not(None),
                                                   _case_in_scope(principal)).order_by(Case.parked_at).limit(limit)))


def returned_waiting(principal: Principal, limit: int = 50) -> list[tuple[Task, Case]]:
    """Dispatch tasks of returned cases (退单) waiting to be dispatched again."""
    query = (select(Task, Case).join(Case, Case.id == Task.case_id)
             .where(*_open_tasks(principal), Task.stage == "assign", Case.return_count > 0)
             .options(joinedload(Task.org_unit)).order_by(Task.created_at).limit(limit))
    return [(t, c) for t, c in session.execute(query).unique().all()]


def pending_requests(principal: Principal, kind: str | None = None, limit: int = 50) -> list[TaskRequest]:
    query = (select(TaskRequest).where(TaskRequest.state == "pending", _scope(principal, REQUESTS.c.unit_path))
             .options(joinedload(TaskRequest.requested_by)).order_by(TaskRequest.created_at).limit(limit))
    if kind is not None:
        query = query.where(TaskRequest.kind == kind)
    return list(session.scalars(query))
