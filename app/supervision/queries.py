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
from app.core.errors import Conflict, Forbidden, NotFound
from app.orgs.directory import UnitInfo, directory
from app.orgs.models import User
from app.orgs.tree import UnitGroup, unit_tree
from app.sla.deadlines import LIGHTS, light_condition
from app.supervision.models import TaskRequest
from app.tasks.models import Task
from app.tasks.queries import ancestor_paths, covered_paths, role_holders

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
    query = select(func.count()).select_from(CASES).where(_case_in_scope(principal))
    return int(session.scalar(query.where(text(condition))) or 0)


def tasks(principal: Principal, light: str | None = None, limit: int = 50, offset: int = 0,
          now: datetime | None = None) -> list[tuple[Task, Case]]:
    """Open tasks under the supervisor's units, most urgent first, optionally of one light.

    The order is taken on narrow rows from the covering index of open tasks (deadline and id
    only); the page's tasks and cases are loaded afterwards, 50 rows instead of all open ones."""
    at = now or clock.now()
    timed = [*_open_tasks(principal), literal_column("tasks.due_at IS NOT NULL")]
    if light is not None:
        timed.append(light_condition(light, TASKS, at))
    ids = list(session.scalars(select(TASKS.c.id).where(*timed).order_by(TASKS.c.due_at, TASKS.c.id)
                               .limit(limit).offset(offset)))
    if light is None and len(ids) < limit:  # then the tasks without a deadline
        timed_total = len(ids) + offset if ids else _count_timed(principal)
        ids += session.scalars(select(TASKS.c.id).where(*_open_tasks(principal), TASKS.c.due_at.is_(None))
                               .order_by(TASKS.c.id).limit(limit - len(ids)).offset(max(0, offset - timed_total)))
    if not ids:
        return []
    query = (select(Task, Case).join(Case, Case.id == Task.case_id).where(Task.id.in_(ids))
             .options(joinedload(Task.org_unit), joinedload(Task.claimed_by)))
    found = {t.id: (t, c) for t, c in session.execute(query).unique().all()}
    return [found[i] for i in ids if i in found]


def count_tasks(principal: Principal, light: str | None = None, now: datetime | None = None) -> int:
    """How many open tasks the console lists (for paging), optionally of one light."""
    conditions = _open_tasks(principal)
    if light is not None:
        conditions.append(light_condition(light, TASKS, now or clock.now()))
    return int(session.scalar(select(func.count()).select_from(TASKS).where(*conditions)) or 0)


def _count_timed(principal: Principal) -> int:
    return int(session.scalar(select(func.count()).select_from(TASKS).where(
        *_open_tasks(principal), TASKS.c.due_at.is_not(None))) or 0)


def escalated_cases(principal: Principal, limit: int = 50, offset: int = 0) -> list[Case]:
    """Open cases that climbed a tier or were put under supervision by an overdue timer."""
    query = select(Case).where(_case_in_scope(principal)).order_by(
        Case.supervised_at.desc().nulls_last(), Case.updated_at.desc(), Case.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query.where(text(ESCALATED_SQL))))


def parked_cases(principal: Principal, limit: int = 50, offset: int = 0) -> list[Case]:
    query = select(Case).where(_case_in_scope(principal)).order_by(Case.parked_at, Case.id).limit(limit).offset(offset)
    return list(session.scalars(query.where(text(PARKED_SQL))))


def _waiting_dispatch(principal: Principal) -> list[Any]:
    """The returned case's dispatch task is open under the supervisor's units."""
    return [*_open_tasks(principal), TASKS.c.stage == ASSIGN]


def _returned_cases(principal: Principal) -> Any:
    """Returned open cases (from their partial index) with a dispatch task waiting in scope."""
    waiting = exists().where(TASKS.c.case_id == CASES.c.id, *_waiting_dispatch(principal))
    return select(CASES.c.id).where(text(RETURNED_SQL), waiting)


