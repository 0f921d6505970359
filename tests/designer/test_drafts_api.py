"""Drafts, four-eyes review, deploy, rollback and the migration of running cases, through the API."""
from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy import select

from app.core.audit import AuditEvent
from app.core.db import session, transaction
from app.designer.models import ProcessDraft
from app.engine.definitions import activate, active_definition_id
from app.engine.models import ProcessDefinition, WorkflowInstance
from app.tasks.models import Task
from tests.conftest import Api

LOOP = "processes/seven_step_loop.bpmn"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _shipped(app: Flask) -> str:
    return (app.config["SETTINGS"].PROCESS_DIR / "seven_step_loop.bpmn").read_text(encoding="utf-8")


def renamed(app: Flask, name: str = "现场核实（复核）") -> str:
    """The loop with 现场核实 renamed: a change every running case can follow."""
    text = _shipped(app)
    assert 'id="verify_on_site" name="现场核实"' in text
    return text.replace('id="verify_on_site" name="现场核实"', f'id="verify_on_site" name="{name}"')


def without_verify(app: Flask) -> str:
    """The loop without 现场核实: the gateway goes straight to 核实立案."""
    root = etree.fromstring(_shipped(app).encode("utf-8"))
    gone = {"verify_on_site", "flow_verified_file"}
    for el in list(root.iter()):
        if el.get("id") in gone or el.get("bpmnElement") in gone or (el.tag == f"{BPMN}flowNodeRef" and el.text in gone) \
                or (el.tag in (f"{BPMN}incoming", f"{BPMN}outgoing") and el.text in gone):
            el.getparent().remove(el)
    flow = root.find(f".//{BPMN}sequenceFlow[@id='flow_need_verify']")
    flow.set("targetRef", "file_case")
    file_case = root.find(f".//{BPMN}userTask[@id='file_case']")
    incoming = etree.SubElement(file_case, f"{BPMN}incoming")
    incoming.text = "flow_need_verify"
    file_case.remove(incoming)
    file_case.insert(2, incoming)
    return etree.tostring(root, encoding="unicode")


@pytest.fixture()
def restore_active(app: Flask) -> Iterator[None]:
    """Tests here deploy versions of the case process: afterwards, the version active before is
    active again and the drafts are closed (other tests' cases start where they expect)."""
    pid = app.config["SETTINGS"].CASE_PROCESS_ID

    def close_drafts() -> None:  # left by another test (or the API fuzzer)
        for draft in session.scalars(select(ProcessDraft).where(ProcessDraft.state == "open")):
            draft.state = "discarded"
    with app.app_context(), transaction():
        before = active_definition_id(pid)
        close_drafts()
    yield
    with app.app_context(), transaction():
        activate(session.get(ProcessDefinition, before), "test")
        close_drafts()


@pytest.fixture()
def review(app: Flask) -> Iterator[Callable[[bool], None]]:
    settings = app.config["SETTINGS"]
    old = settings.DESIGNER_REVIEW_REQUIRED

    def set_review(on: bool) -> None:
        settings.DESIGNER_REVIEW_REQUIRED = "on" if on else "off"
    yield set_review
    settings.DESIGNER_REVIEW_REQUIRED = old


def _events(app: Flask, action: str, **detail: Any) -> list[AuditEvent]:
    with app.app_context():
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()
        return [r for r in rows if all(r.detail.get(k) == v for k, v in detail.items())]


def _deploy(api: Callable[[str], Api], files: dict[str, str], designer: str = "demo_designer") -> int:
    r = api(designer).post("/api/v1/processes/drafts", json={"files": files})
    assert r.status_code == 201, r.get_json()
    draft = r.get_json()["id"]
    r = api(designer).post(f"/api/v1/processes/drafts/{draft}/deploy")
    assert r.status_code == 200, r.get_json()
    return int(r.get_json()["version"])


def _open_tasks(app: Flask, case_id: int) -> list[Task]:
    with app.app_context():
        return list(session.scalars(select(Task).where(Task.case_id == case_id, Task.state == "open")))


def _version_of(app: Flask, case_id: int) -> int:
    with app.app_context():
        return session.scalar(select(ProcessDefinition.version).join(
            WorkflowInstance, WorkflowInstance.definition_id == ProcessDefinition.id).where(
            WorkflowInstance.case_id == case_id))


