"""Test runs (试运行): a throw-away case on a draft bundle, stepped through by its designer.

A test run runs the draft exactly as a live case would run it: the bundle is parsed and checked
by :func:`app.engine.definitions.parse_bundle`, the workflow is a
:class:`~app.engine.serializer.CaseWorkflow` (the restricted script engine, the same org helpers
and ``deadline()``), every action goes through :func:`app.engine.stepping._run` (the same time
budget, timer arming and state-size cap), and each completion is checked by the task's own form
with :func:`app.forms.schema.validate`, as the inbox does. What works in a test run works live.

What a test run never does is *write* like a case. Its state is kept in ``designer_test_runs``
(one row per run, serialized between requests) and nowhere else: no case, workflow, task,
incident or audit row is written for it, so nothing reaches an inbox, a KPI, the case list, the
timer sweep (which reads ``workflow_instances``) or a case's history. ``remind()`` and
``supervise()`` asked for by the draft's scripts are collected by the engine as always but only
listed in the run (``effects``), never handed to the notification handlers. Timers are armed in
the run's own state and shown with their moments; no scheduler fires them. Photo fields of a
form stand for uploads to a case, which a test run has not: they are left empty (``[]``) and
their counts are not asked for; every other field is validated as in the inbox.

Runs belong to the designer who started them and expire after :data:`TTL`; expired rows are
deleted whenever a run starts (:func:`clean_up`, also ``flask designer clean-test-runs``).
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm.exc import StaleDataError
from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.util.task import TaskState

from app.cases.models import CHANNELS, URGENCIES
from app.cases.operations import process_seed
from app.core.auth import Principal
from app.core.db import session, utcnow
from app.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.designer.checks import bundle_with, check_bundle
from app.designer.testrun_models import TestRun
from app.engine import sandbox
from app.engine.definitions import (BundleError, LoadedDefinition, bundle_hash, latest_definition_id, parse_bundle,
                                    parse_xml_safely)
from app.engine.errors import NoWayForward
from app.engine.models import ProcessDefinition
from app.engine.projection import _current_data, _project
from app.engine.serializer import CaseWorkflow, loads
from app.engine.stepping import _run
from app.engine.waits import _as_moment, stalled
from app.forms import schema as forms
from app.orgs.directory import directory

TTL = timedelta(hours=24)
MAX_RUNS_PER_OWNER = 20  # a designer's older runs are deleted beyond this
MAX_STEPS = 200  # completions in one run (the state grows with each)
MAX_START_DATA = 64 * 1024  # bytes of the start data as JSON
MAX_START_KEYS = 100


def may_design(principal: Principal) -> None:
    """Test runs and diffs are for process designers and administrators."""
    if not principal.has_role("designer", "admin"):
        raise Forbidden("只有流程设计员和管理员可以试运行流程 / only process designers and administrators may test-run processes")


# ---------------------------------------------------------------------------- the draft's definition

_parsed: OrderedDict[str, tuple[LoadedDefinition, Diagrams]] = OrderedDict()
_parsed_lock = threading.Lock()
PARSED_KEPT = 16  # drafts kept parsed in memory (a designer steps through one draft at a time)


def deployed_definition(process_id: str) -> ProcessDefinition:
    """The version new cases start on: the base a draft's files are laid over."""
    definition_id = latest_definition_id(process_id)
    row = session.get(ProcessDefinition, definition_id) if definition_id is not None else None
    if row is None:
        raise Conflict(f"流程 {process_id} 尚未部署 / no version of process {process_id!r} is deployed")
    return row


