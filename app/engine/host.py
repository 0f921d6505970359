"""The narrow door into the engine: every change to a case's workflow passes through here.

Each call runs inside the caller's transaction: lock the case's workflow row, load the state
(process version from the cache), apply the action, run engine steps, save the state, project the
ready user tasks into the task table, update the case's mirror fields and ``next_timer_at``.
An engine error keeps the last good state and opens an incident instead.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from app.core.audit import record
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


@dataclass
class Loaded:
    instance: WorkflowInstance
    definition: LoadedDefinition
    workflow: CaseWorkflow


# ---------------------------------------------------------------------------- public door

def start_case(case: Case, process_id: str, seed: dict[str, Any], actor: Any = None) -> None:
    """Create the case's workflow on the latest version of ``process_id`` and run it to its first wait."""
    definition_id = latest_definition_id(process_id)
    if definition_id is None:
        raise NoProcessDeployed(f"no version of process {process_id!r} is deployed; run 'flask processes deploy'")
    definition = load_definition(definition_id)
    workflow = CaseWorkflow(definition.spec, definition.subprocess_specs)
    workflow.task_tree.data.update(seed)
    instance = WorkflowInstance(case_id=case.id, definition_id=definition.id, state="")
    session.add(instance)
    loaded = Loaded(instance, definition, workflow)
    try:
        _run(case, loaded, {"type": "start"}, actor, lambda: None, new_case=True)
    except EngineIncidentError:
        # keep the case at its very start so a retry runs the process from the beginning
        fresh = CaseWorkflow(definition.spec, definition.subprocess_specs)
        fresh.task_tree.data.update(seed)
        instance.state = dumps(fresh)
        session.flush()
        raise


def complete_task(case: Case, task: Task, data: dict[str, Any], actor: Any) -> None:
    """Complete a ready user task with validated form data and run the engine to its next wait."""
    loaded = _load(case)
    session.refresh(task)
    if task.state != "open":
        raise TaskNotReady(f"任务已结束 / task {task.id} is {task.state}")
    spiff_task = _ready_spiff_task(loaded.workflow, task)

    def act() -> None:
        spiff_task.data.update(data)
        spiff_task.run()

    _run(case, loaded, {"type": "complete", "task_id": task.id, "data": data}, actor, act, completed=task)


def fire_timers(case: Case) -> bool:
    """Run the case's expired timers; return True when something moved."""
    loaded = _load(case)
    before = loaded.instance.state
    _run(case, loaded, {"type": "timers"}, None, loaded.workflow.refresh_timers)
    return loaded.instance.state != before


def retry_incident(incident: Incident, actor: Any) -> None:
    """Apply the failed action again on the last good state (after the cause was fixed)."""
    case = session.get(Case, incident.case_id)
    assert case is not None
    _resolve(incident, actor, "retried")
    case.has_incident = False
    action = json.loads(incident.action)
    if action["type"] == "start":
        loaded = _load(case)
        _run(case, loaded, action, actor, lambda: None)
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
    case.has_incident = False
    session.flush()


def workflow_data(case: Case) -> dict[str, Any]:
    """Read-only view of the case's current process variables (for the case page)."""
    loaded = _load(case, lock=False)
    return _current_data(loaded.workflow)


# ---------------------------------------------------------------------------- internals

def _load(case: Case, lock: bool = True) -> Loaded:
    if lock and case.has_incident:
        raise CaseHasIncident(f"案件流程异常，等待管理员处理 / case {case.id} has an open engine incident; an administrator must retry or dismiss it")
    query = select(WorkflowInstance).where(WorkflowInstance.case_id == case.id)
    if lock:
        # lock the row (PostgreSQL) and re-read it even if this session has it already: another
        # request may have committed since; the version column catches the rest (SQLite)
        query = query.with_for_update().execution_options(populate_existing=True)
    instance = session.scalar(query)
    if instance is None:
        raise LookupError(f"case {case.id} has no workflow")
    definition = load_definition(instance.definition_id)
    workflow = loads(instance.state, definition.spec, definition.subprocess_specs)
    return Loaded(instance, definition, workflow)


def _ready_spiff_task(workflow: CaseWorkflow, task: Task) -> SpiffTask:
    try:
        spiff_task = workflow.get_task_from_id(UUID(task.spiff_id))
    except Exception:  # noqa: BLE001 - the library raises its own TaskNotFound
        spiff_task = None
    if spiff_task is None or spiff_task.state != TaskState.READY:
        raise TaskNotReady(f"任务不在待办状态 / task {task.id} is not waiting in the workflow")
    return spiff_task


def _run(case: Case, loaded: Loaded, action: dict[str, Any], actor: Any, act: Any,
         completed: Task | None = None, new_case: bool = False) -> None:
    workflow = loaded.workflow
    try:
        act()
        workflow.do_engine_steps()
        projection = _project(workflow, loaded.definition)
    except Exception as exc:  # noqa: BLE001 - any failure inside the process is an incident
        _open_incident(case, action, exc, actor)
        return
    now = utcnow()
    loaded.instance.state = dumps(workflow)
    loaded.instance.updated_at = now
    loaded.instance.next_timer_at = _next_timer(workflow)
    _sync_tasks(case, projection, completed, actor, now, new_case)
    _mirror(case, workflow, projection, now)
    session.flush()


@dataclass
class ProjectedTask:
    spiff_id: str
    meta: Any
    unit_code: str
    time_limit: str | None


