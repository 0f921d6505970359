"""Workflow state to TEXT and back, with the process definition stored by reference.

The stock serializer embeds the whole process definition in every case (~4x the size, ~3x the
load time) and restores the default, unrestricted script engine. Here the definition comes from
the in-memory cache of the case's version, and every workflow is built with the sandboxed engine.
"""
from __future__ import annotations

from contextvars import ContextVar
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

from app.engine.sandbox import LIMITS, RestrictedEnvironment, RestrictedScriptEngine, SandboxLimitExceeded

_specs: ContextVar[tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]] = ContextVar("tongguan_specs")
_engine: RestrictedScriptEngine | None = None


def script_engine() -> RestrictedScriptEngine:
    """The one sandboxed script engine, with the helpers offered to designers: read-only org
    look-ups and the deadline/reminder/supervision requests of :mod:`app.engine.effects`."""
    global _engine
    if _engine is None:
        from app.engine.effects import SCRIPT_HELPERS as EFFECT_HELPERS
        from app.orgs.directory import SCRIPT_HELPERS as ORG_HELPERS
        _engine = RestrictedScriptEngine(RestrictedEnvironment({**ORG_HELPERS, **EFFECT_HELPERS}))
    return _engine


class CaseWorkflow(BpmnWorkflow):
    """A BpmnWorkflow that always runs under the restricted script engine, also after loading."""

    def __init__(self, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec] | None = None,
                 script_engine: Any = None, **kwargs: Any) -> None:
        super().__init__(spec, subprocess_specs, script_engine=script_engine or globals()["script_engine"](), **kwargs)


class CaseWorkflowConverter(BpmnWorkflowConverter):
    """Leaves the specs out of the state; takes them from the cached definition when loading."""

    def to_dict(self, workflow: CaseWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> CaseWorkflow:
        spec, subprocess_specs = _specs.get()
        dct.pop("spec", None)
        dct.pop("subprocess_specs", None)
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[CaseWorkflow] = CaseWorkflowConverter
_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_config))


def dumps(workflow: CaseWorkflow) -> str:
    """Serialize to JSON text; key order is kept exactly as produced (task data depends on it)."""
    dct = _serializer.to_dict(workflow)
    dct[_serializer.VERSION_KEY] = _serializer.VERSION
    return orjson.dumps(dct).decode("utf-8")


def loads(state: str, spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> CaseWorkflow:
    dct = orjson.loads(state)
    _serializer.migrate(dct)
    token = _specs.set((spec, subprocess_specs))
    try:
        return _serializer.from_dict(dct)
    finally:
        _specs.reset(token)


def check_state_size(state: str, workflow: CaseWorkflow) -> None:
    """Refuse a state over the cap (``MAX_STATE_BYTES``): it would be stored, loaded and copied on
    every later request of the case. The element named is the first task that carries the
    biggest data (where a script put it)."""
    limit = LIMITS.max_state_bytes
    if len(state) * 4 <= limit:  # UTF-8 takes at most 4 bytes a character
        return
    size = len(state.encode("utf-8"))
    if size <= limit:
        return
    element, biggest = None, -1
    for task in workflow.get_tasks():
        try:
            n = len(orjson.dumps(task.data, default=str))
        except orjson.JSONEncodeError:  # nested too deeply to serialize: that is the culprit
            n = limit + 1
        if n > biggest:
            biggest, element = n, getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name
    raise SandboxLimitExceeded(f"流程状态过大（{size // 1024} KB，上限 {limit // 1024} KB）",
                               f"the workflow state is too large ({size // 1024} KB, limit {limit // 1024} KB)",
                               element)
