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

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value
from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from app.core.audit import record, write_pending
from app.core.db import session, utcnow
from app.cases.models import Case
from app.engine import effects as fx
from app.engine.definitions import LoadedDefinition, latest_definition_id, load_definition
from app.engine import sandbox
from app.engine.models import Incident, WorkflowInstance
from app.engine.serializer import CaseWorkflow, check_state_size, dumps, loads
from app.orgs.directory import directory
from app.sla import deadlines
from app.sla.deadlines import Timing
from app.tasks.models import Task

log = logging.getLogger(__name__)

MIRRORED_COUNTERS = ("rework_count", "reopen_count", "escalation_count", "return_count")
TIERS = ("community", "street", "district", "city")
MAX_TIMER_ROUNDS = 5  # timers that fire at once (catching up) may ready further timers
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


class EventNotExpected(EngineError):
    """The process does not wait for this event at this task (e.g. no escalation from this step)."""


class DuplicateDelivery(EngineError):
    """The new case collided with a unique channel message id or idempotency key at the write."""


class NoWayForward(EngineError):
    """An open case whose process waits for nothing the product can give it: no user task, no
    timer, and no incident. Opened as an incident by the host; a repair that leaves the case so
    is refused with this error."""

    def __init__(self, stalled: list[str]) -> None:
        self.stalled = stalled
        self.task = None
        where = " › ".join(stalled) or "—"
        super().__init__(f"流程无法继续：案件没有待办任务、计时器或事件告警（停在 {where}）/ no way forward: the open case "
                         f"has no user task, no waiting timer and no incident (stalled at {where})")


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
    merged_into: int | None = None  # set by intake when the new case was merged at once (an exact repeat)
    duplicates: int = 0  # set by intake: how many likely duplicates the detector kept for it


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
_SELECT_OPEN_TASKS = select(TASKS.c.id, TASKS.c.spiff_id, TASKS.c.name, TASKS.c.bpmn_id, TASKS.c.org_unit_id,
                            TASKS.c.unit_path, TASKS.c.claimed_by_id, TASKS.c.role, TASKS.c.due_at,
                            TASKS.c.yellow_at).where(
    TASKS.c.case_id == bindparam("k_case"), TASKS.c.state == "open")
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


@dataclass
class ProjectedTask:
    spiff_id: str
    meta: Any
    unit_code: str
    time_limit: str | None
    sign_limit: str | None


@dataclass
class Step:
    """The engine's result of one action, computed before anything is written."""

    projection: list[ProjectedTask]
    timings: dict[str, Timing | None]  # new tasks' deadlines by spiff id
    effects: list[fx.Effect]
    state: str
    next_timer: datetime | None
    fired: list[str]  # names of the timer events that fired


