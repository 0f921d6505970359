"""Read-side queries for tasks and cases, always scoped by the caller's roles and units.

Role grants are path ranges over the org tree, so "tasks of my roles in my units" is one indexed
range query per grant, OR-ed together; no workflow is ever loaded to answer an inbox.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, exists, false, literal_column, or_, select
from sqlalchemy.orm import aliased, joinedload

from app.cases.models import Case
from app.core import clock
from app.core.auth import Principal
from app.core.db import session
from app.orgs.models import OrgUnit, RoleAssignment, User, subtree_bounds
from app.sla.deadlines import light_condition
from app.tasks.models import Task

SORTS = {"due": (Task.due_at.is_(None), Task.due_at, Task.id), "-due": (Task.due_at.desc(), Task.id),
         "created": (Task.created_at, Task.id), "-created": (Task.created_at.desc(), Task.id.desc())}


def _claimable_condition(principal: Principal):  # type: ignore[no-untyped-def]
    ranges = principal.ranges()
    if not ranges:
        return false()
    return or_(*(and_(Task.role == role, Task.unit_path >= lo, Task.unit_path < hi) for role, lo, hi in ranges))


# written as a literal so that SQLite can use the partial index ix_tasks_claimable
OPEN = literal_column("'open'")


@dataclass(frozen=True)
class TaskFilters:
    """Narrowing of a task list: by light at ``now``, by the case's tier, by unit (and below)."""

    light: str | None = None
    tier: str | None = None
    unit_path: str | None = None
    now: datetime | None = None

    def conditions(self) -> list[Any]:
        out: list[Any] = []
        if self.light is not None:
            out.append(light_condition(self.light, Task.__table__, self.now or clock.now()))
        if self.tier is not None:
            tiered = aliased(Case)  # an alias: lists that also join Case must not correlate with it
            out.append(exists().where(tiered.id == Task.case_id, tiered.tier == self.tier))
        if self.unit_path is not None:
            lo, hi = subtree_bounds(self.unit_path)
            out.extend([Task.unit_path >= lo, Task.unit_path < hi])
        return out


NO_FILTERS = TaskFilters()


def inbox_conditions(principal: Principal, scope: str, filters: TaskFilters = NO_FILTERS) -> list[Any]:
    """``mine``: open tasks I have claimed; ``claimable``: unclaimed open tasks my roles reach."""
    if scope == "mine":
        base = [Task.state == OPEN, Task.claimed_by_id == principal.id]
    else:
        base = [Task.state == OPEN, Task.claimed_by_id.is_(None), _claimable_condition(principal)]
    return base + filters.conditions()


def inbox_query(principal: Principal, scope: str, sort: str = "due", filters: TaskFilters = NO_FILTERS) -> Select[tuple[Task]]:
    """The inbox as Task objects with their unit and holder loaded (for pages)."""
    return (select(Task).where(*inbox_conditions(principal, scope, filters))
            .options(joinedload(Task.org_unit), joinedload(Task.claimed_by)).order_by(*SORTS.get(sort, SORTS["due"])))


_USERS = User.__table__


def inbox_rows(principal: Principal, scope: str, sort: str = "due", limit: int = 50, offset: int = 0,
               filters: TaskFilters = NO_FILTERS) -> list[Any]:
    """The inbox as plain rows with the holder's username (for the API: no ORM objects)."""
    query = (select(Task.__table__, _USERS.c.username.label("claimed_by_name"))
             .outerjoin(_USERS, _USERS.c.id == Task.claimed_by_id)
             .where(*inbox_conditions(principal, scope, filters)).order_by(*SORTS.get(sort, SORTS["due"]))
             .limit(limit).offset(offset))
    return list(session.execute(query))


def inbox_page(principal: Principal, scope: str, sort: str = "due", limit: int = 50, offset: int = 0,
               filters: TaskFilters = NO_FILTERS) -> list[tuple[Task, Case]]:
    query = inbox_query(principal, scope, sort, filters).add_columns(Case).join(Case, Case.id == Task.case_id)
    return [(t, c) for t, c in session.execute(query.limit(limit).offset(offset)).unique().all()]