def _data(app: Flask, case_id: int) -> dict[str, Any]:
    from app.cases.models import Case
    from app.engine import host
    with app.app_context():
        return host.workflow_data(session.get(Case, case_id))


# ---------------------------------------------------------------------------- drafts

def test_a_draft_is_checked_saved_loaded_and_saved_again(app: Flask, api: Callable[[str], Api],
                                                         restore_active: None) -> None:
    designer = api("demo_designer")
    r = designer.post("/api/v1/processes/drafts", json={"files": {LOOP: renamed(app)}})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["ok"] is True and body["problems"] == [] and body["revision"] == 1
    draft = body["id"]

    loaded = designer.get(f"/api/v1/processes/drafts/{draft}").get_json()
    assert loaded["changed"] == [LOOP] and loaded["yours"] is True and "notice" not in loaded
    assert "rules/starting_tier.dmn" in loaded["bundle"] and "forms/verify_on_site.json" in loaded["bundle"]
    assert "现场核实（复核）" in loaded["files"][LOOP]
    dmn = designer.get(f"/api/v1/processes/drafts/{draft}/files/rules/starting_tier.dmn").get_json()
    assert dmn["content"].startswith("<?xml")  # the unchanged files come from the deployed version

    # a second draft of the same designer is refused: one each per bundle
    again = designer.post("/api/v1/processes/drafts", json={"files": {LOOP: renamed(app)}})
    assert again.status_code == 409 and again.get_json()["draft"] == draft

    # saving a broken file: stored, with its problems, and not ok
    r = designer.client.put(f"/api/v1/processes/drafts/{draft}", headers=designer.headers,
                            json={"files": {"rules/starting_tier.dmn": "<definitions"}, "revision": 1})
    assert r.status_code == 200, r.get_json()
    saved = r.get_json()
    assert saved["revision"] == 2 and saved["ok"] is False
    # the broken table, and the process that calls it (it cannot be built without the decision)
    assert [p["file"] for p in saved["problems"]] == ["rules/starting_tier.dmn", LOOP]
    # a save from a stale copy is refused
    stale = designer.client.put(f"/api/v1/processes/drafts/{draft}", headers=designer.headers,
                                json={"files": {LOOP: renamed(app)}, "revision": 1})
    assert stale.status_code == 409 and stale.get_json()["revision"] == 2
    # saving the DMN back as deployed drops it from the changes
    shipped_dmn = (app.config["SETTINGS"].RULES_DIR / "starting_tier.dmn").read_text(encoding="utf-8")
    r = designer.client.put(f"/api/v1/processes/drafts/{draft}", headers=designer.headers,
                            json={"files": {"rules/starting_tier.dmn": shipped_dmn}})
    assert r.get_json()["ok"] is True
    assert designer.get(f"/api/v1/processes/drafts/{draft}").get_json()["changed"] == [LOOP]
    assert [e.detail["revision"] for e in _events(app, "process_draft_saved", draft_id=draft)] == [1, 2, 3]


def test_multipart_upload_names_the_files_by_their_place(app: Flask, api: Callable[[str], Api],
                                                         restore_active: None) -> None:
    designer = api("demo_designer")
    r = designer.client.post("/api/v1/processes/drafts", headers=designer.headers, content_type="multipart/form-data",
                             data={"file": (io.BytesIO(renamed(app).encode("utf-8")), LOOP)})
    assert r.status_code == 201, r.get_json()
    assert designer.get(f"/api/v1/processes/drafts/{r.get_json()['id']}").get_json()["changed"] == [LOOP]


