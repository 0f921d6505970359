"""The narrow door into the engine: every change to a case's workflow passes through here.

Each call runs inside the caller's transaction: lock the case's workflow row, load the state
(process version from the cache), apply the action, run engine steps, save the state, project the
ready user tasks into the task table, update the case's mirror fields and ``next_timer_at``.
An engine error keeps the last good state and opens an incident instead.

All computing happens first and all writing last, as a handful of plain statements (no ORM unit
of work on this path): on SQLite a request holds the database's write lock only for those
statements, and the version check in the UPDATE of the workflow row makes a concurrent change of
the same case fail with :class:`CaseConflict` instead of overwriting.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from types import SimpleNamespace
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from app.core.audit import record, write_pending
from app.core.db import session, utcnow
from app.cases.models import Case
from app.engine.definitions import LoadedDefinition, latest_definition_id, load_definition
from app.engine.models import Incident, WorkflowInstance
from app.engine.serializer import CaseWorkflow, dumps, loads
from app.orgs.directory import directory
from app.tasks.models import Task

log = logging.getLogger(__name__)

MIRRORED_COUNTERS = ("rework_count", "reopen_count")
OUTCOMES = ("closed", "rejected")


class EngineError(Exception):
    """Base for refusals by the engine host."""


class CaseConflict(EngineError):
    """The case changed under the caller (another request won); nothing was changed."""


class TaskNotReady(EngineError):
    """The task is no longer waiting for completion."""


class CaseHasIncident(EngineError):
    """The case waits for an administrator to retry or dismiss an engine incident."""


class EngineIncidentError(EngineError):
    def __init__(self, incident: Incident) -> None:
        self.incident = incident
        super().__init__(f"engine incident #{incident.id}: {incident.error}")


class NoProcessDeployed(EngineError):
    pass


class DuplicateDelivery(EngineError):
    """The new case collided with a unique channel message id or idempotency key at the write."""


@dataclass
class Loaded:
    version: int
    definition: LoadedDefinition
    workflow: CaseWorkflow


@dataclass
class Started:
    """What :func:`start_case` wrote: the new case (a detached row) and its first tasks."""

    case: Case
    tasks: list[Any]  # rows with the columns of Task
    incident: Incident | None
    events: list[dict[str, Any]]  # its audit events as written: the whole history of the new case


# ---------------------------------------------------------------------------- public door

CASES, INSTANCES, TASKS = Case.__table__, WorkflowInstance.__table__, Task.__table__
_INSERT_CASE = insert(CASES).returning(CASES.c.id)
_INSERT_INSTANCE = insert(INSTANCES)
_INSERT_TASK = insert(TASKS).returning(TASKS.c.id)
# statements built once, parameters bound at execution: building and hashing a statement per call
# costs more than running it
_SELECT_INSTANCE = select(INSTANCES.c.state, INSTANCES.c.version, INSTANCES.c.definition_id).where(
    INSTANCES.c.case_id == bindparam("k_case"))
_SELECT_INSTANCE_FOR_UPDATE = _SELECT_INSTANCE.with_for_update()
_SELECT_TASK_STATE = select(TASKS.c.state, TASKS.c.spiff_id).where(TASKS.c.id == bindparam("k_task"))
_SELECT_OPEN_TASKS = select(TASKS.c.id, TASKS.c.spiff_id, TASKS.c.name).where(
    TASKS.c.case_id == bindparam("k_case"), TASKS.c.state == "open")
_UPDATE_INSTANCE = update(INSTANCES).where(INSTANCES.c.case_id == bindparam("k_case"),
                                           INSTANCES.c.version == bindparam("k_version"))
_UPDATE_CASE = update(CASES).where(CASES.c.id == bindparam("k_case"))
_UPDATE_OPEN_TASK = update(TASKS).where(TASKS.c.id == bindparam("k_task"), TASKS.c.state == "open")
_insert_case_once: dict[str, Any] = {}


def _sql(statement: Any, params: Any = None) -> Any:
    """Run a Core statement on the session's connection (same transaction, no ORM layer)."""
    return session.connection().execute(statement, params)