def returned_waiting(principal: Principal, limit: int = 50, offset: int = 0) -> list[tuple[Task, Case]]:
    """Dispatch tasks of returned cases (退单) waiting to be dispatched again (a page of the cases)."""
    case_ids = list(session.scalars(_returned_cases(principal).order_by(CASES.c.id).limit(limit).offset(offset)))
    if not case_ids:
        return []
    query = (select(Task, Case).join(Case, Case.id == Task.case_id)
             .where(Task.case_id.in_(case_ids), *_waiting_dispatch(principal))
             .options(joinedload(Task.org_unit)).order_by(Task.created_at).limit(limit))
    return [(t, c) for t, c in session.execute(query).unique().all()]


def _count_returned(principal: Principal) -> int:
    return int(session.scalar(select(func.count()).select_from(_returned_cases(principal).subquery())) or 0)


def pending_requests(principal: Principal, kind: str | None = None, limit: int = 50,
                     offset: int = 0) -> list[TaskRequest]:
    query = (select(TaskRequest).where(TaskRequest.state == PENDING, _scope(principal, REQUESTS.c.unit_path))
             .options(joinedload(TaskRequest.requested_by)).order_by(TaskRequest.created_at, TaskRequest.id)
             .limit(limit).offset(offset))
    if kind is not None:
        query = query.where(TaskRequest.kind == kind)
    return list(session.scalars(query))


# ---------------------------------------------------------------------------- reassign pickers

@dataclass(frozen=True)
class ReassignOptions:
    """Where a supervisor may move a task and to whom (the 改派 pickers): the units of their
    supervision where someone holds the task's role, as the tree, and the people holding that role
    over the chosen ``unit`` (the task's own unit unless another is asked for)."""

    task: Task
    groups: list[UnitGroup]
    unit: UnitInfo
    people: list[User]

    def as_dict(self) -> dict[str, Any]:
        holder = self.task.claimed_by_id
        return {
            "task_id": self.task.id, "role": self.task.role, "current_unit": self.task.org_unit.code,
            "current_user": self.task.claimed_by.username if self.task.claimed_by else None,
            "groups": [{"code": g.code, "label": g.label,
                        "units": [{"code": c.code, "name": c.name, "kind": c.kind, "depth": c.depth} for c in g.choices]}
                       for g in self.groups],
            "unit": {"code": self.unit.code, "name": self.unit.name, "kind": self.unit.kind},
            "people": [{"username": u.username, "display_name": u.display_name, "current": u.id == holder}
                       for u in self.people],
        }


def reassign_options(principal: Principal, task: Task, unit_code: str | None = None,
                     locale: str = "zh") -> ReassignOptions:
    """The 改派 choices of ``task`` for ``principal``, under the rules of
    :func:`app.supervision.operations.reassign_task`: a supervisor over the task's unit moves it
    to a unit of their own supervision, to someone holding the task's role over that unit.
    403 for anyone else or a unit outside their supervision, 404 for an unknown unit, 409 when
    the task has ended."""
    if task.state != "open":
        raise Conflict(f"任务已结束 / the task is {task.state}", state=task.state)
    if not principal.covers("supervisor", task.unit_path):
        raise Forbidden("您不是该单位的督办员 / you are not a supervisor over this unit")
    units = directory()
    unit = units.by_id[task.org_unit_id] if unit_code is None else units.by_code.get(unit_code)
    if unit is None:
        raise NotFound(f"没有单位 {unit_code} / no unit {unit_code}", errors={"unit": [f"没有单位 {unit_code} / no unit {unit_code}"]})
    if not principal.covers("supervisor", unit.path):
        raise Forbidden("只能改派到您督办范围内的单位 / you can only reassign within your units",
                        errors={"unit": ["不在您的督办范围内 / outside your supervision"]})
    held = covered_paths(task.role)
    offered = [u.code for u in units.by_code.values() if principal.covers("supervisor", u.path)
               and (u.id == task.org_unit_id or any(p in held for p in ancestor_paths(u.path)))]
    return ReassignOptions(task, unit_tree(offered, units, locale), unit, role_holders(task.role, unit.path))