def start_case(values: dict[str, Any], process_id: str, seed: dict[str, Any], actor: Any = None,
               guard_duplicates: bool = False, write_events: bool = True) -> Started:
    """Insert a new case with ``values`` and run its process to the first wait.

    With ``write_events=False`` its audit events stay pending (``Started.events`` is empty): the
    caller records more and writes them all in one INSERT (:func:`app.core.audit.write_pending`).

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
        step = _run(workflow, definition, workflow.do_engine_steps, {}, now, paused=False)
    except Exception as exc:  # noqa: BLE001 - any failure inside the process is an incident
        failure = exc
        fresh = CaseWorkflow(definition.spec, definition.subprocess_specs)
        fresh.task_tree.data.update(seed)
        step = Step([], {}, [], dumps(fresh), None, [])
    row = {**values, "status": "open", "rework_count": 0, "reopen_count": 0, "escalation_count": 0,
           "return_count": 0, "has_incident": failure is not None, "created_at": now, "updated_at": now,
           "closed_at": None, "stage": None, "handling_unit_id": None, "tier": None, "due_at": None,
           "yellow_at": None, "supervised_at": None, "parked_at": None, "park_reason": None}
    if failure is None:
        row.update(_mirror_values(workflow, step.projection, now))
        timed = [t for t in step.timings.values() if t is not None]
        if timed:  # the case's deadline is its most urgent task's
            row.update(due_at=min(t.due_at for t in timed), yellow_at=min(t.yellow_at for t in timed))

    # the case row is written first: a repeated delivery (same channel message id or idempotency
    # key) inserts nothing, and nothing else is written for it
    statement = _insert_case_ignoring_conflicts() if guard_duplicates else _INSERT_CASE
    case_id = _sql(statement, row).scalar()
    if case_id is None:
        raise DuplicateDelivery("a case for this message exists already")
    _sql(_INSERT_INSTANCE, {"case_id": case_id, "definition_id": definition.id, "state": step.state,
                            "version": 1, "next_timer_at": step.next_timer, "updated_at": now})
    tasks = _insert_tasks(case_id, step.projection, step.timings, now, paused=False)
    case = Case(id=case_id, **{k: v for k, v in row.items() if k != "id"})
    record("case_created", actor=actor, case_id=case_id, at=now, channel=case.channel, title=case.title,
           category_code=case.category_code, grid_unit=seed.get("grid_unit"))
    _record_created(case_id, tasks, now)
    if step.effects:
        _apply_effects(case, step.effects, now)
    action: dict[str, Any] = {"type": "start"}
    if failure is None and not _has_way_forward(workflow, step):
        failure = NoWayForward(stalled(workflow))
        action = {"type": "no_way_forward", "after": action}  # repaired, not retried: the start itself worked
        _set_incident_flag(case, True)
    incident = _open_incident(case_id, action, failure, actor) if failure is not None else None
    return Started(case, tasks, incident, write_pending() if write_events else [])


def complete_task(case: Case, task: Task, data: dict[str, Any], actor: Any,
                  proposals: dict[str, str] | None = None) -> None:
    """Complete a ready user task with validated form data and run the engine to its next wait.

    ``proposals`` maps form fields to the process variables that proposed their value (a form
    field's ``x-default-from``: the rules' department, time limit, …). A value that differs from
    its proposal is recorded as an override in the audit trail.
    """
    loaded = _load(case)
    existing = _open_tasks(case.id)
    spiff_task = _ready_spiff_task(loaded.workflow, task.id, _still_open(existing, task).spiff_id)
    overrides = []
    for name, variable in (proposals or {}).items():
        proposed, chosen = spiff_task.data.get(variable), data.get(name)
        if proposed is not None and chosen is not None and chosen != proposed:
            overrides.append({"field": name, "proposed": proposed, "chosen": chosen})
    if overrides:  # recorded with the completion (one audit INSERT), which it belongs to
        record("proposal_overridden", actor=actor, case_id=case.id, task_id=task.id, task=task.name,
               overrides=overrides)

    def act() -> None:
        spiff_task.data.update(data)
        spiff_task.run()
        loaded.workflow.do_engine_steps()

    _advance(case, loaded, {"type": "complete", "task_id": task.id, "data": data}, actor, act, completed=task,
             existing=existing)


def fire_timers(case: Case) -> bool:
    """Run the case's expired timers; return True when something moved."""
    loaded = _load(case)
    if not _due_timer_names(loaded.workflow, utcnow()):
        # nothing has passed yet (a stale mark): keep the state, correct the mark
        _sql(_UPDATE_NEXT_TIMER, {"k_case": case.id, "next_timer_at": next_timer(loaded.workflow)})
        return False

    def act() -> None:
        loaded.workflow.refresh_timers()
        loaded.workflow.do_engine_steps()

    return _advance(case, loaded, {"type": "timers"}, None, act)