def start_case(values: dict[str, Any], process_id: str, seed: dict[str, Any], actor: Any = None,
               guard_duplicates: bool = False) -> Started:
    """Insert a new case with ``values`` and run its process to the first wait.

    With ``guard_duplicates`` the case is inserted with ``ON CONFLICT DO NOTHING``: a collision on
    the channel's message id or the idempotency key raises :class:`DuplicateDelivery` with
    nothing written.
    If the process fails on its first steps the case is still stored, at its very start, with an
    incident an administrator can retry.
    """
    definition_id = latest_definition_id(process_id)
    if definition_id is None:
        raise NoProcessDeployed(f"no version of process {process_id!r} is deployed; run 'flask processes deploy'")
    definition = load_definition(definition_id)
    workflow = CaseWorkflow(definition.spec, definition.subprocess_specs)
    workflow.task_tree.data.update(seed)
    now = utcnow()
    failure: Exception | None = None
    try:
        workflow.do_engine_steps()
        projection = _project(workflow, definition)
        state = dumps(workflow)
    except Exception as exc:  # noqa: BLE001 - any failure inside the process is an incident
        failure, projection = exc, []
        fresh = CaseWorkflow(definition.spec, definition.subprocess_specs)
        fresh.task_tree.data.update(seed)
        state = dumps(fresh)
    row = {**values, "status": "open", "rework_count": 0, "reopen_count": 0, "has_incident": failure is not None,
           "created_at": now, "updated_at": now, "closed_at": None, "stage": None, "handling_unit_id": None}
    if failure is None:
        row.update(_mirror_values(workflow, projection, now))

    # the case row is written first: a repeated delivery (same channel message id or idempotency
    # key) inserts nothing, and nothing else is written for it
    statement = _insert_case_ignoring_conflicts() if guard_duplicates else _INSERT_CASE
    case_id = _sql(statement, row).scalar()
    if case_id is None:
        raise DuplicateDelivery("a case for this message exists already")
    _sql(_INSERT_INSTANCE, {"case_id": case_id, "definition_id": definition.id, "state": state,
                                        "version": 1, "next_timer_at": _next_timer(workflow) if failure is None else None,
                                        "updated_at": now})
    tasks = _insert_tasks(case_id, projection, now)
    case = Case(id=case_id, **{k: v for k, v in row.items() if k != "id"})
    record("case_created", actor=actor, case_id=case_id, at=now, channel=case.channel, title=case.title,
           category_code=case.category_code, grid_unit=seed.get("grid_unit"))
    _record_created(case_id, tasks, now)
    incident = _open_incident(case_id, {"type": "start"}, failure, actor) if failure is not None else None
    return Started(case, tasks, incident, write_pending())


def complete_task(case: Case, task: Task, data: dict[str, Any], actor: Any) -> None:
    """Complete a ready user task with validated form data and run the engine to its next wait."""
    loaded = _load(case)
    fresh = _sql(_SELECT_TASK_STATE, {"k_task": task.id}).one()
    if fresh.state != "open":
        raise TaskNotReady(f"任务已结束 / task {task.id} is {fresh.state}")
    spiff_task = _ready_spiff_task(loaded.workflow, task.id, fresh.spiff_id)

    def act() -> None:
        spiff_task.data.update(data)
        spiff_task.run()

    _advance(case, loaded, {"type": "complete", "task_id": task.id, "data": data}, actor, act, completed=task)


def fire_timers(case: Case) -> bool:
    """Run the case's expired timers; return True when something moved."""
    loaded = _load(case)
    before = dumps(loaded.workflow)
    return _advance(case, loaded, {"type": "timers"}, None, loaded.workflow.refresh_timers, unchanged=before)


def retry_incident(incident: Incident, actor: Any) -> None:
    """Apply the failed action again on the last good state (after the cause was fixed)."""
    case = session.get(Case, incident.case_id)
    assert case is not None
    _resolve(incident, actor, "retried")
    _set_incident_flag(case, False)
    action = json.loads(incident.action)
    if action["type"] == "start":
        _advance(case, _load(case), action, actor, lambda: None)
    elif action["type"] == "complete":
        task = session.get(Task, action["task_id"])
        if task is None:
            raise TaskNotReady("该事件对应的任务已不存在 / the task of this incident no longer exists")
        complete_task(case, task, action["data"], actor)
    else:
        fire_timers(case)


def dismiss_incident(incident: Incident, actor: Any) -> None:
    """Drop the failed action: the case goes on from its last good state."""
    case = session.get(Case, incident.case_id)
    assert case is not None
    _resolve(incident, actor, "dismissed")
    _set_incident_flag(case, False)


def workflow_data(case: Case) -> dict[str, Any]:
    """Read-only view of the case's current process variables (for the case page)."""
    return _current_data(_load(case, lock=False).workflow)


# ---------------------------------------------------------------------------- internals