def test_a_second_designer_is_told_who_edits_the_draft(app: Flask, api: Callable[[str], Api],
                                                       restore_active: None) -> None:
    draft = api("demo_designer").post("/api/v1/processes/drafts", json={"files": {LOOP: renamed(app)}}).get_json()["id"]
    admin = api("demo_admin")
    seen = admin.get(f"/api/v1/processes/drafts/{draft}").get_json()
    assert seen["yours"] is False and seen["owner"] == "demo_designer" and "正由" in seen["notice"]
    r = admin.client.put(f"/api/v1/processes/drafts/{draft}", headers=admin.headers, json={"files": {LOOP: renamed(app, "x")}})
    assert r.status_code == 409 and r.get_json()["editing_by"] == "demo_designer"
    listed = admin.get("/api/v1/processes/drafts").get_json()["items"]
    assert [(d["id"], d["owner"], d["changed"]) for d in listed] == [(draft, "demo_designer", [LOOP])]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"files": {"other/x.bpmn": "<x/>"}}, 422, "files.other/x.bpmn"),
    ({"files": {}}, 422, "files"),
    ({"files": {LOOP: 5}}, 422, "files.processes/seven_step_loop.bpmn"),
    ({"nothing": 1}, 400, None),
    ({"files": {LOOP: "x" * (2 * 1024 * 1024 + 1)}}, 413, None),
])
def test_bad_draft_bodies_are_refused_with_field_errors(api: Callable[[str], Api], body: dict[str, Any], status: int,
                                                        field: str | None) -> None:
    r = api("demo_designer").post("/api/v1/processes/drafts", json=body)
    assert r.status_code == status, r.get_json()
    if field:
        assert field in r.get_json()["errors"]


@pytest.mark.parametrize(("method", "url"), [
    ("GET", "/api/v1/processes/drafts"), ("POST", "/api/v1/processes/drafts"), ("GET", "/api/v1/processes/drafts/1"),
    ("PUT", "/api/v1/processes/drafts/1"), ("POST", "/api/v1/processes/drafts/1/approve"),
    ("POST", "/api/v1/processes/drafts/1/deploy"), ("POST", "/api/v1/processes/versions/1/activate"),
    ("GET", "/api/v1/processes/migrations"), ("POST", "/api/v1/processes/migrations"),
])
@pytest.mark.parametrize("user", ["demo_operator", "demo_supervisor", "demo_handler"])
def test_only_designers_and_admins_may_call_the_designer_api(api: Callable[[str], Api], method: str, url: str,
                                                             user: str) -> None:
    caller = api(user)
    r = caller.client.open(url, method=method, headers=caller.headers, json={"files": {LOOP: "<x/>"}, "to": 1,
                                                                             "cases": "all_safe"})
    assert r.status_code == 403, r.get_json()


# ---------------------------------------------------------------------------- review and deploy

def test_four_eyes_a_draft_needs_another_designers_approval(app: Flask, api: Callable[[str], Api],
                                                            restore_active: None, review: Callable[[bool], None],
                                                            make_case: Callable[..., dict[str, Any]]) -> None:
    review(True)
    designer = api("demo_designer")
    draft = designer.post("/api/v1/processes/drafts", json={"files": {LOOP: renamed(app)}}).get_json()["id"]
    r = designer.post(f"/api/v1/processes/drafts/{draft}/deploy")
    assert r.status_code == 409 and r.get_json()["review_required"] is True
    own = designer.post(f"/api/v1/processes/drafts/{draft}/approve")
    assert own.status_code == 403 and "自己" in own.get_json()["message"]

    assert api("demo_admin").post(f"/api/v1/processes/drafts/{draft}/approve").status_code == 200
    # a save after the approval needs a new one: what was approved is one revision
    designer.client.put(f"/api/v1/processes/drafts/{draft}", headers=designer.headers,
                        json={"files": {LOOP: renamed(app, "现场核实（再改）")}})
    assert designer.post(f"/api/v1/processes/drafts/{draft}/deploy").status_code == 409
    assert api("demo_admin").post(f"/api/v1/processes/drafts/{draft}/approve").status_code == 200

    r = designer.post(f"/api/v1/processes/drafts/{draft}/deploy")
    assert r.status_code == 200, r.get_json()
    version = r.get_json()["version"]
    deployed = _events(app, "process_deployed", draft_id=draft)
    assert [(e.detail["version"], e.detail["approved_by"], e.actor_name) for e in deployed] == [
        (version, "demo_admin", "demo_designer")]
    assert [e.actor_name for e in _events(app, "process_draft_approved", draft_id=draft)] == ["demo_admin", "demo_admin"]
    # new cases start on it, and show the renamed step
    case = make_case()
    assert _version_of(app, case["id"]) == version
    assert [t.name for t in _open_tasks(app, case["id"])] == ["现场核实（再改）"]
    # a deployed draft is closed: the designer can start a new one
    assert designer.post(f"/api/v1/processes/drafts/{draft}/deploy").status_code == 409
    assert designer.post("/api/v1/processes/drafts", json={"files": {LOOP: renamed(app)}}).status_code == 201


