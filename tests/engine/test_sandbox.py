"""Scripts and expressions from BPMN run restricted: no imports, no open(), no dunder escapes —
in script tasks and in gateway conditions, also after a workflow was saved and loaded again."""
from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from app.cases.models import Case
from app.core.db import session, transaction
from app.engine import host
from app.engine.definitions import BundleError, deploy, parse_bundle
from app.engine.models import Incident
from app.engine.sandbox import RestrictedEnvironment, RestrictedScriptEngine
from app.engine.serializer import CaseWorkflow, dumps, loads
from app.tasks.models import Task
from tests.engine.bpmn_factory import bundle, gateway, linear

ESCAPES = {
    "import": "import os",
    "open": "open('/etc/passwd').read()",
    "subclasses": "().__class__.__base__.__subclasses__()",
    "getattr": "getattr((), '__class__')",
    "dunder_import": "__import__('os').system('true')",
}


@pytest.mark.parametrize("source", ESCAPES.values(), ids=ESCAPES.keys())
def test_environment_refuses_escapes_in_scripts_and_expressions(source: str) -> None:
    env = RestrictedEnvironment()
    with pytest.raises(Exception) as script_exc:
        env.execute(f"x = 1\n{source}", {})
    assert not isinstance(script_exc.value, AssertionError)
    expr = source if not source.startswith("import") else "__import__('os')"
    with pytest.raises(Exception):
        env.evaluate(expr, {})


def test_environment_runs_ordinary_scripts() -> None:
    env = RestrictedEnvironment({"double": lambda v: 2 * v})
    data = {"a": 2, "items": [1, 2, 3]}
    env.execute("b = double(a) + sum(items)\nc = [i for i in items if i > 1]\na += 1", data)
    assert data == {"a": 3, "items": [1, 2, 3], "b": 10, "c": [2, 3]}
    assert env.evaluate("a > 2 and 'x' in 'xyz'", data) is True


def test_del_in_a_script_removes_the_name_from_the_data() -> None:
    env = RestrictedEnvironment()
    data = {"a": 1, "co_unit": "d1-jt", "keep": [1]}
    env.execute("del co_unit\nb = a + 1", data)
    assert data == {"a": 1, "keep": [1], "b": 2}
    env.execute("co_unit = None\ndel co_unit", data)  # the idiom that works whether or not it is there
    assert "co_unit" not in data
    with pytest.raises(NameError):
        env.execute("del missing", data)
    assert data == {"a": 1, "keep": [1], "b": 2}  # a failing script changes nothing


def _start(app: Flask, pid: str, xml: str) -> int:
    with app.app_context(), transaction():
        deploy(bundle(pid, xml), pid)
        values = {"channel": "api", "title": "沙箱", "description": "d", "address": "a", "urgency": "normal"}
        return host.start_case(values, pid, {"dispatch_unit": "city"}).case.id


def _complete_first(app: Flask, case_id: int, data: dict[str, object]) -> None:
    with app.app_context(), transaction():
        case = session.get(Case, case_id)
        task = session.scalar(select(Task).where(Task.case_id == case_id, Task.state == "open"))
        try:
            host.complete_task(case, task, data, None)
        except host.EngineIncidentError:
            pass


@pytest.mark.parametrize("name", ["open", "getattr"])
def test_script_task_escape_becomes_an_incident_and_keeps_state(app: Flask, name: str) -> None:
    case_id = _start(app, f"sandbox_script_{name}", linear(f"sandbox_script_{name}", script=f"leak = {ESCAPES[name]}"))
    _complete_first(app, case_id, {"note": "x"})
    with app.app_context():
        case = session.get(Case, case_id)
        incident = session.scalar(select(Incident).where(Incident.case_id == case_id))
        assert case.has_incident and incident is not None and incident.element == "s1"
        assert "leak" not in host.workflow_data(case)
        open_tasks = session.scalars(select(Task).where(Task.case_id == case_id, Task.state == "open")).all()
        assert [t.bpmn_id for t in open_tasks] == ["t1"]  # last good state kept


@pytest.mark.parametrize("name", ["open", "getattr"])
def test_gateway_condition_escape_is_refused(app: Flask, name: str) -> None:
    case_id = _start(app, f"sandbox_gw_{name}", gateway(f"sandbox_gw_{name}", f"bool({ESCAPES[name]})"))
    _complete_first(app, case_id, {"note": "x"})
    with app.app_context():
        incident = session.scalar(select(Incident).where(Incident.case_id == case_id))
        assert incident is not None and incident.element == "gw" and "NameError" in incident.error
        assert session.get(Case, case_id).status == "open"


@pytest.mark.parametrize("name", ["subclasses", "dunder_import"])
def test_dunder_escapes_are_refused_at_deploy(name: str) -> None:
    pid = f"sandbox_deploy_{name}"
    for xml in (linear(pid, script=f"leak = {ESCAPES[name]}"), gateway(pid, ESCAPES[name])):
        with pytest.raises(BundleError) as exc:
            parse_bundle(bundle(pid, xml), pid)
        assert "refused" in str(exc.value) and "starts with" in str(exc.value)


def test_import_in_script_fails_at_run_time(app: Flask) -> None:
    case_id = _start(app, "sandbox_import_run", linear("sandbox_import_run", script="import os\nleak = os.getcwd()"))
    _complete_first(app, case_id, {"note": "x"})
    with app.app_context():
        incident = session.scalar(select(Incident).where(Incident.case_id == case_id))
        assert incident is not None and "import" in incident.error.lower()


def test_restriction_survives_serialization(app: Flask) -> None:
    pid = "sandbox_roundtrip"
    spec, subs, _forms, _tasks = parse_bundle(bundle(pid, linear(pid, script="y = 1")), pid)
    with app.app_context():
        wf = CaseWorkflow(spec, subs)
        wf.task_tree.data.update({"dispatch_unit": "city"})
        wf.do_engine_steps()
        again = loads(dumps(wf), spec, subs)
        assert isinstance(again.script_engine, RestrictedScriptEngine)
        task = again.get_next_task(manual=True)
        with pytest.raises(Exception):
            again.script_engine.evaluate(task, "open('/etc/passwd')")
