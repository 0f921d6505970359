"""The workflow seen from the product's tables: its ready user tasks projected into the task table
(unit, limits, deadlines), and what the process decided mirrored into case columns (stage, tier,
units, counters, status) that lists and KPIs query without loading any workflow."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from SpiffWorkflow.util.task import TaskState

from app.core.audit import record
from app.engine.definitions import LoadedDefinition
from app.engine.serializer import CaseWorkflow
from app.engine.store import _INSERT_TASK, _sql
from app.orgs.directory import directory
from app.sla import deadlines
from app.sla.deadlines import Timing


MIRRORED_COUNTERS = ("rework_count", "reopen_count", "escalation_count", "return_count")
TIERS = ("community", "street", "district", "city")
OUTCOMES = ("closed", "rejected")


@dataclass
class ProjectedTask:
    spiff_id: str
    meta: Any
    unit_code: str
    time_limit: str | None
    sign_limit: str | None


def _project(workflow: CaseWorkflow, definition: LoadedDefinition) -> list[ProjectedTask]:
    """Evaluate the unit and limits of every ready user task (inside the sandbox)."""
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
        limits = []
        for expr in (meta.limit_expr, meta.sign_limit_expr):
            value = engine.evaluate(spiff_task, expr) if expr else None
            if value is not None:
                parse_limit(str(value))
            limits.append(str(value) if value else None)
        result.append(ProjectedTask(str(spiff_task.id), meta, unit_code, limits[0], limits[1]))
    return result


def _initial_timing(p: ProjectedTask, now: datetime) -> Timing | None:
    """A new task's deadline: the sign-for limit until it is claimed, else its limit from now."""
    if p.sign_limit:
        return deadlines.timing(now, p.sign_limit, started=False)
    if p.time_limit:
        return deadlines.timing(now, p.time_limit)
    return None


def _insert_tasks(case_id: int, projection: list[ProjectedTask], timings: dict[str, Timing | None],
                  now: datetime, paused: bool) -> list[Any]:
    """Insert task rows; returns them as plain rows (attribute access, no ORM bookkeeping)."""
    units = directory().by_code
    tasks = []
    for p in projection:
        unit = units[p.unit_code]
        t = timings.get(p.spiff_id)
        if t is None and paused:  # created while the case is parked: its clock waits for the un-park
            t = _initial_timing(p, now)
        row = {"case_id": case_id, "spiff_id": p.spiff_id, "bpmn_id": p.meta.bpmn_id, "name": p.meta.name,
               "stage": p.meta.stage, "role": p.meta.role, "form": p.meta.form, "org_unit_id": unit.id,
               "unit_path": unit.path, "state": "open", "time_limit": p.time_limit, "sign_limit": p.sign_limit,
               "created_at": now, "started_at": t.started_at if t else None,
               "yellow_at": t.yellow_at if t else None, "due_at": t.due_at if t else None,
               "paused_at": now if paused and t else None, "extension_minutes": 0, "urge_count": 0,
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


def _current_data(workflow: CaseWorkflow) -> dict[str, Any]:
    if workflow.is_completed():
        return dict(workflow.data)
    ready = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING, manual=True) or \
        workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
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
    if data.get("tier") in TIERS:
        values["tier"] = data["tier"]
    for key, column in (("grid_unit", "grid_unit_id"), ("handling_unit", "handling_unit_id")):
        code = data.get(key)
        if isinstance(code, str) and code in units:
            values[column] = units[code].id
    if workflow.is_completed():
        outcome = data.get("outcome")
        values.update(status=outcome if outcome in OUTCOMES else "closed", closed_at=now, stage=None)
    return values