def reschedule(case: Case, timings: dict[int, Timing | None], actor: Any, reason: dict[str, Any]) -> None:
    """Move the deadlines of open tasks (claim, extension, park, un-park) and re-arm their timers.

    ``timings`` maps task ids to their new deadlines (None: the clock stands). The task rows get
    the new moments; in the workflow, the boundary timers attached to those tasks are evaluated
    again, so a reminder or an escalation fires at the new moment (at once if it has passed).
    """
    rows = {r.id: r for r in _sql(_SELECT_OPEN_TASKS, {"k_case": case.id})}
    now = utcnow()
    for task_id, t in timings.items():
        if task_id not in rows:
            raise TaskNotReady(f"任务已结束 / task {task_id} is no longer open")
        values: dict[str, Any] = {"paused_at": now if t is None else None}
        if t is not None:
            values.update(started_at=t.started_at, yellow_at=t.yellow_at, due_at=t.due_at)
        _sql(_UPDATE_OPEN_TASK, {"k_task": task_id, **values})
    by_spiff = {rows[task_id].spiff_id: t for task_id, t in timings.items()}
    loaded = _load(case)
    if not _has_timers(loaded.workflow, by_spiff):
        _write_case_deadline(case, now)
        return

    def act() -> None:
        _arm(loaded.workflow, by_spiff)
        loaded.workflow.refresh_timers()
        loaded.workflow.do_engine_steps()

    _advance(case, loaded, {"type": "reschedule", **reason}, actor, act)


def signal(case: Case, task: Task, name: str, payload: dict[str, Any], actor: Any) -> None:
    """Send the BPMN signal ``name`` (e.g. ``escalate``, ``return``) to the task's activity.

    The diagram decides what it means: a boundary signal event on the task, or on a sub-process
    that contains it, catches it. Without one, :class:`EventNotExpected` and nothing changes.
    """
    loaded = _load(case)
    existing = _open_tasks(case.id)
    spiff_task = _ready_spiff_task(loaded.workflow, task.id, _still_open(existing, task).spiff_id)
    if not _catches_signal(loaded.workflow, spiff_task, name):
        raise EventNotExpected(f"流程在此环节不接受“{name}” / the process does not accept '{name}' at task {task.bpmn_id}")

    def act() -> None:
        loaded.workflow.send_event(BpmnEvent(SignalEventDefinition(name), payload=payload))
        loaded.workflow.do_engine_steps()

    _advance(case, loaded, {"type": "signal", "name": name, "task_id": task.id, "payload": payload}, actor, act,
             existing=existing)


def accepts_signal(case: Case, task: Task, name: str) -> bool:
    """Whether the process would catch signal ``name`` at this task now (read-only)."""
    loaded = _load(case, lock=False)
    spiff_task = _spiff(loaded.workflow, task.spiff_id)
    return spiff_task is not None and spiff_task.state == TaskState.READY and \
        _catches_signal(loaded.workflow, spiff_task, name)


def move_task(case: Case, task: Task, unit_code: str, actor: Any) -> None:
    """Give an open task to another unit. When the task's ``unit`` is a plain process variable,
    the variable changes too, so the later steps of the process follow the new unit."""
    loaded = _load(case)
    existing = _open_tasks(case.id)
    spiff_task = _ready_spiff_task(loaded.workflow, task.id, _still_open(existing, task).spiff_id)
    meta = loaded.definition.tasks.get(task.bpmn_id)
    unit = directory().by_code[unit_code]
    if meta is not None and meta.unit_variable:
        spiff_task.data[meta.unit_variable] = unit_code
        _advance(case, loaded, {"type": "move", "task_id": task.id, "unit": unit_code}, actor, lambda: None,
                 existing=existing)
    _sql(_UPDATE_OPEN_TASK, {"k_task": task.id, "org_unit_id": unit.id, "unit_path": unit.path,
                             "claimed_by_id": None, "claimed_at": None})
    _written(task, {"org_unit_id": unit.id, "unit_path": unit.path, "claimed_by_id": None, "claimed_at": None})


