"""Moving a running case to another version of its process.

SpiffWorkflow 3.2 aligns the task specs of two versions (``SpiffWorkflow.bpmn.util.diff``:
``SpecDiff`` by element id, then by structure) and moves a workflow onto the new specs
(``migrate_workflow``), resetting and re-predicting its ready and waiting tasks. A reset task
keeps its id but loses its data and internal data (the deadline its timers read), so the plan
here keeps both, re-arms the boundary timers from the task rows' deadlines, and then checks the
result before anything is written:

* every element the case is at, or has passed, still exists in the new version (otherwise its
  state could not be loaded again, or the case would stand where no step exists);
* the same user tasks wait afterwards (same ids: the task rows, their claims and deadlines stay);
* the new version projects them (unit, limits) and the new state loads again.

A case that fails any of these stays on its version, with the reasons. Nothing here writes: the
door (:func:`app.engine.host.migrate_case`) writes a plan that is ``ok``.
"""
from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from app.engine import sandbox
from app.engine.definitions import LoadedDefinition
from app.engine.projection import ProjectedTask, _project
from app.engine.serializer import CaseWorkflow, dumps, loads
from app.engine.waits import _arm, next_timer
from app.sla.deadlines import Timing

_registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
CURRENT = TaskState.READY | TaskState.WAITING | TaskState.STARTED
PASSED = TaskState.COMPLETED | TaskState.CANCELLED | TaskState.ERROR


@dataclass
class MigrationPlan:
    """What moving one case would do: ``ok`` with the new state, or the reasons it may not move."""

    reasons: list[str] = field(default_factory=list)
    state: str | None = None
    projection: list[ProjectedTask] = field(default_factory=list)
    next_timer: datetime | None = None
    workflow: CaseWorkflow | None = None
    changed: list[str] = field(default_factory=list)  # names of current elements whose definition changed

    @property
    def ok(self) -> bool:
        return not self.reasons and self.state is not None


def _label(task: Any) -> str:
    spec = task.task_spec
    bpmn_id = getattr(spec, "bpmn_id", None) or spec.name
    name = getattr(spec, "bpmn_name", None)
    return f"{name} ({bpmn_id})" if name and name != bpmn_id else str(bpmn_id)


def _name(task: Any) -> str:
    spec = task.task_spec
    return str(getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name)


def _removed_reasons(removed: list[Any], where: str = "") -> list[str]:
    reasons = []
    for task in removed:
        if not getattr(task.task_spec, "bpmn_id", None):
            continue  # the engine's own helper specs (start, end, joins) follow their element
        if task.state & CURRENT:
            reasons.append(f"当前环节“{_label(task)}”{where}在新版本中已删除 / the current step {_label(task)}{where} "
                           "was removed in the new version")
        elif task.state & PASSED:
            reasons.append(f"已经过的环节“{_label(task)}”{where}在新版本中已删除，其记录无法保留 / the step "
                           f"{_label(task)}{where} the case has passed was removed in the new version")
    return reasons


def _timing(row: Any) -> Timing | None:
    if row.due_at is None or row.paused_at is not None:
        return None
    return Timing(row.started_at, row.yellow_at or row.due_at, row.due_at)


_spec_diffs: dict[tuple[int, int], tuple[SpecDiff, dict[str, SpecDiff | None]]] = {}


def _diffs(source: LoadedDefinition, target: LoadedDefinition) -> tuple[SpecDiff, dict[str, SpecDiff | None]]:
    """The alignment of two versions' specs (the process and each sub-process), computed once per
    pair: it depends on the specs only (SpiffWorkflow's ``diff_workflow`` does it for every case)."""
    key = (source.id, target.id)
    found = _spec_diffs.get(key)
    if found is None:
        subs = {name: SpecDiff(_registry, spec, target.subprocess_specs[name]) if name in target.subprocess_specs
                else None for name, spec in source.subprocess_specs.items()}
        found = _spec_diffs[key] = (SpecDiff(_registry, source.spec, target.spec), subs)
    return found


def plan_migration(workflow: CaseWorkflow, source: LoadedDefinition, target: LoadedDefinition,
                   open_rows: dict[str, Any]) -> MigrationPlan:
    """Move ``workflow`` (loaded from ``source``, and changed in place) onto ``target``;
    ``open_rows`` are the case's open task rows by spiff id (with their deadlines). Never raises
    for a case that cannot move: the plan lists why."""
    plan = MigrationPlan()
    top_spec_diff, sub_spec_diffs = _diffs(source, target)
    top_diff = WorkflowDiff(workflow, top_spec_diff)
    sub_diffs = {sp_id: (WorkflowDiff(sub, sub_spec_diffs[sub.spec.name])
                         if sub_spec_diffs.get(sub.spec.name) is not None else None)
                 for sp_id, sub in workflow.subprocesses.items()}
    plan.reasons += _removed_reasons(top_diff.removed)
    changed = [t for t in top_diff.changed if t.state & CURRENT]
    for sp_id, diff in sub_diffs.items():
        sub = workflow.subprocesses[sp_id]
        if diff is None:
            plan.reasons.append(f"子流程“{sub.spec.name}”在新版本中已删除 / the sub-process {sub.spec.name} "
                                "the case runs was removed in the new version")
            continue
        where = f"（子流程 {sub.spec.name}）"
        plan.reasons += _removed_reasons(diff.removed, where)
        changed += [t for t in diff.changed if t.state & CURRENT]
    if plan.reasons:
        return plan

    kept = {t.id: (deepcopy(t.data), deepcopy(t.internal_data))
            for t in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)}
    budget = sandbox.start_step()
    try:
        migrate_workflow(top_diff, workflow, target.spec)
        workflow.subprocess_specs = target.subprocess_specs
        for sp_id, diff in sub_diffs.items():
            sub = workflow.subprocesses[sp_id]
            migrate_workflow(diff, sub, target.subprocess_specs[sub.spec.name])
        plan.changed = [_name(t) for t in changed]  # by their names in the new version
        for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
            if task.id in kept:
                task.data, task.internal_data = kept[task.id]
        # the boundary timers of the open tasks read their deadlines again (the task rows keep them)
        _arm(workflow, {sid: _timing(row) for sid, row in open_rows.items()})
        ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
        for sid in sorted(set(ready) - set(open_rows)):
            plan.reasons.append(f"迁移后会出现新的待办“{_label(ready[sid])}” / after the move a new task "
                                f"{_label(ready[sid])} would wait, which the case never reached")
        for sid in sorted(set(open_rows) - set(ready)):
            plan.reasons.append(f"待办“{open_rows[sid].name} ({open_rows[sid].bpmn_id})”迁移后不再等待 / the open task "
                                f"{open_rows[sid].name} ({open_rows[sid].bpmn_id}) would no longer wait after the move")
        if plan.reasons:
            return plan
        plan.projection = _project(workflow, target)
        plan.state = dumps(workflow)
        loads(plan.state, target.spec, target.subprocess_specs)  # the new state must load again
    except Exception as exc:  # noqa: BLE001 - whatever the new version fails on keeps the case where it is
        plan.state = None
        plan.reasons.append(f"在新版本上试运行失败：{exc} / the trial move onto the new version failed: "
                            f"{type(exc).__name__}: {exc}")
        return plan
    finally:
        sandbox.end_step(budget)
    plan.next_timer = next_timer(workflow)
    plan.workflow = workflow
    return plan