def test_a_draft_with_errors_is_neither_approved_nor_deployed(app: Flask, api: Callable[[str], Api],
                                                              restore_active: None, review: Callable[[bool], None]) -> None:
    review(False)
    r = api("demo_designer").post("/api/v1/processes/drafts", json={"files": {"rules/starting_tier.dmn": "<definitions"}})
    assert r.status_code == 201 and r.get_json()["ok"] is False
    draft = r.get_json()["id"]
    assert api("demo_admin").post(f"/api/v1/processes/drafts/{draft}/approve").status_code == 409
    r = api("demo_designer").post(f"/api/v1/processes/drafts/{draft}/deploy")
    assert r.status_code == 409 and r.get_json()["problems"]


def test_without_review_one_designer_deploys_and_activate_rolls_back(app: Flask, api: Callable[[str], Api],
                                                                     restore_active: None, review: Callable[[bool], None],
                                                                     make_case: Callable[..., dict[str, Any]]) -> None:
    review(False)
    pid = app.config["SETTINGS"].CASE_PROCESS_ID
    with app.app_context():
        old = session.get(ProcessDefinition, active_definition_id(pid)).version
    new = _deploy(api, {LOOP: renamed(app, "现场核实（新版）")})
    assert new > old
    assert [t.name for t in _open_tasks(app, make_case()["id"])] == ["现场核实（新版）"]

    r = api("demo_designer").post(f"/api/v1/processes/versions/{old}/activate")
    assert r.status_code == 200 and r.get_json() == {"version": old, "previous": new}
    case = make_case()
    assert _version_of(app, case["id"]) == old and [t.name for t in _open_tasks(app, case["id"])] == ["现场核实"]
    assert [(e.detail["version"], e.detail["from_version"]) for e in _events(app, "process_activated")][-1] == (old, new)
    # what the designer is shown as deployed, and edits on, is the active version
    assert api("demo_designer").get("/api/v1/processes").get_json()["version"] == old
    # redeploying the shipped files (as `make run` does) does not undo the rollback
    runner = app.test_cli_runner()
    assert runner.invoke(args=["processes", "deploy"]).exit_code == 0
    assert _version_of(app, make_case()["id"]) == old
    assert api("demo_designer").post("/api/v1/processes/versions/99999/activate").status_code == 404


def test_a_draft_made_before_another_deploy_must_be_saved_again(app: Flask, api: Callable[[str], Api],
                                                                restore_active: None, review: Callable[[bool], None]) -> None:
    review(False)
    early = api("demo_admin").post("/api/v1/processes/drafts", json={"files": {LOOP: renamed(app, "甲")}}).get_json()["id"]
    _deploy(api, {LOOP: renamed(app, "乙")})
    r = api("demo_admin").post(f"/api/v1/processes/drafts/{early}/deploy")
    assert r.status_code == 409 and "active_version" in r.get_json()
    admin = api("demo_admin")
    admin.client.put(f"/api/v1/processes/drafts/{early}", headers=admin.headers, json={"files": {LOOP: renamed(app, "甲")}})
    assert admin.post(f"/api/v1/processes/drafts/{early}/deploy").status_code == 200


# ---------------------------------------------------------------------------- migration