def retry_incident(incident: Incident, actor: Any) -> None:
    """Apply the failed action again on the last good state (after the cause was fixed)."""
    case = session.get(Case, incident.case_id)
    assert case is not None
    _lock(case)
    _resolve(incident, actor, "retried")
    _set_incident_flag(case, False)
    action = json.loads(incident.action)
    if action["type"] == "start":
        loaded = _load(case)
        _advance(case, loaded, action, actor, loaded.workflow.do_engine_steps)
    elif action["type"] == "complete":
        task = session.get(Task, action["task_id"])
        if task is None:
            raise TaskNotReady("该事件对应的任务已不存在 / the task of this incident no longer exists")
        complete_task(case, task, action["data"], actor)
    elif action["type"] in STOPPED:
        repair_case(case, actor)
    elif action["type"] == "signal":
        task = session.get(Task, action["task_id"])
        if task is None:
            raise TaskNotReady("该事件对应的任务已不存在 / the task of this incident no longer exists")
        signal(case, task, action["name"], action["payload"], actor)
    else:
        fire_timers(case)


#: Incidents of a case that stopped (not of an action that failed): they are repaired, not retried.
STOPPED = ("no_way_forward", "inconsistent")


def incident_kind(incident: Incident) -> str:
    """``'stopped'`` for a case found with no way forward or out of step with its tasks, else
    ``'failed'`` (an action that raised: retry it once the cause is fixed)."""
    try:
        kind = json.loads(incident.action).get("type")
    except (ValueError, AttributeError):
        kind = None
    return "stopped" if kind in STOPPED else "failed"


def repair_case(case: Case, actor: Any) -> list[str]:
    """Retry the engine step of a case whose process stopped (a "no way forward" or consistency
    incident): join the finished children of multi-instance activities that were never joined
    (cases stuck before the fix of issue 10), fire due timers, run the engine, and make the task
    table agree with the workflow. Resolves the case's open incidents as ``repaired``; refused
    with :class:`NoWayForward` (nothing changed, the caller rolls back) if the case still has no
    way forward. A case that has ended only loses the task rows it should not have. Returns the
    children it joined."""
    loaded = _load(case, blocked_ok=True)  # the workflow row first, as every action of the host
    resolved = _resolve_open_incidents(case, actor, "repaired")
    if case.status != "open":
        _close_stray_tasks(case, actor)
        record("case_repaired", actor=actor, case_id=case.id, incidents=resolved, joined=0)
        return []
    joined: list[str] = []

    def act() -> None:
        joined.extend(_join_unjoined_children(loaded.workflow))
        loaded.workflow.refresh_timers()
        loaded.workflow.do_engine_steps()

    _advance(case, loaded, {"type": "repair", "incidents": resolved}, actor, act, repairing=True)
    record("case_repaired", actor=actor, case_id=case.id, incidents=resolved, joined=len(joined))
    return joined


def reproject_tasks(case: Case, actor: Any) -> None:
    """Make the task table, the case's status and its timer mark agree with the stored workflow,
    without running the engine: task rows the workflow no longer waits for are cancelled, user
    tasks it waits for but no inbox shows get their row. Resolves open incidents as ``repaired``;
    refused with :class:`NoWayForward` if that leaves the open case with no way forward. A case
    that has ended keeps its status and closing time and only loses its stray open task rows."""
    loaded = _load(case, blocked_ok=True)
    resolved = _resolve_open_incidents(case, actor, "repaired")
    if case.status != "open":
        _close_stray_tasks(case, actor)
    else:
        _advance(case, loaded, {"type": "reproject", "incidents": resolved}, actor, lambda: None, repairing=True)
    record("tasks_reprojected", actor=actor, case_id=case.id, incidents=resolved)


def _close_stray_tasks(case: Case, actor: Any) -> None:
    """An ended case's open task rows (which no inbox should show) are cancelled; nothing else changes."""
    now = utcnow()
    for r in _open_tasks(case.id).values():
        _sql(_UPDATE_OPEN_TASK, {"k_task": r.id, "state": "cancelled", "completed_at": now})
        record("task_cancelled", actor=actor, case_id=case.id, task_id=r.id, at=now, task=r.name)
    _write_case_deadline(case, now)


