"""The narrow door into the engine: every change to a case's workflow passes through here.

Each call runs inside the caller's transaction: lock the case's workflow row, load the state
(process version from the cache), apply the action, run engine steps, save the state, project the
ready user tasks into the task table, update the case's mirror fields and ``next_timer_at``.
An engine error keeps the last good state and opens an incident instead.

All computing happens first and all writing last, as a handful of plain statements (no ORM unit
of work on this path): on SQLite a request holds the database's write lock only for those
statements, and the version check in the UPDATE of the workflow row makes a concurrent change of
the same case fail with :class:`CaseConflict` instead of overwriting.

The door is this module; the rooms behind it are modules of their own, re-exported here so callers
name everything ``host.…``:

* :mod:`app.engine.store` — the workflow, task and case rows: lock, load, the version-checked write;
* :mod:`app.engine.stepping` — one action: run, arm timers, project, then write it all (``_advance``);
* :mod:`app.engine.projection` — ready user tasks into the task table, decisions into case columns;
* :mod:`app.engine.waits` — the timers and signals a workflow waits for;
* :mod:`app.engine.effects` — ``deadline()``/``remind()``/``supervise()`` and the registry of the
  features' effect handlers (the engine imports no feature's operations);
* :mod:`app.engine.incidents` and :mod:`app.engine.repair` — failed actions and stopped cases;
* :mod:`app.engine.errors` — what the door refuses.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition
from SpiffWorkflow.util.task import TaskState

from app.core.audit import record, write_pending
from app.core.db import session, utcnow
from app.cases.models import Case
from app.engine.definitions import latest_definition_id, load_definition
from app.engine.errors import (CaseConflict, CaseHasIncident, DuplicateDelivery, EngineError, EngineIncidentError,
                               EventNotExpected, NoProcessDeployed, NoWayForward, TaskNotReady)
from app.engine.incidents import STOPPED, _open_incident, _resolve, incident_kind
from app.engine.migrate import MigrationPlan, plan_migration
from app.engine.models import Incident
from app.engine.projection import (MIRRORED_COUNTERS, OUTCOMES, TIERS, ProjectedTask, _current_data, _insert_tasks,
                                   _mirror_values, _record_created)
from app.engine.repair import repair_case, reproject_tasks
from app.engine.serializer import CaseWorkflow, dumps
from app.engine.stepping import Step, _advance, _apply_effects, _has_way_forward, _ready_spiff_task, _run
from app.engine.store import (_INSERT_CASE, _INSERT_INSTANCE, _LOCK_WITH_TASK_CLOCKS, _SELECT_OPEN_TASK_CLOCKS, _SELECT_OPEN_TASKS, _UPDATE_CASE,
                              _UPDATE_INSTANCE, _UPDATE_NEXT_TIMER, _UPDATE_OPEN_TASK,
                              Loaded, Prefetched, _insert_case_ignoring_conflicts, _load, _loaded, _lock, _open_tasks, _set_incident_flag,
                              _sql, _still_open, _write_case_deadline, _written)
from app.engine.waits import _arm, _catches_signal, _due_timer_names, _has_timers, _spiff, next_timer, stalled
from app.orgs.directory import directory
from app.sla.deadlines import Timing
from app.tasks.models import Task

__all__ = [
    # the door
    "start_case", "complete_task", "fire_timers", "reschedule", "signal", "accepts_signal", "move_task",
    "cancel_case", "task_data", "workflow_data", "retry_incident", "dismiss_incident", "repair_case",
    "reproject_tasks", "incident_kind", "stalled", "next_timer", "migrate_case",
    # what it answers and refuses
    "Started", "Loaded", "Step", "MigrationPlan", "ProjectedTask", "STOPPED", "MIRRORED_COUNTERS", "TIERS", "OUTCOMES",
    "EngineError", "CaseConflict", "TaskNotReady", "CaseHasIncident", "EngineIncidentError", "NoProcessDeployed",
    "EventNotExpected", "DuplicateDelivery", "NoWayForward",
]


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


def migrate_case(case: Case, definition_id: int, actor: Any, dry_run: bool = False,
                 prefetched: Prefetched | None = None) -> MigrationPlan:
    """Move a running case onto another version of its process (``definition_id``), keeping its
    data, open tasks (their rows, claims and deadlines) and timers; see :mod:`app.engine.migrate`.

    A case that cannot move safely is left as it is and the plan says why; with ``dry_run``
    nothing is written either way. Otherwise the workflow row (version-checked), the open task
    rows' definition columns (name, stage, role, form), the case's mirror columns and an audit
    event ``case_migrated`` are written in the caller's transaction.

    ``prefetched`` is the workflow row as a batch read it (:func:`app.engine.store.prefetch_instances`):
    the case's row is then locked and its open task clocks read in one statement, and the state
    read before is used if the version is still the same (else it is read again, under the lock).
    """
    target = load_definition(definition_id)
    if case.status != "open":
        return MigrationPlan(reasons=[f"案件已结束（{case.status}） / the case is no longer running ({case.status})"])
    if case.has_incident:
        return MigrationPlan(reasons=["案件有未处理的流程异常，请先处理 / the case has an open engine incident; "
                                      "retry or dismiss it first"])
    if prefetched is not None and not dry_run:
        locked = _sql(_LOCK_WITH_TASK_CLOCKS, {"k_case": case.id}).all()
        if not locked:
            raise LookupError(f"case {case.id} has no workflow")
        version = locked[0].version
        loaded = _loaded(prefetched, version) if version == prefetched.version else _load(case, lock=False)
        rows = {r.spiff_id: r for r in locked if r.id is not None}
    else:
        loaded = _loaded(prefetched, prefetched.version) if prefetched is not None else _load(case, lock=not dry_run)
        rows = {r.spiff_id: r for r in _sql(_SELECT_OPEN_TASK_CLOCKS, {"k_case": case.id})}
    source = loaded.definition
    if source.id == target.id:
        return MigrationPlan(reasons=[f"案件已在版本 {target.version} / the case is on version {target.version} already"])
    if source.process_id != target.process_id:
        return MigrationPlan(reasons=[f"版本 {definition_id} 属于另一流程 / version {definition_id} is another process's"])
    plan = plan_migration(loaded.workflow, source, target, rows)
    if not plan.ok or dry_run:
        return plan
    now = utcnow()
    result = _sql(_UPDATE_INSTANCE, {"k_case": case.id, "k_version": loaded.version, "state": plan.state,
                                     "version": loaded.version + 1, "definition_id": target.id,
                                     "next_timer_at": plan.next_timer, "updated_at": now})
    if result.rowcount != 1:
        raise CaseConflict("案件已被他人更新，请刷新后重试 / the case was changed by someone else; reload and retry")
    for p in plan.projection:
        _sql(_UPDATE_OPEN_TASK, {"k_task": rows[p.spiff_id].id, "bpmn_id": p.meta.bpmn_id, "name": p.meta.name,
                                 "stage": p.meta.stage, "role": p.meta.role, "form": p.meta.form})
    assert plan.workflow is not None
    values = _mirror_values(plan.workflow, plan.projection, now)
    _sql(_UPDATE_CASE, {"k_case": case.id, **values})
    _written(case, values)
    record("case_migrated", actor=actor, case_id=case.id, at=now, from_version=source.version,
           to_version=target.version, from_definition=source.id, to_definition=target.id,
           tasks=sorted(r.id for r in rows.values()), changed=plan.changed)
    return plan


def task_data(case: Case, task: Task) -> dict[str, Any]:
    """Read-only view of the process variables a waiting task sees (its form's proposals come from here)."""
    workflow = _load(case, lock=False).workflow
    spiff_task = _spiff(workflow, task.spiff_id)
    return dict(spiff_task.data) if spiff_task is not None else _current_data(workflow)


def workflow_data(case: Case) -> dict[str, Any]:
    """Read-only view of the case's current process variables (for the case page)."""
    return _current_data(_load(case, lock=False).workflow)