def test_a_running_case_moves_with_its_data_claim_and_deadline(app: Flask, api: Callable[[str], Api],
                                                               restore_active: None, review: Callable[[bool], None],
                                                               make_case: Callable[..., dict[str, Any]]) -> None:
    review(False)
    old_case = make_case()
    old_version = _version_of(app, old_case["id"])
    [task] = _open_tasks(app, old_case["id"])
    grid = api("demo_grid_worker")
    assert grid.post(f"/api/v1/tasks/{task.id}/claim").status_code == 200
    [task] = _open_tasks(app, old_case["id"])
    assert task.claimed_by_id is not None and task.due_at is not None

    data_before = _data(app, old_case["id"])
    new = _deploy(api, {LOOP: renamed(app)})
    designer = api("demo_designer")
    listed = designer.get(f"/api/v1/processes/migrations?from={old_version}&limit=500").get_json()
    assert listed["to"] == new and listed["from"] == old_version
    assert {"version": old_version, "running": listed["running"]} in listed["versions"]
    mine = [c for c in listed["cases"] if c["id"] == old_case["id"]]
    assert mine == [{"id": old_case["id"], "safe": True, "reasons": []}]

    r = designer.post("/api/v1/processes/migrations", json={"to": new, "cases": [old_case["id"]]})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["migrated"] == [old_case["id"]] and r.get_json()["refused"] == []
    assert _version_of(app, old_case["id"]) == new
    [moved] = _open_tasks(app, old_case["id"])
    assert (moved.id, moved.spiff_id, moved.claimed_by_id, moved.due_at, moved.yellow_at) == (
        task.id, task.spiff_id, task.claimed_by_id, task.due_at, task.yellow_at)
    assert moved.name == "现场核实（复核）"
    [event] = _events(app, "case_migrated")[-1:]
    assert (event.case_id, event.detail["from_version"], event.detail["to_version"], event.actor_name) == (
        old_case["id"], old_version, new, "demo_designer")
    # the data stayed, and the case goes on on its new version
    detail = grid.get(f"/api/v1/tasks/{task.id}").get_json()
    assert detail["name"] == "现场核实（复核）"
    assert _data(app, old_case["id"]) == data_before and data_before["grid_unit"] == "d1-s1-c1"
    r = grid.post(f"/api/v1/tasks/{task.id}/complete", json={"data": grid.with_photos(task.id, {
        "confirmed": True, "verify_notes": "现场确认井盖破损"})})
    assert r.status_code == 200, r.get_json()
    assert [t.bpmn_id for t in _open_tasks(app, old_case["id"])] == ["file_case"]


def test_a_case_whose_step_was_removed_stays_with_its_reason(app: Flask, api: Callable[[str], Api],
                                                             restore_active: None, review: Callable[[bool], None],
                                                             make_case: Callable[..., dict[str, Any]]) -> None:
    review(False)
    stuck = make_case()
    old_version = _version_of(app, stuck["id"])
    before = _open_tasks(app, stuck["id"])
    new = _deploy(api, {LOOP: without_verify(app)})
    assert [t.bpmn_id for t in _open_tasks(app, make_case()["id"])] == ["file_case"]  # new cases skip the step

    designer = api("demo_designer")
    listed = designer.get(f"/api/v1/processes/migrations?from={old_version}&limit=500").get_json()
    [mine] = [c for c in listed["cases"] if c["id"] == stuck["id"]]
    assert mine["safe"] is False and any("verify_on_site" in r and "删除" in r for r in mine["reasons"])

    r = designer.post("/api/v1/processes/migrations", json={"to": new, "cases": [stuck["id"]]})
    assert r.status_code == 200 and r.get_json()["migrated"] == []
    [refused] = r.get_json()["refused"]
    assert refused["id"] == stuck["id"] and any("verify_on_site" in x for x in refused["reasons"])
    assert _version_of(app, stuck["id"]) == old_version
    assert [(t.id, t.name) for t in _open_tasks(app, stuck["id"])] == [(t.id, t.name) for t in before]


def test_all_safe_moves_the_safe_ones_each_in_its_own_transaction(app: Flask, api: Callable[[str], Api],
                                                                  restore_active: None, review: Callable[[bool], None],
                                                                  make_case: Callable[..., dict[str, Any]]) -> None:
    review(False)
    at_verify = make_case()
    filed = make_case(grid_unit=None)  # no grid: starts at 核实立案, which every version keeps
    old_version = _version_of(app, at_verify["id"])
    assert [t.bpmn_id for t in _open_tasks(app, filed["id"])] == ["file_case"]
    new = _deploy(api, {LOOP: without_verify(app)})
    designer = api("demo_designer")
    r = designer.post("/api/v1/processes/migrations", json={"to": new, "cases": "all_safe", "from": old_version})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert filed["id"] in body["migrated"] and at_verify["id"] not in body["migrated"]
    assert at_verify["id"] in [c["id"] for c in body["refused"]]
    assert _version_of(app, filed["id"]) == new and _version_of(app, at_verify["id"]) == old_version
    moved = {e.case_id for e in _events(app, "case_migrated", to_version=new)}
    assert filed["id"] in moved and at_verify["id"] not in moved