def _project(workflow: CaseWorkflow, definition: LoadedDefinition) -> list[ProjectedTask]:
    """Evaluate the unit and limit of every ready user task (inside the sandbox)."""
    result = []
    engine = workflow.script_engine
    for spiff_task in workflow.get_tasks(state=TaskState.READY, manual=True):
        meta = definition.tasks.get(spiff_task.task_spec.bpmn_id)
        if meta is None:
            raise ValueError(f"user task {spiff_task.task_spec.bpmn_id} has no metadata")
        unit_code = engine.evaluate(spiff_task, meta.unit_expr)
        if not unit_code or unit_code not in directory().by_code:
            raise ValueError(f"task {meta.bpmn_id}: unit expression {meta.unit_expr!r} gave unknown org unit {unit_code!r}")
        limit = engine.evaluate(spiff_task, meta.limit_expr) if meta.limit_expr else None
        if limit is not None:
            from app.sla.calendar import parse_limit
            parse_limit(str(limit))
        result.append(ProjectedTask(str(spiff_task.id), meta, unit_code, str(limit) if limit else None))
    return result


def _sync_tasks(case: Case, projection: list[ProjectedTask], completed: Task | None, actor: Any, now: datetime,
                new_case: bool = False) -> None:
    from app.sla.calendar import DEFAULT_CALENDAR
    existing = {} if new_case else {t.spiff_id: t for t in session.scalars(
        select(Task).where(Task.case_id == case.id, Task.state == "open"))}
    ready_ids = {p.spiff_id for p in projection}
    for spiff_id, row in existing.items():
        if spiff_id in ready_ids:
            continue
        if completed is not None and row.id == completed.id:
            row.state, row.completed_at, row.completed_by_id = "completed", now, getattr(actor, "id", None)
        else:
            row.state, row.completed_at = "cancelled", now
            record("task_cancelled", case_id=case.id, task_id=row.id, at=now, task=row.name)
    units = directory().by_code
    created = []
    for p in projection:
        if p.spiff_id in existing:
            continue
        unit = units[p.unit_code]
        row = Task(case_id=case.id, spiff_id=p.spiff_id, bpmn_id=p.meta.bpmn_id, name=p.meta.name,
                   stage=p.meta.stage, role=p.meta.role, form=p.meta.form, org_unit_id=unit.id,
                   unit_path=unit.path, time_limit=p.time_limit, created_at=now,
                   due_at=DEFAULT_CALENDAR.add(now, p.time_limit) if p.time_limit else None)
        session.add(row)
        created.append((row, unit))
    for row, unit in created:
        record("task_created", case_id=case.id, task_row=row, at=now, task=row.name, bpmn_id=row.bpmn_id,
               role=row.role, unit=unit.code, unit_name=unit.name, due_at=row.due_at.isoformat() if row.due_at else None)


def _current_data(workflow: CaseWorkflow) -> dict[str, Any]:
    if workflow.is_completed():
        return dict(workflow.data)
    ready = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
    if ready:
        return dict(ready[0].data)
    return dict(workflow.last_task.data) if workflow.last_task is not None else {}


def _mirror(case: Case, workflow: CaseWorkflow, projection: list[ProjectedTask], now: datetime) -> None:
    """Copy what the process decided onto the case row, where lists and KPIs can query it."""
    data = _current_data(workflow)
    units = directory().by_code
    for key in MIRRORED_COUNTERS:
        if isinstance(data.get(key), int):
            setattr(case, key, data[key])
    for key, attr in (("grid_unit", "grid_unit_id"), ("handling_unit", "handling_unit_id")):
        code = data.get(key)
        if isinstance(code, str) and code in units:
            setattr(case, attr, units[code].id)
    case.stage = projection[0].meta.stage if projection else None
    if workflow.is_completed():
        outcome = data.get("outcome")
        case.status = outcome if outcome in OUTCOMES else "closed"
        case.closed_at = now
        case.stage = None
    case.updated_at = now


def _next_timer(workflow: CaseWorkflow) -> datetime | None:
    times = []
    for event in workflow.waiting_events():
        value = event.value if hasattr(event, "value") else None
        if isinstance(value, str):
            try:
                times.append(datetime.fromisoformat(value))
            except ValueError:
                continue
    return min(times) if times else None


def _open_incident(case: Case, action: dict[str, Any], exc: Exception, actor: Any) -> None:
    element = None
    task = getattr(exc, "task", None)
    if task is not None:
        element = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
    message = f"{type(exc).__name__}: {exc}"
    error_type = getattr(exc, "error_type", None)
    if error_type and error_type != "unknown":
        message = f"{error_type} in {message}"
    log.warning("engine incident in case %s at %s: %s", case.id, element, message)
    incident = Incident(case_id=case.id, action=json.dumps(action, ensure_ascii=False, default=str),
                        error=message[:4000], element=element)
    session.add(incident)
    case.has_incident = True
    session.flush()
    record("incident_opened", actor=actor, case_id=case.id, incident=incident.id, element=element, error=message[:500])
    raise EngineIncidentError(incident)


def _resolve(incident: Incident, actor: Any, resolution: str) -> None:
    if incident.resolved_at is not None:
        raise EngineError(f"incident {incident.id} is already {incident.resolution}")
    incident.resolved_at, incident.resolved_by_id, incident.resolution = utcnow(), getattr(actor, "id", None), resolution
    record(f"incident_{resolution}", actor=actor, case_id=incident.case_id, incident=incident.id)
