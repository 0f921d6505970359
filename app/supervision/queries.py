"""What a supervisor sees: everything open under the units where they hold the supervisor role.

Lights are comparisons of indexed deadline columns with now (app.sla.deadlines), so counting
10,000 open tasks by light reads one covering index, and each list of the console (escalated,
parked, returned cases) starts from a partial index that holds only those cases. The conditions
of those partial indexes are repeated literally here: SQLite uses a partial index only when the
query's WHERE clause contains its condition.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, false, func, literal_column, or_, select, text
from sqlalchemy.orm import joinedload

from app.cases.models import ESCALATED_SQL, PARKED_SQL, RETURNED_SQL, Case
from app.core import clock
from app.core.auth import Principal
from app.core.db import session
from app.sla.deadlines import LIGHTS, light_condition
from app.supervision.models import TaskRequest
from app.tasks.models import Task

TASKS, CASES, REQUESTS = Task.__table__, Case.__table__, TaskRequest.__table__
OPEN = literal_column("'open'")
PENDING = literal_column("'pending'")
ASSIGN = literal_column("'assign'")


def _scope(principal: Principal, column: Any) -> Any:
    ranges = principal.ranges("supervisor")
    if not ranges:
        return false()
    return or_(*(and_(column >= lo, column < hi) for _r, lo, hi in ranges))


def _open_tasks(principal: Principal) -> list[Any]:
    return [TASKS.c.state == OPEN, _scope(principal, TASKS.c.unit_path)]


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
        REQUESTS.c.state == PENDING, _scope(principal, REQUESTS.c.unit_path)).group_by(REQUESTS.c.kind)).all())
    return Overview(lights=dict(zip(LIGHTS, row)), parked=_count_cases(principal, PARKED_SQL),
                    escalated=_count_cases(principal, ESCALATED_SQL), returned_waiting=_count_returned(principal),
                    extension_requests=pending.get("extension", 0), return_requests=pending.get("return", 0))


def _count_cases(principal: Principal, condition: str) -> int:
    return int(session.scalar(select(func.count()).select_from(CASES).where(
        text(condition), _case_in_scope(principal))) or 0)


def tasks(principal: Principal, light: str | None = None, limit: int = 50, offset: int = 0,
          now: datetime | None = None) -> list[tuple[Task, Case]]:
    """Open tasks under the supervisor's units, most urgent first, optionally of one light.

    Tasks with a deadline come in deadline order straight from an index (no sort of all open
    tasks); the few without one follow."""
    at = now or clock.now()

    def page(conditions: list[Any], order: list[Any], lim: int, off: int) -> list[tuple[Task, Case]]:
        query = (select(Task, Case).join(Case, Case.id == Task.case_id).where(*_open_tasks(principal), *conditions)
                 .options(joinedload(Task.org_unit), joinedload(Task.claimed_by))
                 .order_by(*order).limit(lim).offset(off))
        return [(t, c) for t, c in session.execute(query).unique().all()]

    timed = [literal_column("tasks.due_at IS NOT NULL")]
    if light is not None:
        timed.append(light_condition(light, TASKS, at))
    rows = page(timed, [Task.due_at, Task.id], limit, offset)
    if light is not None or len(rows) == limit:
        return rows
    timed_total = len(rows) + offset if rows else _count_timed(principal)
    return rows + page([Task.due_at.is_(None)], [Task.id], limit - len(rows), max(0, offset - timed_total))


def _count_timed(principal: Principal) -> int:
    return int(session.scalar(select(func.count()).select_from(TASKS).where(
        *_open_tasks(principal), TASKS.c.due_at.is_not(None))) or 0)


def escalated_cases(principal: Principal, limit: int = 50) -> list[Case]:
    """Open cases that climbed a tier or were put under supervision by an overdue timer."""
    return list(session.scalars(select(Case).where(text(ESCALATED_SQL), _case_in_scope(principal))
                                .order_by(Case.supervised_at.desc().nulls_last(), Case.updated_at.desc()).limit(limit)))


def parked_cases(principal: Principal, limit: int = 50) -> list[Case]:
    return list(session.scalars(select(Case).where(text(PARKED_SQL), _case_in_scope(principal))
                                .order_by(Case.parked_at).limit(limit)))


def _returned_conditions(principal: Principal) -> list[Any]:
    returned = select(CASES.c.id).where(text(RETURNED_SQL))
    return [*_open_tasks(principal), TASKS.c.stage == ASSIGN, TASKS.c.case_id.in_(returned)]


def returned_waiting(principal: Principal, limit: int = 50) -> list[tuple[Task, Case]]:
    """Dispatch tasks of returned cases (退单) waiting to be dispatched again."""
    query = (select(Task, Case).join(Case, Case.id == Task.case_id).where(*_returned_conditions(principal))
             .options(joinedload(Task.org_unit)).order_by(Task.created_at).limit(limit))
    return [(t, c) for t, c in session.execute(query).unique().all()]


def _count_returned(principal: Principal) -> int:
    return int(session.scalar(select(func.count()).select_from(TASKS).where(*_returned_conditions(principal))) or 0)


def pending_requests(principal: Principal, kind: str | None = None, limit: int = 50) -> list[TaskRequest]:
    query = (select(TaskRequest).where(TaskRequest.state == PENDING, _scope(principal, REQUESTS.c.unit_path))
             .options(joinedload(TaskRequest.requested_by)).order_by(TaskRequest.created_at).limit(limit))
    if kind is not None:
        query = query.where(TaskRequest.kind == kind)
    return list(session.scalars(query))