@pytest.mark.parametrize(("body", "field"), [
    ({"to": 1, "cases": []}, "cases"), ({"to": 1, "cases": "some"}, "cases"), ({"to": 0, "cases": [1]}, "to"),
    ({"cases": [1]}, "to"), ({"to": 1, "cases": [True]}, "cases"), ({"to": 1, "cases": list(range(1, 600))}, "cases"),
])
def test_bad_migration_bodies_are_field_errors(api: Callable[[str], Api], body: dict[str, Any], field: str) -> None:
    r = api("demo_designer").post("/api/v1/processes/migrations", json=body)
    assert r.status_code == 422 and field in r.get_json()["errors"], r.get_json()


def test_the_cli_migrates_with_a_dry_run_first(app: Flask, api: Callable[[str], Api], restore_active: None,
                                               review: Callable[[bool], None],
                                               make_case: Callable[..., dict[str, Any]]) -> None:
    review(False)
    case = make_case()
    old_version = _version_of(app, case["id"])
    new = _deploy(api, {LOOP: renamed(app, "现场核实（命令行）")})
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["processes", "migrate", "--from", str(old_version), "--to", str(new), "--case",
                              str(case["id"]), "--dry-run"])
    assert dry.exit_code == 0 and "1 of 1 cases could move" in dry.output, dry.output
    assert _version_of(app, case["id"]) == old_version
    done = runner.invoke(args=["processes", "migrate", "--from", str(old_version), "--to", str(new), "--all-safe"])
    assert done.exit_code == 0 and "cases moved" in done.output, done.output
    assert _version_of(app, case["id"]) == new
    assert runner.invoke(args=["processes", "migrate", "--from", str(old_version), "--to", str(new)]).exit_code != 0
    json.dumps(done.output)


def test_a_moved_case_keeps_its_timers_in_a_sub_process(app: Flask, api: Callable[[str], Api], restore_active: None,
                                                       review: Callable[[bool], None],
                                                       make_case: Callable[..., dict[str, Any]],
                                                       at_time: Callable[[str], Any]) -> None:
    """任务处理 (handle_case, inside the call activity tier_handling) has boundary timers armed from its
    deadline: after the move they wait for the same moments and fire once, as before."""
    from app.engine.timers import sweep
    from tests.engine.test_timers import count, handling_task, t
    review(False)
    at_time(t("09:00"))
    task = handling_task(api, make_case, "2h")  # claimed at 09:00: yellow 10:36, due 11:00
    assert api("demo_handler").post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    case_id = task["case_id"]
    with app.app_context():
        timer_before = session.scalar(select(WorkflowInstance.next_timer_at).filter_by(case_id=case_id))
    [row_before] = [r for r in _open_tasks(app, case_id) if r.bpmn_id == "handle_case"]
    old_version = _version_of(app, case_id)
    tier = (app.config["SETTINGS"].PROCESS_DIR / "tier_handling.bpmn").read_text(encoding="utf-8")
    assert 'id="handle_case" name="任务处理 (主办)"' in tier
    new = _deploy(api, {"processes/tier_handling.bpmn": tier.replace(
        'id="handle_case" name="任务处理 (主办)"', 'id="handle_case" name="任务处理（主办单位）"')})
    r = api("demo_admin").post("/api/v1/processes/migrations", json={"to": new, "cases": [case_id]})
    assert r.get_json()["migrated"] == [case_id], r.get_json()
    assert _version_of(app, case_id) == new != old_version
    [row] = [r for r in _open_tasks(app, case_id) if r.bpmn_id == "handle_case"]
    assert row.name == "任务处理（主办单位）"
    assert (row.id, row.claimed_by_id, row.started_at, row.yellow_at, row.due_at) == (
        row_before.id, row_before.claimed_by_id, row_before.started_at, row_before.yellow_at, row_before.due_at)
    with app.app_context():
        assert session.scalar(select(WorkflowInstance.next_timer_at).filter_by(case_id=case_id)) == timer_before
        sweep(at_time(t("10:35")))
    assert count(app, AuditEvent, case_id=case_id, action="task_reminded") == 0
    with app.app_context():
        sweep(at_time(t("10:36")))
        sweep(at_time(t("10:50")))
    assert count(app, AuditEvent, case_id=case_id, action="task_reminded") == 1
    [event] = _events(app, "case_migrated", to_version=new)
    assert "任务处理（主办单位）" in event.detail["changed"]