def _resolve_open_incidents(case: Case, actor: Any, resolution: str) -> list[int]:
    incidents = session.scalars(select(Incident).where(Incident.case_id == case.id, Incident.resolved_at.is_(None))
                                .order_by(Incident.id)).all()
    for incident in incidents:
        _resolve(incident, actor, resolution)
    _set_incident_flag(case, False)
    return [i.id for i in incidents]


def _join_unjoined_children(workflow: CaseWorkflow) -> list[str]:
    """Hand each finished child of a running multi-instance (or loop) activity that the activity
    never received to it, in order, as SpiffWorkflow would have on the child's completion."""
    joined = []
    for parent in workflow.get_tasks(state=TaskState.STARTED):
        spec = parent.task_spec
        if not isinstance(spec, LoopTask):
            continue
        merged = set(parent.internal_data.get("merged", []))
        for child in list(spec._instances(parent)):
            if child.state == TaskState.COMPLETED and str(child.id) not in merged:
                spec.merge_child(workflow, child)
                joined.append(str(child.id))
    return joined


def dismiss_incident(incident: Incident, actor: Any) -> None:
    """Drop the failed action: the case goes on from its last good state."""
    case = session.get(Case, incident.case_id)
    assert case is not None
    _lock(case)
    _resolve(incident, actor, "dismissed")
    _set_incident_flag(case, False)


def cancel_case(case: Case, outcome: str, actor: Any, reason: dict[str, Any]) -> None:
    """End the case's process without finishing it (a duplicate merged into its master).

    Every waiting task is cancelled and every timer disarmed; the case gets ``outcome`` as its
    status. The state stays readable on the case page, like a finished one.
    """
    loaded = _load(case)
    if loaded.workflow.is_completed():
        raise EventNotExpected(f"案件流程已结束 / the process of case {case.id} has ended")

    def act() -> None:
        loaded.workflow.cancel()

    _advance(case, loaded, {"type": "cancel", "outcome": outcome, **reason}, actor, act, outcome=outcome)


def task_data(case: Case, task: Task) -> dict[str, Any]:
    """Read-only view of the process variables a waiting task sees (its form's proposals come from here)."""
    workflow = _load(case, lock=False).workflow
    spiff_task = _spiff(workflow, task.spiff_id)
    return dict(spiff_task.data) if spiff_task is not None else _current_data(workflow)


def workflow_data(case: Case) -> dict[str, Any]:
    """Read-only view of the case's current process variables (for the case page)."""
    return _current_data(_load(case, lock=False).workflow)


# ---------------------------------------------------------------------------- internals

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


def _run(workflow: CaseWorkflow, definition: LoadedDefinition, act: Any, existing: dict[str, Any],
         now: datetime, paused: bool) -> Step:
    """Apply ``act`` (which runs the engine), give new tasks their deadlines and arm their timers.

    Timers armed with a moment already passed fire at once (catching up), which may ready more
    tasks: repeat until nothing new appears. Effects asked for by scripts are collected. All
    scripts and expressions of the action share one time budget, and a state larger than the
    cap is refused (both become an incident).
    """
    effects, token = fx.collect()
    budget = sandbox.start_step()
    try:
        fired = _due_timer_names(workflow, now)
        act()
        timings: dict[str, Timing | None] = {}
        for _ in range(MAX_TIMER_ROUNDS):
            projection = _project(workflow, definition)
            fresh = {p.spiff_id: (None if paused else _initial_timing(p, now))
                     for p in projection if p.spiff_id not in existing and p.spiff_id not in timings}
            timings.update(fresh)
            if not fresh or not _has_timers(workflow, fresh):
                break
            _arm(workflow, fresh)
            fired += _due_timer_names(workflow, now)
            workflow.refresh_timers()
            workflow.do_engine_steps()
        state = dumps(workflow)
        check_state_size(state, workflow)
        return Step(projection, timings, effects, state, next_timer(workflow), fired)
    finally:
        sandbox.end_step(budget)
        fx.stop_collecting(token)


