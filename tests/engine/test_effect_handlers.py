"""The engine sits at the bottom of the house: features register what ``remind`` / ``supervise``
do, and no module of app/engine imports a feature's operations, views, API or CLI (issue 11)."""
from __future__ import annotations

import ast
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.cases.models import Case
from app.core.audit import AuditEvent
from app.core.db import session, transaction
from app.engine import effects, host
from app.engine.definitions import deploy
from app.engine.models import Incident
from app.tasks.models import Task
from tests.engine.bpmn_factory import bundle, linear

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
ENGINE = APP / "engine"
#: modules of a feature package that are above the engine (it calls into them, never the reverse)
UPPER_MODULES = {"operations", "views", "api", "cli", "web", "routes"}
#: packages under app/ that are not features: the engine's own plumbing
NOT_FEATURES = {"core", "engine"}


def _feature_packages() -> set[str]:
    return {p.parent.name for p in APP.glob("*/__init__.py")} - NOT_FEATURES


def _imports(path: Path, package: str = "app.engine") -> list[tuple[int, str]]:
    """Every module a file of ``package`` imports, at module level or inside a function, as dotted
    names (``from app.x import y`` yields both ``app.x`` and ``app.x.y``: y may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x / from ..tasks import operations
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def _upward(name: str, features: set[str]) -> bool:
    parts = name.split(".")
    if len(parts) < 2 or parts[0] != "app":
        return False
    if parts[1] in ("api", "web", "cli", "scheduler"):  # the API, the web pages, the CLI, the scheduler
        return True
    return parts[1] in features and len(parts) > 2 and parts[2] in UPPER_MODULES


def test_the_feature_list_is_read_from_the_app_folder() -> None:
    features = _feature_packages()
    assert {"supervision", "tasks", "duplicates", "cases", "orgs"} <= features
    assert not features & NOT_FEATURES


def test_no_engine_module_imports_a_feature_s_operations_views_api_or_cli() -> None:
    features = _feature_packages()
    modules = sorted(ENGINE.rglob("*.py"))
    assert ENGINE / "host.py" in modules
    offending = [f"{path.relative_to(ROOT)}:{line} imports {name}"
                 for path in modules for line, name in _imports(path) if _upward(name, features)]
    assert offending == []


def test_the_ast_check_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    """The check itself: an import hidden in a function, or written relative, is still found."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from app.supervision.operations import process_reminder\n"
                      "from ..tasks import operations\nimport app.duplicates.operations\nfrom app.cases.models import Case\n",
                      encoding="utf-8")
    features = _feature_packages()
    assert sorted(name for _, name in _imports(sample) if _upward(name, features)) == [
        "app.duplicates.operations", "app.supervision.operations", "app.supervision.operations.process_reminder",
        "app.tasks.operations"]


def test_importing_the_engine_host_loads_no_feature_operations() -> None:
    """In a fresh interpreter: the engine door stands without the features above it."""
    code = ("import sys, app.engine.host, app.engine.timers, app.engine.consistency\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('app.'))))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    loaded = set(out.split())
    assert "app.engine.host" in loaded
    for module in ("app.supervision.operations", "app.tasks.operations", "app.duplicates.operations"):
        assert module not in loaded
    assert not {m for m in loaded if m.split(".")[-1] in UPPER_MODULES}


# ---------------------------------------------------------------------------- the registry

VALUES = {"channel": "api", "title": "测试", "description": "d", "address": "a", "urgency": "normal"}
REMIND = "remind('t2', '请尽快处理')"


def _open(case_id: int) -> list[Task]:
    return list(session.scalars(select(Task).where(Task.case_id == case_id, Task.state == "open").order_by(Task.id)))


def _deploy_and_start(pid: str) -> int:
    """start → t1 → script ``remind('t2', …)`` → t2 → end: completing t1 asks for a reminder."""
    with transaction():
        deploy(bundle(pid, linear(pid, script=REMIND)), pid)
        return host.start_case(VALUES, pid, {"dispatch_unit": "city"}).case.id


def test_the_app_registers_the_supervision_handlers(app: Flask) -> None:
    from app.supervision.operations import process_reminder, process_supervision
    assert effects.handler_for("remind") is process_reminder
    assert effects.handler_for("supervise") is process_supervision


def test_a_registered_handler_carries_out_the_effect(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, list[str], str, datetime]] = []

    def handler(case: Case, rows: list[Any], message: str, now: datetime) -> None:
        calls.append((case.id, [r.bpmn_id for r in rows], message, now))

    monkeypatch.delitem(effects._handlers, "remind")
    effects.register_handler("remind", handler)
    effects.register_handler("remind", handler)  # the same again (a second create_app): harmless
    with app.app_context():
        case_id = _deploy_and_start("fx_registered")
        with transaction():
            host.complete_task(session.get(Case, case_id), _open(case_id)[0], {"note": "ok"}, None)
        [(called_case, rows, message, now)] = calls
        assert (called_case, rows, message) == (case_id, ["t2"], "请尽快处理")  # the new task's row
        assert now.tzinfo is not None
        assert not session.get(Case, case_id).has_incident