def _load(case: Case, lock: bool = True) -> Loaded:
    if lock and case.has_incident:
        raise CaseHasIncident(f"案件流程异常，等待管理员处理 / case {case.id} has an open engine incident; an administrator must retry or dismiss it")
    # with the lock, concurrent changes of this case wait here on PostgreSQL
    row = _sql(_SELECT_INSTANCE_FOR_UPDATE if lock else _SELECT_INSTANCE, {"k_case": case.id}).one_or_none()
    if row is None:
        raise LookupError(f"case {case.id} has no workflow")
    definition = load_definition(row.definition_id)
    return Loaded(row.version, definition, loads(row.state, definition.spec, definition.subprocess_specs))


def _ready_spiff_task(workflow: CaseWorkflow, task_id: int, spiff_id: str) -> SpiffTask:
    try:
        spiff_task = workflow.get_task_from_id(UUID(spiff_id))
    except Exception:  # noqa: BLE001 - the library raises its own TaskNotFound
        spiff_task = None
    if spiff_task is None or spiff_task.state != TaskState.READY:
        raise TaskNotReady(f"任务不在待办状态 / task {task_id} is not waiting in the workflow")
    return spiff_task


def _advance(case: Case, loaded: Loaded, action: dict[str, Any], actor: Any, act: Any,
             completed: Task | None = None, unchanged: str | None = None) -> bool:
    """Apply ``act`` and run the engine; then write state, tasks, case and audit (or an incident)."""
    workflow = loaded.workflow
    try:
        act()
        workflow.do_engine_steps()
        projection = _project(workflow, loaded.definition)
        state = dumps(workflow)
    except Exception as exc:  # noqa: BLE001 - any failure inside the process is an incident
        incident = _open_incident(case.id, action, exc, actor)
        _set_incident_flag(case, True)
        raise EngineIncidentError(incident) from None
    if unchanged is not None and state == unchanged:
        return False
    now = utcnow()
    result = _sql(_UPDATE_INSTANCE, {"k_case": case.id, "k_version": loaded.version, "state": state,
                                     "version": loaded.version + 1, "next_timer_at": _next_timer(workflow),
                                     "updated_at": now})
    if result.rowcount != 1:
        raise CaseConflict("案件已被他人更新，请刷新后重试 / the case was changed by someone else; reload and retry")
    _sync_tasks(case.id, projection, completed, actor, now)
    values = _mirror_values(workflow, projection, now)
    _sql(_UPDATE_CASE, {"k_case": case.id, **values})
    _written(case, values)
    write_pending()
    return True


def _written(row: Any, values: dict[str, Any]) -> None:
    """Tell the ORM object what a plain UPDATE just wrote, so reading it needs no new query."""
    for key, value in values.items():
        set_committed_value(row, key, value)


@dataclass
class ProjectedTask:
    spiff_id: str
    meta: Any
    unit_code: str
    time_limit: str | None


def _project(workflow: CaseWorkflow, definition: LoadedDefinition) -> list[ProjectedTask]:
    """Evaluate the unit and limit of every ready user task (inside the sandbox)."""
    from app.sla.calendar import parse_limit
    result = []
    engine = workflow.script_engine
    units = directory().by_code
    for spiff_task in workflow.get_tasks(state=TaskState.READY, manual=True):
        meta = definition.tasks.get(spiff_task.task_spec.bpmn_id)
        if meta is None:
            raise ValueError(f"user task {spiff_task.task_spec.bpmn_id} has no metadata")
        unit_code = engine.evaluate(spiff_task, meta.unit_expr)
        if not unit_code or unit_code not in units:
            raise ValueError(f"task {meta.bpmn_id}: unit expression {meta.unit_expr!r} gave unknown org unit {unit_code!r}")
        limit = engine.evaluate(spiff_task, meta.limit_expr) if meta.limit_expr else None
        if limit is not None:
            parse_limit(str(limit))
        result.append(ProjectedTask(str(spiff_task.id), meta, unit_code, str(limit) if limit else None))
    return result


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


def _insert_tasks(case_id: int, projection: list[ProjectedTask], now: datetime) -> list[Any]:
    """Insert task rows; returns them as plain rows (attribute access, no ORM bookkeeping)."""
    from app.sla.calendar import DEFAULT_CALENDAR
    units = directory().by_code
    tasks = []
    for p in projection:
        unit = units[p.unit_code]
        row = {"case_id": case_id, "spiff_id": p.spiff_id, "bpmn_id": p.meta.bpmn_id, "name": p.meta.name,
               "stage": p.meta.stage, "role": p.meta.role, "form": p.meta.form, "org_unit_id": unit.id,
               "unit_path": unit.path, "state": "open", "time_limit": p.time_limit, "created_at": now,
               "due_at": DEFAULT_CALENDAR.add(now, p.time_limit) if p.time_limit else None,
               "claimed_by_id": None, "claimed_at": None, "completed_at": None, "completed_by_id": None}
        task_id = _sql(_INSERT_TASK, row).scalar_one()
        tasks.append(SimpleNamespace(id=task_id, **row))
    return tasks


