"""What a workflow waits for: the boundary timers of user tasks, armed from their deadlines;
the timers due now and the next one; the signals a task can catch; where a stuck process stands."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState

from app.engine import effects as fx
from app.engine.serializer import CaseWorkflow
from app.sla.deadlines import Timing


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


def stalled(workflow: CaseWorkflow) -> list[str]:
    """Where a stuck process stands, outermost first: the activities it is inside and the catch
    events it waits at (boundary events aside: they wait on an activity, not for themselves)."""
    names = []
    for t in workflow.get_tasks(state=TaskState.STARTED | TaskState.WAITING):
        spec = t.task_spec
        if getattr(spec, "bpmn_id", None) and not isinstance(spec, (BoundaryEvent, BoundaryEventSplit)):
            names.append(spec.bpmn_id)
    return names