def test_an_effect_without_a_handler_becomes_an_incident(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(effects._handlers, "remind")
    with app.app_context():
        case_id = _deploy_and_start("fx_unhandled")
        with transaction():
            with pytest.raises(host.EngineIncidentError):
                host.complete_task(session.get(Case, case_id), _open(case_id)[0], {"note": "ok"}, None)
    with app.app_context():
        incident = session.scalar(select(Incident).where(Incident.case_id == case_id))
        assert incident is not None and incident.element == "s1"
        assert "no handler is registered for the effect remind()" in incident.error
        assert session.get(Case, case_id).has_incident
        assert [t.bpmn_id for t in _open(case_id)] == ["t1"]  # the last good state: nothing dropped
        assert session.scalar(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                       AuditEvent.action == "task_reminded")) is None
    # once a feature handles it, the administrator's retry carries the reminder out
    from app.supervision.operations import process_reminder
    effects.register_handler("remind", process_reminder)  # (monkeypatch puts the registry back afterwards)
    with app.app_context(), transaction():
        host.retry_incident(session.get(Incident, incident.id), None)
    with app.app_context():
        assert [t.bpmn_id for t in _open(case_id)] == ["t2"]
        assert session.scalar(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                       AuditEvent.action == "task_reminded")) is not None


def test_a_handler_is_refused_for_an_unknown_kind_or_a_taken_one(app: Flask) -> None:
    with pytest.raises(ValueError, match="unknown effect 'notify'"):
        effects.register_handler("notify", lambda *a: None)
    with pytest.raises(ValueError, match="handled already by app.supervision.operations.process_reminder"):
        effects.register_handler("remind", lambda *a: None)
    with pytest.raises(effects.UnhandledEffect):
        effects.handler_for("nothing")


def test_applying_refuses_an_effect_without_a_handler_before_running_any(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence (a handler dropped between collecting and applying): loud, and
    no effect of the step has run."""
    ran: list[str] = []
    monkeypatch.setitem(effects._handlers, "remind", lambda *a: ran.append("remind"))
    monkeypatch.delitem(effects._handlers, "supervise")
    todo = [effects.Effect("remind", "t2", "m"), effects.Effect("supervise", "t2", "m")]
    with app.app_context():
        with pytest.raises(effects.UnhandledEffect, match="supervise"):
            host._apply_effects(Case(id=0), todo, datetime.now().astimezone())
    assert ran == []


# ---------------------------------------------------------------------------- no circle through the engine

def _app_import_graph() -> dict[str, set[str]]:
    """Module → the app modules it imports (module level and inside functions), from the source."""
    modules = {}
    for path in APP.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        imported = set()
        for _, target in _imports(path, package):
            while target and target not in modules:  # ``from app.x import some_function`` → app.x
                target = target.rpartition(".")[0]
            if target and target != name:
                imported.add(target)
        graph[name] = imported
    return graph


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_no_import_circle_runs_through_the_engine() -> None:
    """Nothing the engine imports from outside app/engine (models, the org directory, the
    calendar, form checks) leads back to the engine module that imports it: the circle engine →
    supervision → tasks → duplicates → engine is gone and cannot come back another way. (Models
    may use the engine's models: app.engine.models imports no feature.)"""
    graph = _app_import_graph()
    circles = [f"{module} → {target} → … → {module}"
               for module in sorted(graph) if module.startswith("app.engine")
               for target in sorted(graph[module]) if not target.startswith("app.engine")
               and module in _reachable(graph, target)]
    assert circles == []
    assert "app.supervision.operations" not in set().union(*(_reachable(graph, m) for m in graph
                                                             if m.startswith("app.engine")))


def test_the_engine_modules_import_each_other_in_one_direction() -> None:
    graph = _app_import_graph()
    engine = {m: {t for t in targets if t.startswith("app.engine.")} for m, targets in graph.items()
              if m.startswith("app.engine.")}
    assert "app.engine.stepping" in engine["app.engine.host"]
    assert [m for m in sorted(engine) if m in _reachable(engine, m)] == []