def _record_created(case_id: int, tasks: list[Any], now: datetime) -> None:
    units = directory().by_id
    for t in tasks:
        unit = units[t.org_unit_id]
        record("task_created", case_id=case_id, task_id=t.id, at=now, task=t.name, bpmn_id=t.bpmn_id, role=t.role,
               unit=unit.code, unit_name=unit.name, due_at=t.due_at.isoformat() if t.due_at else None)


def _sync_tasks(case_id: int, projection: list[ProjectedTask], completed: Task | None, actor: Any, now: datetime) -> None:
    """Close the task rows that are no longer ready and insert the newly ready ones."""
    existing = {r.spiff_id: r for r in _sql(_SELECT_OPEN_TASKS, {"k_case": case_id})}
    ready_ids = {p.spiff_id for p in projection}
    for spiff_id, r in existing.items():
        if spiff_id in ready_ids:
            continue
        if completed is not None and r.id == completed.id:
            values = {"state": "completed", "completed_at": now, "completed_by_id": getattr(actor, "id", None)}
            _written(completed, values)
        else:
            values = {"state": "cancelled", "completed_at": now}
            record("task_cancelled", case_id=case_id, task_id=r.id, at=now, task=r.name)
        _sql(_UPDATE_OPEN_TASK, {"k_task": r.id, **values})
    _record_created(case_id, _insert_tasks(case_id, [p for p in projection if p.spiff_id not in existing], now), now)


def _current_data(workflow: CaseWorkflow) -> dict[str, Any]:
    if workflow.is_completed():
        return dict(workflow.data)
    ready = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
    if ready:
        return dict(ready[0].data)
    return dict(workflow.last_task.data) if workflow.last_task is not None else {}


def _mirror_values(workflow: CaseWorkflow, projection: list[ProjectedTask], now: datetime) -> dict[str, Any]:
    """What the process decided, as case columns that lists and KPIs can query."""
    data = _current_data(workflow)
    units = directory().by_code
    values: dict[str, Any] = {"updated_at": now, "stage": projection[0].meta.stage if projection else None}
    for key in MIRRORED_COUNTERS:
        if isinstance(data.get(key), int):
            values[key] = data[key]
    for key, column in (("grid_unit", "grid_unit_id"), ("handling_unit", "handling_unit_id")):
        code = data.get(key)
        if isinstance(code, str) and code in units:
            values[column] = units[code].id
    if workflow.is_completed():
        outcome = data.get("outcome")
        values.update(status=outcome if outcome in OUTCOMES else "closed", closed_at=now, stage=None)
    return values


def _next_timer(workflow: CaseWorkflow) -> datetime | None:
    times = []
    for event in workflow.waiting_events():
        value = getattr(event, "value", None)
        if isinstance(value, str):
            try:
                times.append(datetime.fromisoformat(value))
            except ValueError:
                continue
    return min(times) if times else None


def _set_incident_flag(case: Case, flag: bool) -> None:
    _sql(_UPDATE_CASE, {"k_case": case.id, "has_incident": flag})
    _written(case, {"has_incident": flag})


def _open_incident(case_id: int, action: dict[str, Any], exc: Exception, actor: Any) -> Incident:
    element = None
    task = getattr(exc, "task", None)
    if task is not None:
        element = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
    message = f"{type(exc).__name__}: {exc}"
    error_type = getattr(exc, "error_type", None)
    if error_type and error_type != "unknown":
        message = f"{error_type} in {message}"
    log.warning("engine incident in case %s at %s: %s", case_id, element, message)
    incident = Incident(case_id=case_id, action=json.dumps(action, ensure_ascii=False, default=str),
                        error=message[:4000], element=element)
    session.add(incident)
    session.flush()
    record("incident_opened", actor=actor, case_id=case_id, incident=incident.id, element=element, error=message[:500])
    return incident


def _resolve(incident: Incident, actor: Any, resolution: str) -> None:
    if incident.resolved_at is not None:
        raise EngineError(f"incident {incident.id} is already {incident.resolution}")
    incident.resolved_at, incident.resolved_by_id, incident.resolution = utcnow(), getattr(actor, "id", None), resolution
    session.flush()
    record(f"incident_{resolution}", actor=actor, case_id=incident.case_id, incident=incident.id)
