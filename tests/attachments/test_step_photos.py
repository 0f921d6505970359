"""Photos inside step forms: tied to (case, task, field, tag) in the transaction that completes the
task, through the API (ids of photos uploaded first) and the operation; a refused form ties nothing."""
from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.attachments.models import Attachment
from app.attachments.operations import path_of, store_file
from app.core.audit import AuditEvent
from app.core.auth import load_principal
from app.core.db import transaction
from app.core.errors import ValidationFailed
from app.orgs.models import User
from app.tasks.models import Task
from app.tasks.operations import complete_task
from tests.attachments.test_attachments_api import png, upload


def _task(case: dict[str, Any], bpmn_id: str) -> dict[str, Any]:
    return next(t for t in case["current_tasks"] if t["bpmn_id"] == bpmn_id)


def _claimed_verify(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    case = make_case()
    worker = api("demo_grid_worker")
    task = _task(case, "verify_on_site")
    assert worker.post(f"/api/v1/tasks/{task['id']}/claim").status_code == 200
    return worker, case, task


def test_the_form_says_how_many_photos_it_takes(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    worker, case, task = _claimed_verify(api, make_case)
    form = worker.get(f"/api/v1/tasks/{task['id']}").get_json()["form"]
    photos = form["properties"]["site_photos"]
    assert photos["format"] == "photo" and photos["x-photo-tag"] == "before" and photos["minItems"] == 1
    r = worker.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"confirmed": True}})
    assert r.status_code == 422 and r.get_json()["errors"] == {"site_photos": ["请至少上传 1 张照片"]}
    r = worker.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"confirmed": True, "site_photos": []}})
    assert r.status_code == 422 and r.get_json()["errors"] == {"site_photos": ["请至少上传 1 张照片"]}
    r = worker.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"confirmed": True, "site_photos": ["a"]}})
    assert r.status_code == 422 and list(r.get_json()["errors"]) == ["site_photos"]
    many = [upload(worker, case["id"], png(2 + i, 2)).get_json()["id"] for i in range(7)]
    r = worker.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"confirmed": True, "site_photos": many}})
    assert r.status_code == 422 and r.get_json()["errors"] == {"site_photos": ["最多上传 6 张照片"]}


def test_photos_uploaded_first_are_tied_to_the_step(api: Callable[[str], Any], make_case: Callable[..., dict[str, Any]]) -> None:
    worker, case, task = _claimed_verify(api, make_case)
    first = upload(worker, case["id"], png(3, 3), "现场1.png").get_json()
    second = upload(worker, case["id"], png(4, 3), "现场2.png").get_json()
    assert first["task_id"] is None and first["tag"] is None  # a loose case attachment until the form takes it
    r = worker.post(f"/api/v1/tasks/{task['id']}/complete",
                    json={"data": {"confirmed": True, "site_photos": [first["id"], second["id"]]}})
    assert r.status_code == 200, r.get_json()
    listed = {a["id"]: a for a in worker.get(f"/api/v1/cases/{case['id']}/attachments").get_json()["items"]}
    for att in (first, second):
        assert {k: listed[att["id"]][k] for k in ("task_id", "step", "field", "tag")} == {
            "task_id": task["id"], "step": "verify_on_site", "field": "site_photos", "tag": "before"}
    shown = {a["id"]: a for a in r.get_json()["attachments"]}
    assert shown[first["id"]]["step"] == "verify_on_site"
    completed = [e for e in r.get_json()["history"] if e["action"] == "task_completed"]
    assert completed[-1]["detail"]["data"]["site_photos"] == [first["id"], second["id"]]


