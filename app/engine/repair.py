"""Repairing a case whose process stopped (a "no way forward" or consistency incident): run its
engine step again, or only make the task table agree with the stored workflow."""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.util.task import TaskState

from app.cases.models import Case
from app.core.audit import record
from app.core.db import utcnow
from app.engine.incidents import _resolve_open_incidents
from app.engine.serializer import CaseWorkflow
from app.engine.stepping import _advance
from app.engine.store import _UPDATE_OPEN_TASK, _load, _open_tasks, _sql, _write_case_deadline


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
