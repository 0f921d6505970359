"""One action on a case in two halves: first compute everything (run the engine, give new tasks
their deadlines and arm their timers, project the ready tasks, serialize the state), then write
it all — the workflow row with its version check, task rows, case row, audit events, the effects
the process asked for — or, if the engine failed, an incident and nothing else."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from app.cases.models import Case
from app.core.audit import record, write_pending
from app.core.db import utcnow
from app.engine import effects as fx
from app.engine import sandbox
from app.engine.definitions import LoadedDefinition
from app.engine.errors import CaseConflict, EngineIncidentError, NoWayForward, TaskNotReady
from app.engine.incidents import _open_incident
from app.engine.projection import (ProjectedTask, _initial_timing, _insert_tasks, _mirror_values, _project,
                                   _record_created)
from app.engine.serializer import CaseWorkflow, check_state_size, dumps
from app.engine.store import (_SELECT_OPEN_TASKS, _UPDATE_CASE, _UPDATE_INSTANCE, _UPDATE_OPEN_TASK, Loaded,
                              _open_tasks, _set_incident_flag, _sql, _written)
from app.engine.waits import _arm, _due_timer_names, _has_timers, next_timer, stalled
from app.orgs.directory import directory
from app.sla.deadlines import Timing
from app.tasks.models import Task


MAX_TIMER_ROUNDS = 5  # timers that fire at once (catching up) may ready further timers


@dataclass
class Step:
    """The engine's result of one action, computed before anything is written."""

    projection: list[ProjectedTask]
    timings: dict[str, Timing | None]  # new tasks' deadlines by spiff id
    effects: list[fx.Effect]
    state: str
    next_timer: datetime | None
    fired: list[str]  # names of the timer events that fired


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


def _apply_effects(case: Case, effects: list[fx.Effect], now: datetime) -> None:
    """Carry out what the process asked for (reminders 催办, supervision 转督办, …) with the
    handlers the features registered (:func:`app.engine.effects.register_handler`)."""
    handlers = [fx.handler_for(effect.kind) for effect in effects]  # all known before any runs
    open_rows = list(_sql(_SELECT_OPEN_TASKS, {"k_case": case.id}))
    for effect, handler in zip(effects, handlers):
        handler(case, [r for r in open_rows if r.bpmn_id == effect.task_bpmn_id], effect.message, now)
