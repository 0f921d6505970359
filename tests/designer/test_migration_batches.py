"""Migration in batches (app.designer.migration.move with app.engine.store.prefetch_instances): the
rows of a batch are read together, each case is then locked and moved in its own transaction. A
case that changed after its batch was read moves from its current state, not the batch's copy."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.cases.models import Case
from app.core.db import session, transaction
from app.designer import migration
from app.engine import host
from app.engine.models import ProcessDefinition
from app.engine.store import prefetch_instances
from tests.conftest import Api
from tests.designer.test_drafts_api import (LOOP, _data, _deploy, _events, _open_tasks, _version_of, renamed,  # noqa: F401
                                            restore_active, review)


def _definition(app: Flask, version: int) -> ProcessDefinition:
    return session.scalar(select(ProcessDefinition).where(
        ProcessDefinition.process_id == app.config["SETTINGS"].CASE_PROCESS_ID, ProcessDefinition.version == version))


def test_a_case_changed_after_its_batch_was_read_moves_from_its_current_state(
        app: Flask, api: Callable[[str], Api], restore_active: None, review: Callable[[bool], None],  # noqa: F811
        make_case: Callable[..., dict[str, Any]]) -> None:
    review(False)
    case = make_case()
    [task] = _open_tasks(app, case["id"])
    new = _deploy(api, {LOOP: renamed(app)})
    with app.app_context():
        stale = prefetch_instances([case["id"]])[case["id"]]
        session.rollback()
    grid = api("demo_grid_worker")
    assert grid.post(f"/api/v1/tasks/{task.id}/claim").status_code == 200
    r = grid.post(f"/api/v1/tasks/{task.id}/complete", json={"data": grid.with_photos(task.id, {
        "confirmed": True, "verify_notes": "批次读取之后办结"})})
    assert r.status_code == 200, r.get_json()
    with app.app_context(), transaction():
        plan = host.migrate_case(session.get(Case, case["id"]), _definition(app, new).id, None, prefetched=stale)
        assert plan.ok, plan.reasons
    assert _version_of(app, case["id"]) == new
    assert [t.bpmn_id for t in _open_tasks(app, case["id"])] == ["file_case"]  # the current state moved
    assert _data(app, case["id"])["verify_notes"] == "批次读取之后办结"


def test_a_batch_moves_each_case_with_its_tasks_and_one_event(
        app: Flask, api: Callable[[str], Api], restore_active: None, review: Callable[[bool], None],  # noqa: F811
        make_case: Callable[..., dict[str, Any]], monkeypatch: Any) -> None:
    review(False)
    monkeypatch.setattr(migration, "PREFETCH", 2)  # several prefetches within one batch
    cases = [make_case() for _ in range(5)]
    before = {c["id"]: [(t.id, t.spiff_id, t.due_at) for t in _open_tasks(app, c["id"])] for c in cases}
    new = _deploy(api, {LOOP: renamed(app)})
    with app.app_context():
        result = migration.move(_definition(app, new), [c["id"] for c in cases] + [10**9], None)
    assert result.migrated == [c["id"] for c in cases]
    assert [r["id"] for r in result.refused] == [10**9] and "不存在" in result.refused[0]["reasons"][0]
    events = _events(app, "case_migrated", to_version=new)
    for c in cases:
        assert _version_of(app, c["id"]) == new
        assert [(t.id, t.spiff_id, t.due_at) for t in _open_tasks(app, c["id"])] == before[c["id"]]
        assert [t.name for t in _open_tasks(app, c["id"])] == ["现场核实（复核）"]
        assert len([e for e in events if e.case_id == c["id"]]) == 1