def test_only_the_callers_own_untied_photos_of_the_case(app: Flask, api: Callable[[str], Any],
                                                        make_case: Callable[..., dict[str, Any]]) -> None:
    worker, case, task = _claimed_verify(api, make_case)
    others = upload(api("demo_operator"), case["id"], png(5, 5)).get_json()["id"]  # someone else's
    pdf = upload(worker, case["id"], b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "a.pdf").get_json()["id"]
    other_case = make_case()
    elsewhere = upload(worker, other_case["id"], png(6, 6)).get_json()["id"]
    for wrong in (others, pdf, elsewhere, 999_999_999):
        r = worker.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"confirmed": True, "site_photos": [wrong]}})
        assert r.status_code == 422, (wrong, r.get_json())
        assert "site_photos" in r.get_json()["errors"] and str(wrong) in r.get_json()["errors"]["site_photos"][0]
    mine = upload(worker, case["id"], png(7, 7)).get_json()["id"]
    r = worker.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"confirmed": True, "site_photos": [mine, mine]}})
    assert r.status_code == 422 and "site_photos" in r.get_json()["errors"]
    # a photo another step (or another field) took is not this field's
    with app.app_context(), transaction() as s:
        s.get(Attachment, mine).task_id, s.get(Attachment, mine).field = task["id"], "before_photos"
    r = worker.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {"confirmed": True, "site_photos": [mine]}})
    assert r.status_code == 422 and str(mine) in r.get_json()["errors"]["site_photos"][0]
    with app.app_context(), transaction() as s:
        s.get(Attachment, mine).task_id, s.get(Attachment, mine).field = None, None
    assert worker.post(f"/api/v1/tasks/{task['id']}/complete",
                       json={"data": {"confirmed": True, "site_photos": [mine]}}).status_code == 200


def test_a_refused_form_ties_nothing_and_stores_no_row(app: Flask, api: Callable[[str], Any],
                                                       make_case: Callable[..., dict[str, Any]]) -> None:
    """The operation: photos sent with the form become rows in the completing transaction only."""
    worker, case, task = _claimed_verify(api, make_case)
    loose = upload(worker, case["id"], png(8, 8)).get_json()["id"]
    content = png(9, 9)
    with app.test_request_context(), transaction() as s:
        before = s.scalar(select(func.count()).select_from(Attachment)) or 0
        events = s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.case_id == case["id"]))
    with app.test_request_context():
        stored = store_file(io.BytesIO(content), "现场.png", "site_photos", photo=True)
        with pytest.raises(ValidationFailed) as refused, transaction() as s:
            principal = load_principal(s.scalar(select(User.id).where(User.username == "demo_grid_worker")))
            row = s.get(Task, task["id"])
            # 情况不属实 needs 核实情况: refused after the photos were tied and their rows flushed
            complete_task(row, principal, {"confirmed": False, "site_photos": [loose]}, photos={"site_photos": [stored]})
        assert refused.value.errors == {"verify_notes": ["必填项"]}
        with transaction() as s:
            assert (s.scalar(select(func.count()).select_from(Attachment)) or 0) == before  # the new row is gone
            assert s.get(Attachment, loose).task_id is None  # the loose photo is not tied
            assert s.get(Task, task["id"]).state == "open"
            assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.case_id == case["id"])) == events
        assert path_of(stored.sha256).is_file()  # the file waits for the re-shown form (or `attachments gc`)
        with transaction() as s:
            principal = load_principal(s.scalar(select(User.id).where(User.username == "demo_grid_worker")))
            complete_task(s.get(Task, task["id"]), principal, {"confirmed": False, "verify_notes": "现场未见破损井盖",
                                                                "site_photos": [loose]}, photos={"site_photos": [stored]})
        with transaction() as s:
            tied = list(s.scalars(select(Attachment).where(Attachment.task_id == task["id"]).order_by(Attachment.id)))
            assert [(a.field, a.tag, a.source) for a in tied] == [("site_photos", "before", "upload"),
                                                                  ("site_photos", "before", "task")]
            assert tied[1].sha256 == stored.sha256 and tied[1].filename == "现场.png"


def test_a_photo_field_takes_only_photos(app: Flask) -> None:
    with app.test_request_context():
        with pytest.raises(ValidationFailed) as refused:
            store_file(io.BytesIO(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n%%EOF\n"), "a.pdf", "after_photos", photo=True)
    assert list(refused.value.errors) == ["after_photos"] and "只能上传照片" in refused.value.errors["after_photos"][0]