def _open_tasks(case_id: int) -> dict[str, Any]:
    """The case's open task rows by spiff id (read after the case is locked: they are current)."""
    return {r.spiff_id: r for r in _sql(_SELECT_OPEN_TASKS, {"k_case": case_id})}


def _still_open(existing: dict[str, Any], task: Task) -> Any:
    """The task's current row among the case's open tasks; it may have ended meanwhile."""
    for row in existing.values():
        if row.id == task.id:
            return row
    raise TaskNotReady(f"任务已结束 / task {task.id} is no longer open")


def _advance(case: Case, loaded: Loaded, action: dict[str, Any], actor: Any, act: Any,
             completed: Task | None = None, outcome: str | None = None,
             existing: dict[str, Any] | None = None, repairing: bool = False) -> bool:
    """Apply ``act`` and run the engine; then write state, tasks, case and audit (or an incident).
    ``existing`` are the case's open task rows when the caller read them already (after the lock).

    The safety net: an open case that ends up with no user task, no timer and no incident gets
    a "no way forward" incident in the same transaction (its state is still written: the step
    itself succeeded). A repair (``repairing``) that would leave the case so raises
    :class:`NoWayForward` instead, and the caller rolls back."""
    now = utcnow()
    existing = _open_tasks(case.id) if existing is None else existing
    try:
        step = _run(loaded.workflow, loaded.definition, act, existing, now, paused=case.parked_at is not None)
    except Exception as exc:  # noqa: BLE001 - any failure inside the process is an incident
        incident = _open_incident(case.id, action, exc, actor)
        _set_incident_flag(case, True)
        raise EngineIncidentError(incident) from None
    result = _sql(_UPDATE_INSTANCE, {"k_case": case.id, "k_version": loaded.version, "state": step.state,
                                     "version": loaded.version + 1, "next_timer_at": step.next_timer,
                                     "updated_at": now})
    if result.rowcount != 1:
        raise CaseConflict("案件已被他人更新，请刷新后重试 / the case was changed by someone else; reload and retry")
    if step.fired:
        record("timers_fired", case_id=case.id, at=now, timers=step.fired)
    _sync_tasks(case, existing, step, completed, actor, now)
    values = _mirror_values(loaded.workflow, step.projection, now)
    values.update(_deadline_after(existing, step))
    if outcome is not None:
        values["status"] = outcome
    stuck = outcome is None and not _has_way_forward(loaded.workflow, step)
    if stuck and repairing:
        raise NoWayForward(stalled(loaded.workflow))
    if stuck:
        values["has_incident"] = True
    _sql(_UPDATE_CASE, {"k_case": case.id, **values})
    _written(case, values)
    if step.effects:
        _apply_effects(case, step.effects, now)
    if stuck:
        _open_incident(case.id, {"type": "no_way_forward", "after": action}, NoWayForward(stalled(loaded.workflow)), actor)
    write_pending()
    return True


def _has_way_forward(workflow: CaseWorkflow, step: Step) -> bool:
    """Whether the process can still move by itself or by a user: it has ended, a user task waits
    in an inbox, or a timer waits for a real moment. (Signals are sent only at a user task and
    the product delivers no messages, so a waiting catch event alone is no way forward.)"""
    return workflow.is_completed() or bool(step.projection) or step.next_timer is not None


def stalled(workflow: CaseWorkflow) -> list[str]:
    """Where a stuck process stands, outermost first: the activities it is inside and the catch
    events it waits at (boundary events aside: they wait on an activity, not for themselves)."""
    names = []
    for t in workflow.get_tasks(state=TaskState.STARTED | TaskState.WAITING):
        spec = t.task_spec
        if getattr(spec, "bpmn_id", None) and not isinstance(spec, (BoundaryEvent, BoundaryEventSplit)):
            names.append(spec.bpmn_id)
    return names


