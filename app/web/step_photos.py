"""Photos inside a step form (``"format": "photo"`` fields) in the browser, and on the case page.

The files come with the task's form (multipart) and become rows only in the transaction that
completes the task (app.tasks.operations.complete_task). When the form is refused (422), the
photos that passed their own checks (type by their bytes, size) stay in the store without a row
and the re-shown form holds them: a signed token per photo (task, user, field and the file's
hash), shown as a ticked thumbnail, so the user neither loses them nor sends them again. A token
lives :data:`HOLD_SECONDS`; a held photo never sent again is removed by ``flask attachments gc``
(files no row points at, older than an hour). A refused photo is not kept at all.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, current_app, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from app.attachments.models import Attachment
from app.attachments.operations import PHOTO_TYPES, StoredFile, path_of, step_photos, store_file
from app.attachments.views import send_attachment
from app.core.audit import AuditEvent
from app.core.auth import Principal
from app.core.db import session as db
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import gettext as _
from app.forms.schema import photo_fields
from app.tasks.models import Task
from app.web.helpers import current_principal, get_or_404, login_required
from app.web.queries import task_title

bp = Blueprint("step_photos", __name__)

HOLD_SECONDS = 3600  # as long as ``flask attachments gc`` leaves a file without a row alone
_SALT = "tongguan.step-photo"


def held_name(field_name: str) -> str:
    """The form input that carries a field's held photos (checkboxes; untick to drop one)."""
    return f"{field_name}__held"


@dataclass
class HeldPhoto:
    """A photo of a refused form, kept for the re-shown form."""

    token: str
    filename: str
    size: int
    url: str


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _token(task: Task, principal: Principal, name: str, stored: StoredFile) -> str:
    return _serializer().dumps({"t": task.id, "u": principal.id, "f": name, "s": stored.sha256,
                                "n": stored.filename, "c": stored.content_type, "z": stored.size})


def _held(token: str, task: Task, principal: Principal, name: str | None) -> StoredFile | None:
    """The stored file a token holds, if it was issued for this task, user (and field) and is fresh."""
    try:
        data = _serializer().loads(token, max_age=HOLD_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("t") != task.id or data.get("u") != principal.id:
        return None
    if (name is not None and data.get("f") != name) or data.get("c") not in PHOTO_TYPES:
        return None
    if not path_of(str(data["s"])).is_file():
        return None
    return StoredFile(str(data["s"]), str(data["n"]), str(data["c"]), int(data["z"]))


def received_photos(task: Task, principal: Principal, schema: Mapping[str, Any],
                    ) -> tuple[dict[str, list[StoredFile]], dict[str, list[str]]]:
    """The photos a step form brings, per field: those held from a refused post, then the new
    files (each checked and stored); and the messages of those refused."""
    photos: dict[str, list[StoredFile]] = {}
    errors: dict[str, list[str]] = {}
    for name in photo_fields(schema):
        kept: list[StoredFile] = []
        for token in request.form.getlist(held_name(name)):
            stored = _held(token, task, principal, name)
            if stored is None:
                errors.setdefault(name, []).append(_("有照片已过期，请重新选择"))
            else:
                kept.append(stored)
        for upload in request.files.getlist(name):
            if not upload or not upload.filename:
                continue  # an empty file input posts one nameless part
            try:
                kept.append(store_file(upload.stream, upload.filename, name, photo=True))
            except ValidationFailed as exc:
                errors.setdefault(name, []).extend(
                    f"{upload.filename}：{m}" for m in (exc.errors or {}).get(name, [exc.message]))
        if kept:
            photos[name] = kept
    return photos, errors


def held_values(task: Task, principal: Principal, photos: Mapping[str, list[StoredFile]]) -> dict[str, list[HeldPhoto]]:
    """What the re-shown form holds per photo field (fresh tokens; the files' clocks restart)."""
    out: dict[str, list[HeldPhoto]] = {}
    for name, files in photos.items():
        for stored in files:
            try:
                os.utime(path_of(stored.sha256))
            except OSError:
                continue
            token = _token(task, principal, name, stored)
            out.setdefault(name, []).append(HeldPhoto(token, stored.filename, stored.size,
                                                      url_for("step_photos.held", task_id=task.id, token=token)))
    return out


@bp.get("/tasks/<id:task_id>/held-photos/<token>")
@login_required
def held(task_id: int, token: str) -> Any:
    """The thumbnail of a held photo: only for the user whose refused form it came with."""
    task = get_or_404(Task, task_id, _("找不到该任务"))
    stored = _held(token, task, current_principal(), None)
    if stored is None:
        raise NotFound(_("照片已过期"))
    return send_attachment(Attachment(id=0, sha256=stored.sha256, content_type=stored.content_type,
                                      filename=stored.filename))


# ---------------------------------------------------------------------------- the case page

@dataclass
class StepPhotos:
    """The photos of one completed (or running) step: before and after, side by side."""

    task_id: int
    bpmn_id: str
    title: str
    completed_at: Any
    before: list[Attachment] = field(default_factory=list)
    after: list[Attachment] = field(default_factory=list)


def case_step_photos(case_id: int, definition: Any) -> list[StepPhotos]:
    """The case's step photos grouped per task, in the order the steps ran."""
    photos = step_photos(case_id)
    if not photos:
        return []
    tasks = {t.id: t for t in db.scalars(select(Task).where(Task.id.in_({a.task_id for a in photos})))}
    groups: dict[int, StepPhotos] = {}
    for a in photos:
        task = tasks.get(a.task_id or 0)
        if task is None:
            continue
        group = groups.get(task.id)
        if group is None:
            group = groups[task.id] = StepPhotos(task.id, task.bpmn_id, task_title(task.name, definition, task.bpmn_id),
                                                   task.completed_at)
        (group.before if a.tag == "before" else group.after).append(a)
    return [groups[k] for k in sorted(groups)]


def case_page_photos(case_id: int, definition: Any) -> dict[str, Any]:
    """What the case page shows of the step photos: the groups, and the timeline's by event."""
    groups = case_step_photos(case_id, definition)
    return {"step_photos": groups, "timeline_photos": timeline_photos(case_id, groups)}


def timeline_photos(case_id: int, groups: list[StepPhotos]) -> dict[int, StepPhotos]:
    """The step photos shown with each ``task_completed`` entry of the timeline, by event id."""
    if not groups:
        return {}
    by_task = {g.task_id: g for g in groups}
    rows = db.execute(select(AuditEvent.id, AuditEvent.task_id).where(
        AuditEvent.case_id == case_id, AuditEvent.action == "task_completed",
        AuditEvent.task_id.in_(list(by_task)))).all()
    out: dict[int, StepPhotos] = {}
    for event_id, task_id in rows:
        out[event_id] = by_task[task_id]
    return out