def can_claim(principal: Principal, task: Task) -> bool:
    return task.state == "open" and principal.covers(task.role, task.unit_path)


def ancestor_paths(path: str) -> list[str]:
    """'/city/d1/d1-cg/' → ['/city/', '/city/d1/', '/city/d1/d1-cg/']."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def holders_condition(role: str, unit_path: str) -> Any:
    """Role assignments that let an active user take a task of ``role`` at ``unit_path``: the
    role held at that unit or at any unit above it (assignments cover their whole subtree)."""
    return and_(RoleAssignment.role == role, RoleAssignment.unit_path.in_(ancestor_paths(unit_path)),
                User.active.is_(True))


def role_holders(role: str, unit_path: str) -> list[User]:
    """The active users who hold ``role`` over the unit at ``unit_path``, by name."""
    return list(session.scalars(select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
                                .where(holders_condition(role, unit_path)).distinct()
                                .order_by(User.display_name, User.username)))


def covered_paths(role: str) -> set[str]:
    """Paths of the units where an active user holds ``role`` (each covers the units below it)."""
    return set(session.scalars(select(RoleAssignment.unit_path).join(User, User.id == RoleAssignment.user_id)
                               .where(RoleAssignment.role == role, User.active.is_(True)).distinct()))


# Who holds which role where changes rarely; the answer per (role, unit) is kept a few seconds so
# case pages and API answers do not re-query it on every call.
CANDIDATES_TTL = 5.0
_candidates_cache: dict[tuple[str, str], tuple[float, list[str]]] = {}


def candidates(tasks: list[Task]) -> dict[int, list[str]]:
    """Usernames who may claim each task: its role held at its unit or above (one query at most)."""
    now = time.monotonic()
    answers: dict[tuple[str, str], list[str]] = {}
    missing: set[tuple[str, str]] = set()
    for t in tasks:
        key = (t.role, t.unit_path)
        hit = _candidates_cache.get(key)
        if hit is not None and hit[0] > now:
            answers[key] = hit[1]
        else:
            missing.add(key)
    if missing:
        paths = {p for _r, path in missing for p in ancestor_paths(path)}
        rows = session.execute(
            select(RoleAssignment.role, RoleAssignment.unit_path, User.username)
            .join(User, User.id == RoleAssignment.user_id)
            .where(RoleAssignment.role.in_({r for r, _p in missing}), RoleAssignment.unit_path.in_(paths),
                   User.active.is_(True))).all()
        if len(_candidates_cache) > 50_000:
            _candidates_cache.clear()
        for role, path in missing:
            ancestors = set(ancestor_paths(path))
            names = sorted({u for r, p, u in rows if r == role and p in ancestors})
            answers[(role, path)] = names
            _candidates_cache[(role, path)] = (now + CANDIDATES_TTL, names)
    return {t.id: answers[(t.role, t.unit_path)] for t in tasks}


def clear_candidates_cache() -> None:
    _candidates_cache.clear()


def visible_cases_condition(principal: Principal):  # type: ignore[no-untyped-def]
    """Cases a user may see: any task of the case in their units, or its grid/handling unit in
    their units, or cases they filed."""
    ranges = principal.ranges()
    if not ranges:
        return Case.created_by_id == principal.id
    task_in_scope = exists().where(Task.case_id == Case.id, or_(
        *(and_(Task.unit_path >= lo, Task.unit_path < hi) for _r, lo, hi in ranges)))
    grid, handling = aliased(OrgUnit), aliased(OrgUnit)
    unit_in_scope = or_(
        exists().where(grid.id == Case.grid_unit_id, or_(*(and_(grid.path >= lo, grid.path < hi) for _r, lo, hi in ranges))),
        exists().where(handling.id == Case.handling_unit_id, or_(*(and_(handling.path >= lo, handling.path < hi) for _r, lo, hi in ranges))),
    )
    return or_(Case.created_by_id == principal.id, task_in_scope, unit_in_scope)


def can_view_case(principal: Principal, case: Case) -> bool:
    return bool(session.scalar(select(Case.id).where(Case.id == case.id, visible_cases_condition(principal))))


def open_tasks(case_id: int) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.case_id == case_id, Task.state == "open").order_by(Task.id)))