def _written(row: Any, values: dict[str, Any]) -> None:
    """Tell the ORM object what a plain UPDATE just wrote, so reading it needs no new query."""
    for key, value in values.items():
        set_committed_value(row, key, value)


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


def _boundary_timers(spiff_task: SpiffTask) -> list[SpiffTask]:
    parent = spiff_task.parent
    if parent is None or not isinstance(parent.task_spec, BoundaryEventSplit):
        return []
    return [t for t in parent.children if t is not spiff_task and isinstance(t.task_spec, BoundaryEvent)
            and isinstance(t.task_spec.event_definition, TimerEventDefinition)]


def _spiff(workflow: CaseWorkflow, spiff_id: str) -> SpiffTask | None:
    try:
        return workflow.get_task_from_id(UUID(spiff_id))
    except Exception:  # noqa: BLE001 - the library raises its own TaskNotFound
        return None


def _has_timers(workflow: CaseWorkflow, timings: dict[str, Any]) -> bool:
    return any((t := _spiff(workflow, sid)) is not None and _boundary_timers(t) for sid in timings)


def _arm(workflow: CaseWorkflow, timings: dict[str, Timing | None]) -> None:
    """Give user tasks their deadlines for ``deadline()`` and make their waiting timers re-read them."""
    for spiff_id, t in timings.items():
        spiff_task = _spiff(workflow, spiff_id)
        if spiff_task is None:
            continue
        timers = _boundary_timers(spiff_task)
        if not timers:
            continue
        spiff_task.internal_data[fx.DEADLINE_KEY] = (
            None if t is None else {"yellow": t.yellow_at.isoformat(), "due": t.due_at.isoformat()})
        for timer in timers:
            if timer.state == TaskState.WAITING:
                timer.internal_data.pop("event_value", None)
                timer.internal_data.pop("event_fired", None)
                timer.task_spec.event_definition.has_fired(timer)  # evaluates the new moment now


def _due_timer_names(workflow: CaseWorkflow, now: datetime) -> list[str]:
    """Names of waiting timers due by ``now`` (for the audit trail of what fired)."""
    names = []
    for event in workflow.waiting_events():
        moment = _as_moment(getattr(event, "value", None))
        if moment is not None and moment < now:  # as SpiffWorkflow decides: once the moment has passed
            names.append(event.name or event.event_type)
    return names


def _catches_signal(workflow: CaseWorkflow, spiff_task: SpiffTask, name: str) -> bool:
    """Whether a waiting boundary event for signal ``name`` sits on the task or around it."""
    around = set()
    task: SpiffTask | None = spiff_task
    while task is not None:
        around.add(task.id)
        if task.parent is not None:
            task = task.parent
        else:  # the root of a sub-process: continue from the task that runs it
            parent_id = getattr(task.workflow, "parent_task_id", None)
            task = workflow.get_task_from_id(parent_id) if parent_id else None
    for waiting in workflow.get_tasks(state=TaskState.WAITING):
        spec = waiting.task_spec
        if (isinstance(spec, BoundaryEvent) and isinstance(spec.event_definition, SignalEventDefinition)
                and spec.event_definition.name == name):
            attached = fx.attached_task(waiting)
            if attached is not None and attached.id in around:
                return True
    return False


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