def draft_bundle(base: ProcessDefinition, files: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The deployed bundle with the draft's files in their places (422 for a name outside it)."""
    try:
        return bundle_with(json.loads(base.bundle), files)
    except ValueError as exc:
        raise ValidationFailed("文件不属于流程包 / a file is not part of the bundle", errors={
            f"files.{exc}": ["文件名应为 processes/*.bpmn、rules/*.dmn 或 forms/*.json / name a file "
                             "processes/<name>.bpmn, rules/<name>.dmn or forms/<name>.json"]}) from None


def draft_definition(base: ProcessDefinition, files: Mapping[str, str]) -> tuple[LoadedDefinition, Diagrams]:
    """The draft parsed and checked as a deploy would (cached by content), with the file of each
    process id. A draft that would not deploy cannot be test-run: 422 with the problems of
    :func:`app.designer.checks.check_bundle` (file, element, message)."""
    bundle = draft_bundle(base, files)
    key = f"{base.process_id}\0{bundle_hash(bundle)}"
    with _parsed_lock:
        hit = _parsed.get(key)
        if hit is not None:
            _parsed.move_to_end(key)
            return hit
    try:
        spec, subs, parsed_forms, tasks = parse_bundle(bundle, base.process_id)
    except BundleError:
        problems = check_bundle(bundle, base.process_id).problems
        raise ValidationFailed("草稿有错误，不能试运行 / the draft has problems and cannot be test-run", errors={
            "files": [f"{p.file or p.element or ''}: {p.message}".lstrip(": ") for p in problems]
            or ["草稿不能部署 / the draft would not deploy"]},
            problems=[asdict(p) for p in problems]) from None
    definition = LoadedDefinition(id=base.id, process_id=base.process_id, version=base.version, spec=spec,
                                  subprocess_specs=subs, forms=parsed_forms, tasks=tasks)
    located = _diagrams(bundle)
    with _parsed_lock:
        _parsed[key] = (definition, located)
        while len(_parsed) > PARSED_KEPT:
            _parsed.popitem(last=False)
    return definition, located


@dataclass(frozen=True)
class Diagrams:
    """Where the draft's elements are drawn: the process (one diagram) and file of each process or
    embedded sub-process id, and the sequence flow between two elements of a file."""

    places: dict[str, tuple[str, str]]
    flows: dict[tuple[str, str, str], str]

    def where(self, spec_name: str) -> tuple[str, str | None]:
        """``handling`` → ``("tier_handling", "processes/tier_handling.bpmn")``."""
        process, file = self.places.get(spec_name, (spec_name, None))
        return process, file

    def flow(self, file: str | None, source: str, target: str) -> str | None:
        return self.flows.get((file or "", source, target))


def _diagrams(bundle: Mapping[str, Mapping[str, str]]) -> Diagrams:
    places: dict[str, tuple[str, str]] = {}
    flows: dict[tuple[str, str, str], str] = {}
    for name, text in bundle.get("processes", {}).items():
        file = f"processes/{name}"
        root = parse_xml_safely(text, file)
        for process in root.iter("{*}process"):
            pid = process.get("id")
            if not pid:
                continue
            places[pid] = (pid, file)
            for sub in process.iter("{*}subProcess", "{*}transaction", "{*}adHocSubProcess"):
                if sub.get("id"):
                    places[sub.get("id")] = (pid, file)
            for flow in process.iter("{*}sequenceFlow"):
                if flow.get("id") and flow.get("sourceRef") and flow.get("targetRef"):
                    flows.setdefault((file, flow.get("sourceRef"), flow.get("targetRef")), flow.get("id"))
    return Diagrams(places, flows)


# ---------------------------------------------------------------------------- start data

def start_seed(data: Mapping[str, Any]) -> dict[str, Any]:
    """The variables a test case starts with, as :func:`app.cases.operations.process_seed` makes
    them for a real case (channel, category, urgency, grid unit → the variables the diagrams
    read), plus any other variable the designer sets. Field errors are a 422."""
    errors: dict[str, list[str]] = {}
    if len(data) > MAX_START_KEYS:
        errors["data"] = [f"最多 {MAX_START_KEYS} 个变量 / at most {MAX_START_KEYS} variables"]
    elif len(json.dumps(data, ensure_ascii=False, default=str).encode()) > MAX_START_DATA:
        errors["data"] = [f"启动数据不能超过 {MAX_START_DATA // 1024} KB / start data larger than {MAX_START_DATA // 1024} KB"]
    for key in data:
        if not (isinstance(key, str) and key.isidentifier() and key.isascii() and not key.startswith("_")
                and len(key) <= 64):
            errors[f"data.{key}"] = ["变量名应为字母、数字和下划线，且不以下划线开头 / a variable name is letters, digits "
                                     "and underscores, not starting with an underscore"]
    channel = data.get("channel", "hotline")
    if channel not in CHANNELS:
        errors["data.channel"] = [f"渠道应为 {', '.join(CHANNELS)} 之一 / channel must be one of {', '.join(CHANNELS)}"]
    urgency = data.get("urgency", "normal")
    if urgency not in URGENCIES:
        errors["data.urgency"] = [f"紧急程度应为 {', '.join(URGENCIES)} 之一 / urgency must be one of {', '.join(URGENCIES)}"]
    category = data.get("category_code")
    if category is not None and not (isinstance(category, str) and category.partition(":")[0] in ("component", "event")
                                     and category.partition(":")[2].isdigit()):
        errors["data.category_code"] = ["分类编码形如 component:01002 或 event:06010 / a category is written "
                                        "component:01002 or event:06010"]
    grid = data.get("grid_unit")
    if grid is not None and (not isinstance(grid, str) or grid not in directory().by_code):
        errors["data.grid_unit"] = ["没有这个单位 / no such org unit"]
    if errors:
        raise ValidationFailed("启动数据有误 / the start data has errors", errors=errors)
    seed = process_seed({"channel": channel, "category_code": category, "urgency": urgency}, grid,
                        current_app.config["SETTINGS"].DISPATCH_UNIT)
    seed.update({k: v for k, v in data.items() if k not in ("channel", "category_code", "urgency", "grid_unit")})
    return seed


# ---------------------------------------------------------------------------- operations

def clean_up(now: datetime | None = None) -> int:
    """Delete the expired test runs (of every designer); how many."""
    result = session.execute(delete(TestRun).where(TestRun.expires_at <= (now or utcnow()))
                             .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def _keep_room(owner_id: int) -> None:
    """A designer keeps at most MAX_RUNS_PER_OWNER runs: the oldest go first."""
    ids = session.scalars(select(TestRun.id).where(TestRun.owner_id == owner_id)
                          .order_by(TestRun.id.desc()).offset(MAX_RUNS_PER_OWNER - 1)).all()
    if ids:
        session.execute(delete(TestRun).where(TestRun.id.in_(ids)).execution_options(synchronize_session=False))


def start_test_run(principal: Principal, files: Mapping[str, str], data: Mapping[str, Any]) -> TestRun:
    """Start a throw-away case on the draft (the deployed bundle with ``files`` replaced) and run
    it to its first wait. A failure inside the draft's process is kept as the run's ``error``
    (with the element it happened at) rather than raised: seeing it is what a test run is for."""
    may_design(principal)
    process_id = current_app.config["SETTINGS"].CASE_PROCESS_ID
    base = deployed_definition(process_id)
    definition, _located = draft_definition(base, files)
    seed = start_seed(data)
    now = utcnow()
    clean_up(now)
    _keep_room(principal.id)
    run = TestRun(owner_id=principal.id, process_id=process_id, base_definition_id=base.id,
                  files=json.dumps(dict(files), ensure_ascii=False), start_data=json.dumps(seed, ensure_ascii=False, default=str),
                  state=None, steps="[]", effects="[]", error=None, created_at=now, updated_at=now, expires_at=now + TTL)
    workflow = CaseWorkflow(definition.spec, definition.subprocess_specs)
    workflow.task_tree.data.update(seed)
    try:
        step = _run(workflow, definition, workflow.do_engine_steps, {}, now, paused=False)
    except Exception as exc:  # noqa: BLE001 - any failure of the draft is the run's finding
        run.error = json.dumps(_failure(exc, workflow), ensure_ascii=False)
    else:
        run.state = step.state
        run.effects = json.dumps([asdict(e) for e in step.effects], ensure_ascii=False)
        if not _moves_on(workflow, step):
            run.error = json.dumps(_failure(NoWayForward(stalled(workflow)), workflow), ensure_ascii=False)
    session.add(run)
    session.flush()
    return run


def get_test_run(principal: Principal, run_id: int) -> TestRun:
    """A live run of the caller's (404 for another's, or an expired one: nothing is disclosed)."""
    may_design(principal)
    run = session.get(TestRun, run_id)
    if run is None or run.owner_id != principal.id or run.expires_at <= utcnow():
        raise NotFound(f"没有试运行 {run_id} / no test run {run_id}")
    return run


def delete_test_run(principal: Principal, run_id: int) -> None:
    session.delete(get_test_run(principal, run_id))
    session.flush()


def _load(run: TestRun) -> tuple[LoadedDefinition, Diagrams, CaseWorkflow]:
    base = session.get(ProcessDefinition, run.base_definition_id)
    assert base is not None
    definition, located = draft_definition(base, json.loads(run.files))
    if run.state is None:
        raise Conflict("试运行在启动时出错，无法继续；请修改草稿后重新试运行 / the test run failed at its start; "
                       "change the draft and start another")
    return definition, located, loads(run.state, definition.spec, definition.subprocess_specs)


def _waiting_task(workflow: CaseWorkflow, task_id: str) -> Any:
    try:
        task = workflow.get_task_from_id(UUID(task_id)) if len(task_id) <= 36 else None
    except Exception:  # noqa: BLE001 - a malformed id or the library's TaskNotFound
        task = None
    if task is None or task.state != TaskState.READY or not getattr(task.task_spec, "manual", False):
        raise Conflict(f"任务 {task_id} 不在待办状态 / task {task_id} is not waiting in this test run")
    return task


def test_form(definition: LoadedDefinition, spiff_task: Any, unit_code: str, locale: str) -> dict[str, Any]:
    """The task's form as the inbox shows it (unit lists resolved for the task's unit)."""
    meta = definition.tasks[spiff_task.task_spec.bpmn_id]
    unit = directory().by_code[unit_code]
    return forms.resolve(definition.forms[meta.form], locale, scope=unit.path)


def _without_photos(schema: Mapping[str, Any]) -> dict[str, Any]:
    photos = forms.photo_fields(schema)
    if not photos:
        return dict(schema)
    out = dict(schema)
    out["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k not in photos}
    out["required"] = [k for k in schema.get("required", []) if k not in photos]
    return out


def _check_room(run: TestRun) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = json.loads(run.steps)
    if len(steps) >= MAX_STEPS:
        raise Conflict(f"一次试运行最多 {MAX_STEPS} 步 / a test run takes at most {MAX_STEPS} steps")
    return steps


def complete_test_task(principal: Principal, run: TestRun, task_id: str, data: Mapping[str, Any],
                       locale: str = "zh") -> TestRun:
    """Complete a waiting task of the run with form data, checked by the task's form as the inbox
    checks it (422 with field errors; the run is unchanged), and run the draft to its next wait.
    A failure of the process keeps the run at its last good state, with ``error`` set."""
    _check_room(run)
    definition, _located, workflow = _load(run)
    spiff_task = _waiting_task(workflow, task_id)
    projected = {p.spiff_id: p for p in _project(workflow, definition)}
    task_id = str(spiff_task.id)  # as projected (an id may be sent in capitals)
    schema = test_form(definition, spiff_task, projected[task_id].unit_code, locale)
    checked = _without_photos(schema)
    errors = forms.validate(checked, data, locale)
    unknown_photos = [k for k in data if k in forms.photo_fields(schema)]
    for name in unknown_photos:
        errors.setdefault(name, []).append("试运行中不能上传照片，此项留空 / a test run takes no photos; leave it out")
    if errors:
        raise ValidationFailed("表单有误 / the form has errors", errors=errors)
    values = forms.complete_data(schema, data)
    for name in forms.photo_fields(schema):
        values[name] = []

    def act() -> None:
        spiff_task.data.update(values)
        spiff_task.run()
        workflow.do_engine_steps()

    meta = definition.tasks[spiff_task.task_spec.bpmn_id]
    return _advance(run, definition, workflow, act, set(projected), utcnow(), {
        "action": "complete", "task": task_id, "element": meta.bpmn_id, "name": meta.name, "data": values})


SIGNALS = ("escalate", "return")


def signal_test_task(principal: Principal, run: TestRun, task_id: str, name: str, reason: str) -> TestRun:
    """上报/吹哨 (``escalate``) or 退单 (``return``) at a waiting task, as the task page sends them:
    the diagram decides what they do (a boundary signal event on the task or around it); a task
    that catches no such signal is a 409, as live."""
    from SpiffWorkflow.bpmn import BpmnEvent
    from SpiffWorkflow.spiff.specs.event_definitions import SignalEventDefinition

    from app.engine.waits import _catches_signal
    _check_room(run)
    definition, _located, workflow = _load(run)
    spiff_task = _waiting_task(workflow, task_id)
    if not _catches_signal(workflow, spiff_task, name):
        raise Conflict(f"流程在此环节不接受“{name}” / the process does not accept '{name}' at task "
                       f"{spiff_task.task_spec.bpmn_id}")
    payload = {"reason": reason, "by": principal.username, "from_tier": _current_data(workflow).get("tier")}
    existing = {p.spiff_id for p in _project(workflow, definition)}

    def act() -> None:
        workflow.send_event(BpmnEvent(SignalEventDefinition(name), payload=payload))
        workflow.do_engine_steps()

    return _advance(run, definition, workflow, act, existing, utcnow(), {
        "action": "signal", "signal": name, "task": str(spiff_task.id), "element": spiff_task.task_spec.bpmn_id,
        "name": spiff_task.task_spec.bpmn_name, "data": payload})


def fire_test_timers(principal: Principal, run: TestRun, at: datetime) -> TestRun:
    """Let the run's clock jump to ``at`` and fire every timer due by then (临近时限, 超过时限 …), as
    the timer sweep does for a case, but for this run alone. Nothing due: 409."""
    from app.core import clock
    from app.engine.waits import _due_timer_names
    _check_room(run)
    definition, _located, workflow = _load(run)
    due = _due_timer_names(workflow, at)
    if not due:
        raise Conflict("到该时刻没有到期的定时器 / no timer of the run is due by then")
    existing = {p.spiff_id for p in _project(workflow, definition)}

    def act() -> None:
        workflow.refresh_timers()
        workflow.do_engine_steps()

    stamp = utcnow()
    with clock.frozen(at):
        return _advance(run, definition, workflow, act, existing, at, {
            "action": "timers", "timers": due, "element": None, "name": None, "data": {}}, stamp)


def _advance(run: TestRun, definition: LoadedDefinition, workflow: CaseWorkflow, act: Any, existing: set[str],
             now: datetime, entry: dict[str, Any], stamp: datetime | None = None) -> TestRun:
    """Run ``act`` as the live host does (same budget, timers, state cap; effects collected, not
    carried out), then store the new state with the step, or the failure with the old state."""
    steps = json.loads(run.steps)
    try:
        step = _run(workflow, definition, act, dict.fromkeys(existing), now, paused=False)
    except Exception as exc:  # noqa: BLE001 - the draft failed on this step: shown, the run stays where it was
        run.error = json.dumps({**_failure(exc, workflow), "step": entry}, ensure_ascii=False, default=str)
    else:
        run.state = step.state
        steps.append({**entry, "at": now.isoformat()})
        run.steps = json.dumps(steps, ensure_ascii=False, default=str)
        run.effects = json.dumps(json.loads(run.effects) + [asdict(e) for e in step.effects], ensure_ascii=False)
        run.error = None
        if not _moves_on(workflow, step):
            run.error = json.dumps(_failure(NoWayForward(stalled(workflow)), workflow), ensure_ascii=False)
    run.updated_at = stamp or now
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("试运行已在别处更新，请刷新 / the test run changed meanwhile; reload it") from None
    return run


def _moves_on(workflow: CaseWorkflow, step: Any) -> bool:
    return workflow.is_completed() or bool(step.projection) or step.next_timer is not None


def _failure(exc: Exception, workflow: CaseWorkflow) -> dict[str, Any]:
    """What failed and where, as the incident of a real case would say it, plus the path the
    failed attempt took up to there (so the diagram shows how it got to the element)."""
    element = None
    task = getattr(exc, "task", None)
    if task is not None:
        element = getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
    elif isinstance(exc, NoWayForward) and exc.stalled:
        element = exc.stalled[-1]
    message = str(exc) if isinstance(exc, NoWayForward) else f"{type(exc).__name__}: {exc}"
    limit = sandbox.limit_exceeded(exc)
    if limit is not None:
        element = element or limit.element
        message = str(limit)
    stuck = isinstance(exc, NoWayForward)
    try:
        attempted = [p["element"] for p in _path(workflow)]
    except Exception:  # noqa: BLE001 - a workflow left broken by the failure: no path to show
        attempted = []
    return {"kind": "stuck" if stuck else "failed", "message": message[:2000], "element": element, "path": attempted}


# ---------------------------------------------------------------------------- what a page draws

def _named(task: Any) -> Any:
    """The nearest task at or above ``task`` that is a BPMN element (not an internal spec)."""
    while task is not None and (not getattr(task.task_spec, "bpmn_id", None)
                                or isinstance(task.task_spec, BoundaryEventSplit)):
        task = task.parent
    return task


def _path(workflow: CaseWorkflow, located: Diagrams | None = None) -> list[dict[str, Any]]:
    """The BPMN elements completed so far, in the order they completed (loops repeat them), each
    with the sequence flow that led to it (``flow``; None at a start or where no flow is drawn)."""
    done = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if _named(t) is t]
    done.sort(key=lambda t: t.last_state_change)
    out = []
    for t in done:
        process, file = located.where(t.workflow.spec.name) if located else (t.workflow.spec.name, None)
        before = _named(t.parent)
        flow = located.flow(file, before.task_spec.bpmn_id, t.task_spec.bpmn_id) if located and before else None
        out.append({"element": t.task_spec.bpmn_id, "name": t.task_spec.bpmn_name, "type": type(t.task_spec).__name__,
                    "process": process, "file": file, "flow": flow})
    return out


def _flow_to(task: Any, located: Diagrams) -> str | None:
    before = _named(task.parent)
    if before is None:
        return None
    _process, file = located.where(task.workflow.spec.name)
    return located.flow(file, before.task_spec.bpmn_id, task.task_spec.bpmn_id)


def _timers(workflow: CaseWorkflow, located: Diagrams) -> list[dict[str, Any]]:
    out = []
    for t in workflow.get_tasks(state=TaskState.WAITING):
        event = getattr(t.task_spec, "event_definition", None)
        if event is None or type(event).__name__ not in ("TimerEventDefinition", "CycleTimerEventDefinition",
                                                         "DurationTimerEventDefinition", "TimeDateEventDefinition"):
            continue
        moment = _as_moment(t.internal_data.get("event_value"))
        process, file = located.where(t.workflow.spec.name)
        out.append({"element": t.task_spec.bpmn_id, "name": t.task_spec.bpmn_name, "process": process, "file": file,
                    "at": moment.isoformat() if moment else None})
    return out


def run_dict(run: TestRun, locale: str = "zh") -> dict[str, Any]:
    """The run as the API answers it: status, the path, the waiting tasks with their forms (JSON
    Schema), the timers armed, the effects asked for, the current data, the last error, and the
    element ids to colour (``elements``)."""
    error = json.loads(run.error) if run.error else None
    answer: dict[str, Any] = {
        "id": run.id, "process_id": run.process_id, "base_definition_id": run.base_definition_id,
        "files": sorted(json.loads(run.files)), "start_data": json.loads(run.start_data),
        "created_at": run.created_at.isoformat(), "updated_at": run.updated_at.isoformat(),
        "expires_at": run.expires_at.isoformat(), "steps": json.loads(run.steps), "effects": json.loads(run.effects),
        "error": error, "path": [], "waiting": [], "timers": [], "data": {}}
    if run.state is None:
        answer["status"] = "failed"
        answer["elements"] = {"completed": sorted(set((error or {}).get("path", []))), "waiting": [], "flows": [],
                              "error": (error or {}).get("element")}
        return answer
    definition, located, workflow = _load(run)
    answer["path"] = _path(workflow, located)
    waiting = []
    for p in _project(workflow, definition):
        spiff_task = workflow.get_task_from_id(UUID(p.spiff_id))
        unit = directory().by_code[p.unit_code]
        schema = test_form(definition, spiff_task, p.unit_code, locale)
        process, file = located.where(spiff_task.workflow.spec.name)
        waiting.append({"id": p.spiff_id, "element": p.meta.bpmn_id, "name": p.meta.name, "process": process,
                        "file": file, "role": p.meta.role, "lane": p.meta.lane, "stage": p.meta.stage,
                        "unit": {"code": unit.code, "name": unit.name}, "limit": p.time_limit,
                        "sign_limit": p.sign_limit, "form_file": p.meta.form, "form": schema,
                        "photo_fields": sorted(forms.photo_fields(schema)),
                        "values": forms.initial_values(schema, spiff_task.data), "documentation": p.meta.documentation,
                        "flow": _flow_to(spiff_task, located)})
    answer["waiting"] = waiting
    answer["timers"] = _timers(workflow, located)
    answer["data"] = json.loads(json.dumps(_current_data(workflow), ensure_ascii=False, default=str))
    answer["status"] = "completed" if workflow.is_completed() else (
        "stuck" if error and error.get("kind") == "stuck" else "waiting")
    answer["elements"] = {"completed": sorted({p["element"] for p in answer["path"]}),
                          "waiting": sorted({w["element"] for w in waiting}),
                          "flows": sorted({x["flow"] for x in [*answer["path"], *waiting] if x["flow"]}),
                          "error": (error or {}).get("element")}
    return answer