def test_a_case_between_co_handlers_moves_and_joins_them_on_the_new_version(
        app: Flask, api: Callable[[str], Api], restore_active: None, review: Callable[[bool], None],
        make_case: Callable[..., dict[str, Any]]) -> None:
    """The lead finished, two co-handlers (multi-instance) are still open: after the move both
    complete on the new version and the case goes on to 执行反馈, as it would have."""
    from tests.e2e.test_four_tier import do, filed, only_task
    review(False)
    case = filed(api, make_case, category_code="component:01002", grid_unit="d1-s2-c1")
    case = do(api, "dispatcher_d1", only_task(case, "triage")["id"], {
        "decision": "dispatch", "lead_unit": "d1-sz", "co_units": ["d1-jt", "d1-s2"], "handling_limit": "4h"})
    by_unit = {t["org_unit"]["code"]: t for t in case["current_tasks"]}
    case = do(api, "demo_handler", by_unit["d1-sz"]["id"], {"handling_notes": "已更换井盖"})
    assert {t["bpmn_id"] for t in case["current_tasks"]} == {"cohandle_case"}
    tier = (app.config["SETTINGS"].PROCESS_DIR / "tier_handling.bpmn").read_text(encoding="utf-8")
    assert 'id="cohandle_case" name="协办处置"' in tier
    new = _deploy(api, {"processes/tier_handling.bpmn": tier.replace('id="cohandle_case" name="协办处置"',
                                                                     'id="cohandle_case" name="协办处置（新）"')})
    r = api("demo_designer").post("/api/v1/processes/migrations", json={"to": new, "cases": [case["id"]]})
    assert r.get_json()["migrated"] == [case["id"]], r.get_json()
    assert sorted(t.name for t in _open_tasks(app, case["id"])) == ["协办处置（新）", "协办处置（新）"]
    case = do(api, "handler_d1_jt", by_unit["d1-jt"]["id"], {"cohandling_notes": "已设置交通警示"})
    assert [t["org_unit"]["code"] for t in case["current_tasks"]] == ["d1-s2"]
    case = do(api, "handler_d1_s2", by_unit["d1-s2"]["id"], {"cohandling_notes": "已通知周边居民"})
    assert only_task(case, "report_back")["org_unit"]["code"] == "d1-sz"


def test_the_modeler_page_saves_with_its_session_and_csrf_token(app: Flask, login: Callable[..., Any],
                                                                 restore_active: None) -> None:
    """The browser modeler calls the drafts API with the page's session cookie: a change needs the
    page's CSRF token (header X-CSRFToken), as the page's own forms do."""
    from tests.conftest import csrf_token
    browser = app.test_client()
    login(browser, "demo_designer")
    token = csrf_token(browser.get("/account").get_data(as_text=True))
    body = {"files": {LOOP: renamed(app)}}
    assert browser.post("/api/v1/processes/drafts", json=body).status_code == 400  # no CSRF token
    r = browser.post("/api/v1/processes/drafts", json=body, headers={"X-CSRFToken": token})
    assert r.status_code == 201, r.get_json()
    assert browser.get(f"/api/v1/processes/drafts/{r.get_json()['id']}").get_json()["yours"] is True
    assert app.test_client().post("/api/v1/processes/drafts", json=body).status_code == 401  # neither
    operator = app.test_client()
    login(operator, "demo_operator")
    token = csrf_token(operator.get("/account").get_data(as_text=True))
    assert operator.post("/api/v1/processes/drafts", json=body, headers={"X-CSRFToken": token}).status_code == 403