def _sync_tasks(case: Case, existing: dict[str, Any], step: Step, completed: Task | None, actor: Any,
                now: datetime) -> None:
    """Close the task rows that are no longer ready, move those whose unit changed, insert new ones."""
    projected = {p.spiff_id: p for p in step.projection}
    units = directory().by_code
    for spiff_id, r in existing.items():
        p = projected.get(spiff_id)
        if p is not None:
            unit = units[p.unit_code]
            if unit.id != r.org_unit_id:
                _sql(_UPDATE_OPEN_TASK, {"k_task": r.id, "org_unit_id": unit.id, "unit_path": unit.path,
                                         "claimed_by_id": None, "claimed_at": None})
            continue
        if completed is not None and r.id == completed.id:
            values = {"state": "completed", "completed_at": now, "completed_by_id": getattr(actor, "id", None)}
            _written(completed, values)
        else:
            values = {"state": "cancelled", "completed_at": now}
            record("task_cancelled", case_id=case.id, task_id=r.id, at=now, task=r.name)
        _sql(_UPDATE_OPEN_TASK, {"k_task": r.id, **values})
    new = [p for p in step.projection if p.spiff_id not in existing]
    _record_created(case.id, _insert_tasks(case.id, new, step.timings, now, paused=case.parked_at is not None), now)


def _deadline_after(existing: dict[str, Any], step: Step) -> dict[str, Any]:
    """The case's deadline (its most urgent open task's) once ``step`` is written, without a query."""
    projected = {p.spiff_id for p in step.projection}
    kept = [r for sid, r in existing.items() if sid in projected and r.due_at is not None]
    new = [t for t in step.timings.values() if t is not None]
    dues = [r.due_at for r in kept] + [t.due_at for t in new]
    yellows = [r.yellow_at for r in kept if r.yellow_at is not None] + [t.yellow_at for t in new]
    return {"due_at": min(dues) if dues else None, "yellow_at": min(yellows) if yellows else None}


def _case_deadline(case_id: int) -> dict[str, Any]:
    due, yellow = _sql(_CASE_DEADLINE, {"k_case": case_id}).one()
    return {"due_at": due, "yellow_at": yellow}


def _write_case_deadline(case: Case, now: datetime) -> None:
    values = {**_case_deadline(case.id), "updated_at": now}
    _sql(_UPDATE_CASE, {"k_case": case.id, **values})
    _written(case, values)


def _apply_effects(case: Case, effects: list[fx.Effect], now: datetime) -> None:
    """Carry out what the process asked for (reminders 催办, supervision 转督办, …) with the
    handlers the features registered (:func:`app.engine.effects.register_handler`)."""
    handlers = [fx.handler_for(effect.kind) for effect in effects]  # all known before any runs
    open_rows = list(_sql(_SELECT_OPEN_TASKS, {"k_case": case.id}))
    for effect, handler in zip(effects, handlers):
        handler(case, [r for r in open_rows if r.bpmn_id == effect.task_bpmn_id], effect.message, now)


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


def _as_moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or fx.is_far_future(moment):
        return None
    return moment


def next_timer(workflow: CaseWorkflow) -> datetime | None:
    """The earliest moment a timer of the workflow waits for (far-future placeholders aside)."""
    times = [m for e in workflow.waiting_events() if (m := _as_moment(getattr(e, "value", None))) is not None]
    return min(times) if times else None


def _set_incident_flag(case: Case, flag: bool) -> None:
    _sql(_UPDATE_CASE, {"k_case": case.id, "has_incident": flag})
    _written(case, {"has_incident": flag})


def _open_incident(case_id: int, action: dict[str, Any], exc: Exception, actor: Any) -> Incident:
    element = None
    task = getattr(exc, "task", None)
    if task is not None:
        element = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
    elif isinstance(exc, NoWayForward) and exc.stalled:
        element = exc.stalled[-1]  # the innermost activity it stopped in
    message = str(exc) if isinstance(exc, NoWayForward) else f"{type(exc).__name__}: {exc}"
    error_type = getattr(exc, "error_type", None)
    if error_type and error_type != "unknown":
        message = f"{error_type} in {message}"
    limit = sandbox.limit_exceeded(exc)
    if limit is not None:  # a budget breach: its own message, which names the element
        element = element or limit.element
        message = str(limit) if limit.element or not element else f"{limit} in task {element}"
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
