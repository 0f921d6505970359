"""Storing photos and files of a case.

Files live in ``ATTACHMENT_DIR`` named by their SHA-256 (the same photo sent twice is stored
once), never in the workflow state or the database. The type is read from the bytes (``filetype``),
not from the name or the client's header; only photos, PDF and short audio/video pass. A file is
written before its row: if the request later fails, the row is rolled back and the orphan file is
harmless (``flask attachments gc`` removes such files).

A step form's photos (``"format": "photo"`` fields) are attachments tied to the task, the field
and its tag (:func:`attach_step_photos`), created in the transaction that completes the task: a
refused form leaves no row behind.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import unicodedata
from pathlib import Path
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import filetype
from flask import current_app
from sqlalchemy import func, select

from app.attachments.models import Attachment
from app.cases.models import Case
from app.core.audit import record
from app.core.db import session, utcnow
from app.core.errors import ValidationFailed
from app.forms.schema import photo_fields

#: what may be attached: photos from phones and cameras, documents, voice and short videos
ALLOWED_TYPES = {
    "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif", "image/heic": "heic",
    "application/pdf": "pdf", "audio/mpeg": "mp3", "audio/amr": "amr", "audio/x-wav": "wav", "audio/mp4": "m4a",
    "video/mp4": "mp4", "video/quicktime": "mov",
}
INLINE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
#: what a step form's photo field takes
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/heic")
_CHUNK = 64 * 1024


def _settings() -> Any:
    return current_app.config["SETTINGS"]


def store_dir() -> Path:
    return Path(_settings().ATTACHMENT_DIR)


def path_of(sha256: str) -> Path:
    return store_dir() / sha256[:2] / sha256


def clean_filename(name: str | None, extension: str) -> str:
    """A display name without path parts or control characters."""
    base = unicodedata.normalize("NFKC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", base).strip(" .")[:150]
    return base or f"attachment.{extension}"


@dataclass(frozen=True)
class StoredFile:
    """A checked file in the store that no row may point at yet; ``created``: this request wrote it."""

    sha256: str
    filename: str
    content_type: str
    size: int
    created: bool = False


def add_attachment(case: Case, stream: IO[bytes], filename: str | None, actor: Any, source: str = "upload",
                   field: str = "file") -> Attachment:
    """Check and store one uploaded file for ``case``; field errors name ``field``."""
    _check_room(case, 1, field)
    return add_stored(case, store_file(stream, filename, field), actor, source)


def _check_room(case: Case, adding: int, field: str) -> None:
    most = _settings().ATTACHMENT_MAX_PER_CASE
    count = session.scalar(select(func.count()).select_from(Attachment).where(Attachment.case_id == case.id)) or 0
    if count + adding > most:
        raise ValidationFailed("too many attachments", errors={field: [
            f"每个案件最多 {most} 个附件 / at most {most} files per case"]})


def store_file(stream: IO[bytes], filename: str | None, field: str = "file", photo: bool = False) -> StoredFile:
    """Check one upload by its bytes (type, size) and put it in the store; no row yet.

    ``photo``: only the photo types pass (a step form's photo field). Field errors name ``field``;
    a refused file is not kept."""
    settings = _settings()
    tmp, size, digest, head = _spool(stream, settings.ATTACHMENT_MAX_BYTES, field)
    created = False
    try:
        kind = filetype.guess(head)
        mime = kind.mime if kind is not None else None
        if photo and mime not in PHOTO_TYPES:
            raise ValidationFailed("not a photo", errors={field: [
                "只能上传照片（JPEG、PNG、WebP、GIF、HEIC） / only photos (JPEG, PNG, WebP, GIF, HEIC)"]})
        if mime not in ALLOWED_TYPES:
            raise ValidationFailed("file type not allowed", errors={field: [
                "只能上传照片（JPEG、PNG、WebP、GIF、HEIC）、PDF、音频或视频 / "
                "only photos (JPEG, PNG, WebP, GIF, HEIC), PDF, audio or video files"]})
        target = path_of(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
            created = True
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return StoredFile(digest, clean_filename(filename, ALLOWED_TYPES[mime]), mime, size, created)


def add_stored(case: Case, stored: StoredFile, actor: Any, source: str = "upload", task: Any = None,
               field: str | None = None, tag: str | None = None) -> Attachment:
    """The row of a stored file: an attachment of ``case`` (a step's photo with ``task``/``field``/``tag``)."""
    attachment = Attachment(case_id=case.id, filename=stored.filename, content_type=stored.content_type,
                            size=stored.size, sha256=stored.sha256, uploaded_by_id=getattr(actor, "id", None),
                            source=source, task_id=getattr(task, "id", None), field=field, tag=tag,
                            created_at=utcnow())
    session.add(attachment)
    session.flush()
    step = {"task_id": task.id, "field": field, "tag": tag} if task is not None else {}
    record("attachment_added", actor=actor, case_id=case.id, attachment=attachment.id, filename=attachment.filename,
           content_type=stored.content_type, size=stored.size, source=source, **step)
    return attachment


def discard(files: Iterable[StoredFile]) -> None:
    """Remove files this request wrote and no row points at (the request failed after storing them)."""
    for stored in files:
        if not stored.created:
            continue
        if session.scalar(select(func.count()).select_from(Attachment).where(Attachment.sha256 == stored.sha256)):
            continue
        path_of(stored.sha256).unlink(missing_ok=True)


def attach_step_photos(case: Case, task: Any, actor: Any, schema: Mapping[str, Any], data: dict[str, Any],
                       uploads: Mapping[str, Sequence[StoredFile]] | None = None) -> dict[str, list[str]]:
    """Tie the photos of a step form to (case, task, field, tag), within the completing transaction.

    A photo field of ``data`` names photos uploaded to the case before (the API: the caller's own
    photos, not yet part of another step); ``uploads`` are the files sent with the form (the
    browser), which become rows here. Each field of ``data`` then lists all its photos' ids, and
    the form's ``minItems``/``maxItems`` check the count. Returns field errors: the caller
    refuses the form, and the rollback takes the rows with it."""
    errors: dict[str, list[str]] = {}
    uploads = uploads or {}
    fields = photo_fields(schema)
    for name in uploads:
        if name not in fields:
            errors[name] = ["表单中没有此照片字段 / this is not a photo field of the form"]
    for name, prop in fields.items():
        ids = data.get(name, [])
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            continue  # the form's validation names the wrong type
        if len(set(ids)) != len(ids):
            errors[name] = ["同一张照片只能选一次 / a photo is listed twice"]
            continue
        if len(ids) + len(uploads.get(name, ())) > MAX_PHOTOS_PER_REQUEST:
            errors[name] = [f"最多上传 {MAX_PHOTOS_PER_REQUEST} 张照片 / at most {MAX_PHOTOS_PER_REQUEST} photos"]
            continue
        rows = {a.id: a for a in session.scalars(select(Attachment).where(Attachment.id.in_(ids)))} if ids else {}
        wrong = [i for i in ids if not _may_use(rows.get(i), case, task, actor, name)]
        if wrong:
            errors[name] = [f"附件 {', '.join(map(str, wrong))} 不是您上传到本案件、尚未用于其他环节的照片 / "
                            f"attachment {', '.join(map(str, wrong))} is not a photo you uploaded to this case "
                            "for no other step"]
            continue
        if uploads.get(name):
            _check_room(case, len(uploads[name]), name)
        tag = prop.get("x-photo-tag")
        added = [add_stored(case, stored, actor, "task", task, name, tag) for stored in uploads.get(name, ())]
        for attachment in [rows[i] for i in ids] + added:
            attachment.task_id, attachment.field, attachment.tag = task.id, name, tag
        if ids or added:
            data[name] = ids + [a.id for a in added]
    session.flush()
    return errors


#: photos one field takes in a request, whatever its form says (the form's maxItems is checked after)
MAX_PHOTOS_PER_REQUEST = 50


def _may_use(attachment: Attachment | None, case: Case, task: Any, actor: Any, name: str) -> bool:
    """A photo the actor uploaded to this case, not yet tied to another step (or to this very field)."""
    if attachment is None or attachment.case_id != case.id or attachment.content_type not in PHOTO_TYPES:
        return False
    if attachment.uploaded_by_id != getattr(actor, "id", None):
        return False
    return attachment.task_id is None or (attachment.task_id == task.id and attachment.field == name)


def step_photos(case_id: int) -> list[Attachment]:
    """The case's step photos, by task and field."""
    return list(session.scalars(select(Attachment).where(Attachment.case_id == case_id, Attachment.task_id.is_not(None))
                                .order_by(Attachment.task_id, Attachment.id)))


def _spool(stream: IO[bytes], limit: int, field: str) -> tuple[str, int, str, bytes]:
    """Copy the upload to a temporary file in the store, hashing it; refuse it past ``limit`` bytes."""
    store_dir().mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=store_dir(), prefix=".upload-")
    sha, size, head = hashlib.sha256(), 0, b""
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ValidationFailed("file too large", errors={field: [
                        f"文件不能超过 {limit // (1024 * 1024) or 1} MB / the file is larger than {limit} bytes"]})
                if len(head) < 262:
                    head += chunk[:262 - len(head)]
                sha.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationFailed("empty file", errors={field: ["文件为空 / the file is empty"]})
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp, size, sha.hexdigest(), head


def case_attachments(case_id: int) -> list[Attachment]:
    return list(session.scalars(select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id)))


def garbage_collect() -> int:
    """Remove stored files no attachment row points at (left by failed requests); returns how many."""
    known = set(session.scalars(select(Attachment.sha256).distinct()))
    settled = time.time() - 3600  # a file younger than this may belong to a request still running
    removed = 0
    root = store_dir()
    if not root.is_dir():
        return 0
    for path in root.glob("*/*"):
        if path.is_file() and path.name not in known and path.stat().st_mtime < settled:
            path.unlink()
            removed += 1
    for path in root.glob(".upload-*"):
        if path.stat().st_mtime >= settled:
            continue
        path.unlink()
        removed += 1
    return removed
