"""The rows of a case as the engine host reads and writes them: the workflow row (locked first,
its version checked on write), the open task rows and the case row.

Plain Core statements, built once with their parameters bound at execution, on the session's
connection: the request's transaction, without the ORM's unit of work (see :mod:`app.engine.host`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.cases.models import Case
from app.core.db import session
from app.engine.definitions import LoadedDefinition, load_definition
from app.engine.errors import CaseHasIncident, TaskNotReady
from app.engine.models import WorkflowInstance
from app.engine.serializer import CaseWorkflow, loads
from app.tasks.models import Task


@dataclass
class Loaded:
    version: int
    definition: LoadedDefinition
    workflow: CaseWorkflow


CASES, INSTANCES, TASKS = Case.__table__, WorkflowInstance.__table__, Task.__table__
_INSERT_CASE = insert(CASES).returning(CASES.c.id)
_INSERT_INSTANCE = insert(INSTANCES)
_INSERT_TASK = insert(TASKS).returning(TASKS.c.id)
# statements built once, parameters bound at execution: building and hashing a statement per call
# costs more than running it
_SELECT_INSTANCE = select(INSTANCES.c.state, INSTANCES.c.version, INSTANCES.c.definition_id).where(
    INSTANCES.c.case_id == bindparam("k_case"))
_SELECT_INSTANCE_FOR_UPDATE = _SELECT_INSTANCE.with_for_update()
_SELECT_OPEN_TASKS = select(TASKS.c.id, TASKS.c.spiff_id, TASKS.c.name, TASKS.c.bpmn_id, TASKS.c.org_unit_id,
                            TASKS.c.unit_path, TASKS.c.claimed_by_id, TASKS.c.role, TASKS.c.due_at,
                            TASKS.c.yellow_at).where(
    TASKS.c.case_id == bindparam("k_case"), TASKS.c.state == "open")
# the open tasks with their clocks (a migration keeps them)
_SELECT_OPEN_TASK_CLOCKS = select(TASKS.c.id, TASKS.c.spiff_id, TASKS.c.name, TASKS.c.bpmn_id, TASKS.c.started_at,
                                  TASKS.c.yellow_at, TASKS.c.due_at, TASKS.c.paused_at).where(
    TASKS.c.case_id == bindparam("k_case"), TASKS.c.state == "open")
# a migration batch: the workflow rows of many cases read at once; then, per case in its own
# transaction, the row locked with its version and open task clocks in one statement
_SELECT_INSTANCES = select(INSTANCES.c.case_id, INSTANCES.c.state, INSTANCES.c.version, INSTANCES.c.definition_id).where(
    INSTANCES.c.case_id.in_(bindparam("k_cases", expanding=True)))
_LOCK_WITH_TASK_CLOCKS = (select(INSTANCES.c.version, TASKS.c.id, TASKS.c.spiff_id, TASKS.c.name, TASKS.c.bpmn_id,
                                 TASKS.c.started_at, TASKS.c.yellow_at, TASKS.c.due_at, TASKS.c.paused_at)
                          .select_from(INSTANCES.outerjoin(TASKS, (TASKS.c.case_id == INSTANCES.c.case_id)
                                                           & (TASKS.c.state == "open")))
                          .where(INSTANCES.c.case_id == bindparam("k_case")).with_for_update(of=INSTANCES))
_CASE_DEADLINE = select(func.min(TASKS.c.due_at), func.min(TASKS.c.yellow_at)).where(
    TASKS.c.case_id == bindparam("k_case"), TASKS.c.state == "open")
_UPDATE_INSTANCE = update(INSTANCES).where(INSTANCES.c.case_id == bindparam("k_case"),
                                           INSTANCES.c.version == bindparam("k_version"))
_UPDATE_CASE = update(CASES).where(CASES.c.id == bindparam("k_case"))
_UPDATE_NEXT_TIMER = update(INSTANCES).where(INSTANCES.c.case_id == bindparam("k_case"))
_UPDATE_OPEN_TASK = update(TASKS).where(TASKS.c.id == bindparam("k_task"), TASKS.c.state == "open")
_insert_case_once: dict[str, Any] = {}


def _sql(statement: Any, params: Any = None) -> Any:
    """Run a Core statement on the session's connection (same transaction, no ORM layer)."""
    return session.connection().execute(statement, params)


