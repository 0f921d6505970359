"""Photos inside step forms in the browser: sent with the form (multipart), kept by a refused form
without a row, shown on the case page per step (处置前 | 处置后) and in the timeline."""
from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.attachments.models import Attachment
from app.attachments.operations import path_of
from app.cases.models import Case
from app.core.db import transaction
from tests.conftest import tiny_png
from tests.web.pages import html, token
from tests.web.test_pages import api_case, claim, first_task, walk_to


def rows(app: Flask, case_id: int) -> list[Attachment]:
    with app.app_context(), transaction() as s:
        return list(s.scalars(select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)))


def stored_files(app: Flask) -> set[str]:
    root = app.config["SETTINGS"].ATTACHMENT_DIR
    return {p.name for p in root.glob("*/*") if p.is_file()}


def photo(width: int, name: str = "现场.png") -> tuple[io.BytesIO, str]:
    return io.BytesIO(tiny_png(width, 3)), name


def test_the_step_form_asks_for_its_photos(browser: Callable[[str], FlaskClient],
                                           make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    task_id = first_task(case)["id"]
    worker = browser("demo_grid_worker")
    claim(worker, task_id)
    page = html(worker.get(f"/tasks/{task_id}"))
    assert 'enctype="multipart/form-data"' in page
    field = re.search(r'<input id="f-site_photos" name="site_photos" type="file" multiple accept="image/\*"[^>]*>', page)
    assert field and 'data-min-photos="1"' in field.group(0) and 'data-max-file="' in field.group(0)
    assert "现场照片" in page and "至少 1 张" in page


def test_a_refused_form_keeps_its_photos_without_a_row(app: Flask, browser: Callable[[str], FlaskClient],
                                                       api: Callable[[str], Any],
                                                       make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    task_id = first_task(case)["id"]
    worker = browser("demo_grid_worker")
    claim(worker, task_id)
    before = stored_files(app)
    # not confirmed and no notes: refused; one photo passes its checks, the text file does not
    r = worker.post(f"/tasks/{task_id}", content_type="multipart/form-data", data={
        "csrf_token": token(worker), "confirmed": "false",
        "site_photos": [photo(11, "井盖.png"), (io.BytesIO(b"not a photo at all"), "x.txt")]})
    assert r.status_code == 422
    page = html(r)
    assert 'id="f-verify_notes-error"' in page and "x.txt：只能上传照片" in page
    assert rows(app, case["id"]) == []  # no row of the refused form
    new = stored_files(app) - before
    assert len(new) == 1  # the accepted photo waits (the text file is gone); `attachments gc` takes it if never sent
    held = re.findall(r'name="site_photos__held" value="([^"]+)" checked', page)
    assert len(held) == 1 and "井盖.png" in page
    thumb = re.search(r'<img src="(/tasks/\d+/held-photos/[^"]+)"', page)
    assert thumb and worker.get(thumb.group(1)).data == tiny_png(11, 3)
    assert browser("demo_dispatcher").get(thumb.group(1)).status_code == 404  # only for its uploader
    assert first_task(api_case(api, case["id"]))["id"] == task_id

    # sent again with the notes and the held photo (no new file): completed, the photo tied to the step
    r = worker.post(f"/tasks/{task_id}", content_type="multipart/form-data", data={
        "csrf_token": token(worker), "confirmed": "false", "verify_notes": "现场未发现破损井盖", "site_photos__held": held})
    assert r.status_code == 302, html(r)
    tied = rows(app, case["id"])
    assert [(a.task_id, a.field, a.tag, a.filename, a.source) for a in tied] == [
        (task_id, "site_photos", "before", "井盖.png", "task")]
    assert tied[0].sha256 in new


def test_a_held_photo_cannot_be_moved_to_another_task_or_forged(app: Flask, browser: Callable[[str], FlaskClient],
                                                                make_case: Callable[..., dict[str, Any]]) -> None:
    first, second = make_case(), make_case()
    worker = browser("demo_grid_worker")
    for case in (first, second):
        claim(worker, first_task(case)["id"])
    r = worker.post(f"/tasks/{first_task(first)['id']}", content_type="multipart/form-data", data={
        "csrf_token": token(worker), "confirmed": "false", "site_photos": [photo(12)]})
    held = re.findall(r'name="site_photos__held" value="([^"]+)"', html(r))
    for tokens in (held, ["forged." + "x" * 40]):
        r = worker.post(f"/tasks/{first_task(second)['id']}", content_type="multipart/form-data", data={
            "csrf_token": token(worker), "confirmed": "true", "site_photos__held": tokens})
        assert r.status_code == 422 and "有照片已过期，请重新选择" in html(r)
    assert rows(app, second["id"]) == []


def test_too_many_photos_are_refused_and_held_for_choosing(app: Flask, browser: Callable[[str], FlaskClient],
                                                           make_case: Callable[..., dict[str, Any]]) -> None:
    case = make_case()
    task_id = first_task(case)["id"]
    worker = browser("demo_grid_worker")
    claim(worker, task_id)
    r = worker.post(f"/tasks/{task_id}", content_type="multipart/form-data", data={
        "csrf_token": token(worker), "confirmed": "true", "site_photos": [photo(20 + i) for i in range(7)]})
    assert r.status_code == 422 and "最多上传 6 张照片" in html(r)
    held = re.findall(r'name="site_photos__held" value="([^"]+)"', html(r))
    assert len(held) == 7 and rows(app, case["id"]) == []
    r = worker.post(f"/tasks/{task_id}", content_type="multipart/form-data", data={
        "csrf_token": token(worker), "confirmed": "true", "site_photos__held": held[:2]})  # two left ticked
    assert r.status_code == 302 and len(rows(app, case["id"])) == 2


def test_a_conflict_leaves_no_file_behind(app: Flask, browser: Callable[[str], FlaskClient],
                                          make_case: Callable[..., dict[str, Any]]) -> None:
    """Posting to a task someone else holds stores nothing; a photo of a completion that the
    process refuses (the task ended meanwhile) is removed at once."""
    case = make_case()
    task_id = first_task(case)["id"]
    worker = browser("demo_grid_worker")
    before = stored_files(app)
    r = worker.post(f"/tasks/{task_id}", content_type="multipart/form-data", data={
        "csrf_token": token(worker), "confirmed": "true", "site_photos": [photo(31)]})
    assert r.status_code == 409 and stored_files(app) == before
    claim(worker, task_id)
    with app.app_context(), transaction() as s:  # the process stopped on this case (an incident)
        s.get(Case, case["id"]).has_incident = True
    r = worker.post(f"/tasks/{task_id}", content_type="multipart/form-data", data={
        "csrf_token": token(worker), "confirmed": "true", "site_photos": [photo(32)]})
    assert r.status_code == 409, html(r)
    assert stored_files(app) == before and rows(app, case["id"]) == []
    with app.app_context(), transaction() as s:
        s.get(Case, case["id"]).has_incident = False


def test_the_case_page_shows_the_photos_per_step(app: Flask, browser: Callable[[str], FlaskClient],
                                                 api: Callable[[str], Any],
                                                 make_case: Callable[..., dict[str, Any]]) -> None:
    case = walk_to(api, make_case(), "handle_case")
    task_id = first_task(case, "handle_case")["id"]
    handler = browser("demo_handler")
    claim(handler, task_id)
    r = handler.post(f"/tasks/{task_id}", content_type="multipart/form-data", data={
        "csrf_token": token(handler), "handling_notes": "已更换井盖",
        "before_photos": [photo(41, "处置前.png")], "after_photos": [photo(42, "处置后1.png"), photo(43, "处置后2.png")]})
    assert r.status_code == 302, html(r)
    by_name = {a.filename: a for a in rows(app, case["id"])}
    assert {n: by_name[n].tag for n in ("处置前.png", "处置后1.png", "处置后2.png")} == {
        "处置前.png": "before", "处置后1.png": "after", "处置后2.png": "after"}

    page = html(browser("demo_dispatcher").get(f"/cases/{case['id']}"))
    group = re.search(r'<section class="step-photo-group" data-step="handle_case".*?</section>', page, re.S)
    assert group, page
    before_col = re.search(r'data-tag="before">(.*?)</div>', group.group(0), re.S).group(1)
    after_col = re.search(r'data-tag="after">(.*?)</div>', group.group(0), re.S).group(1)
    assert "处置前.png" in before_col and "处置后1.png" in after_col and "处置后2.png" in after_col
    assert "处置后" not in before_col.replace("<h4>处置前</h4>", "")
    href = f'/attachments/{by_name["处置前.png"].id}'
    assert f'<a href="{href}" class="thumb"' in group.group(0) and f'<img src="{href}"' in group.group(0)
    # the site photo of 现场核实 (walk_to sent one through the API) has a group of its own
    site = re.search(r'<section class="step-photo-group" data-step="verify_on_site".*?</section>', page, re.S)
    assert site and 'data-tag="before"' in site.group(0) and 'data-tag="after"' not in site.group(0)
    # the timeline: the completion of 任务处理 says how many photos and shows them
    timeline = page[page.index('id="timeline-title"'):]
    assert "处置前照片" in timeline and "1 张照片" in timeline and "2 张照片" in timeline
    assert f'<img src="{href}"' in timeline
    assert "随环节表单上传" in timeline and "<dt>照片类型</dt><dd class=\"prewrap\">处置后</dd>" in timeline
    # loose attachments stay in their own list; the step photos are not repeated there
    attachments = page[page.index('id="attachments-title"'):page.index('id="timeline-title"')]
    assert "处置前.png" not in attachments
    # as case attachments: only for those who may see the case
    assert browser("demo_dispatcher").get(href).data == tiny_png(41, 3)
    assert browser("handler_d2_sz").get(href).status_code == 403
    with app.app_context(), transaction() as s:
        assert path_of(by_name["处置前.png"].sha256).is_file()
        assert s.scalar(select(func.count()).select_from(Attachment).where(Attachment.case_id == case["id"],
                                                                           Attachment.task_id.is_(None))) == 0