def _written(row: Any, values: dict[str, Any]) -> None:
    """Tell the ORM object what a plain UPDATE just wrote, so reading it needs no new query."""
    for key, value in values.items():
        set_committed_value(row, key, value)


def _lock(case: Case) -> None:
    """Lock the case's workflow row (PostgreSQL; SQLite has one writer) before changing anything of
    the case: every action takes its locks in this order, so two never wait on each other."""
    _sql(_SELECT_INSTANCE_FOR_UPDATE, {"k_case": case.id}).one_or_none()


def _load(case: Case, lock: bool = True, blocked_ok: bool = False) -> Loaded:
    if lock and case.has_incident and not blocked_ok:
        raise CaseHasIncident(f"案件流程异常，等待管理员处理 / case {case.id} has an open engine incident; an administrator must retry or dismiss it")
    # with the lock, concurrent changes of this case wait here on PostgreSQL
    row = _sql(_SELECT_INSTANCE_FOR_UPDATE if lock else _SELECT_INSTANCE, {"k_case": case.id}).one_or_none()
    if row is None:
        raise LookupError(f"case {case.id} has no workflow")
    return _loaded(row, row.version)


@dataclass(frozen=True)
class Prefetched:
    """A case's workflow row as a migration batch read it (before the case's own transaction)."""
    state: str
    version: int
    definition_id: int
    case: Case  # the ORM row, held here (the session's identity map holds it weakly)


def prefetch_instances(case_ids: list[int]) -> dict[int, Prefetched]:
    """The cases and their workflow rows, in two queries for the whole list."""
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(case_ids)))}
    return {r.case_id: Prefetched(r.state, r.version, r.definition_id, cases[r.case_id])
            for r in _sql(_SELECT_INSTANCES, {"k_cases": list(case_ids)}) if r.case_id in cases}


def _loaded(row: Prefetched | Any, version: int) -> Loaded:
    definition = load_definition(row.definition_id)
    return Loaded(version, definition, loads(row.state, definition.spec, definition.subprocess_specs))


def _open_tasks(case_id: int) -> dict[str, Any]:
    """The case's open task rows by spiff id (read after the case is locked: they are current)."""
    return {r.spiff_id: r for r in _sql(_SELECT_OPEN_TASKS, {"k_case": case_id})}


def _still_open(existing: dict[str, Any], task: Task) -> Any:
    """The task's current row among the case's open tasks; it may have ended meanwhile."""
    for row in existing.values():
        if row.id == task.id:
            return row
    raise TaskNotReady(f"任务已结束 / task {task.id} is no longer open")


def _insert_case_ignoring_conflicts() -> Any:
    """``INSERT INTO cases … ON CONFLICT DO NOTHING RETURNING id`` in the current database's dialect."""
    dialect = session.get_bind().dialect.name
    statement = _insert_case_once.get(dialect)
    if statement is None:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        statement = _insert_case_once[dialect] = dialect_insert(CASES).on_conflict_do_nothing().returning(CASES.c.id)
    return statement


def _case_deadline(case_id: int) -> dict[str, Any]:
    due, yellow = _sql(_CASE_DEADLINE, {"k_case": case_id}).one()
    return {"due_at": due, "yellow_at": yellow}


def _write_case_deadline(case: Case, now: datetime) -> None:
    values = {**_case_deadline(case.id), "updated_at": now}
    _sql(_UPDATE_CASE, {"k_case": case.id, **values})
    _written(case, values)


def _set_incident_flag(case: Case, flag: bool) -> None:
    _sql(_UPDATE_CASE, {"k_case": case.id, "has_incident": flag})
    _written(case, {"has_incident": flag})
