"""Storing photos and files of a case.

Files live in ``ATTACHMENT_DIR`` named by their SHA-256 (the same photo sent twice is stored
once), never in the workflow state or the database. The type is read from the bytes (``filetype``),
not from the name or the client's header; only photos, PDF and short audio/video pass. A file is
written before its row: if the request later fails, the row is rolled back and the orphan file is
harmless (``flask attachments gc`` removes such files).
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import IO, Any

import filetype
from flask import current_app
from sqlalchemy import func, select

from app.attachments.models import Attachment
from app.cases.models import Case
from app.core.audit import record
from app.core.db import session, utcnow
from app.core.errors import ValidationFailed

#: what may be attached: photos from phones and cameras, documents, voice and short videos
ALLOWED_TYPES = {
    "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif", "image/heic": "heic",
    "application/pdf": "pdf", "audio/mpeg": "mp3", "audio/amr": "amr", "audio/x-wav": "wav", "audio/mp4": "m4a",
    "video/mp4": "mp4", "video/quicktime": "mov",
}
INLINE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
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


def add_attachment(case: Case, stream: IO[bytes], filename: str | None, actor: Any, source: str = "upload",
                   field: str = "file") -> Attachment:
    """Check and store one uploaded file for ``case``; field errors name ``field``."""
    settings = _settings()
    count = session.scalar(select(func.count()).select_from(Attachment).where(Attachment.case_id == case.id)) or 0
    if count >= settings.ATTACHMENT_MAX_PER_CASE:
        raise ValidationFailed("too many attachments", errors={field: [
            f"每个案件最多 {settings.ATTACHMENT_MAX_PER_CASE} 个附件 / at most {settings.ATTACHMENT_MAX_PER_CASE} files per case"]})
    tmp, size, digest, head = _spool(stream, settings.ATTACHMENT_MAX_BYTES, field)
    try:
        kind = filetype.guess(head)
        mime = kind.mime if kind is not None else None
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
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    attachment = Attachment(case_id=case.id, filename=clean_filename(filename, ALLOWED_TYPES[mime]), content_type=mime,
                            size=size, sha256=digest, uploaded_by_id=getattr(actor, "id", None), source=source,
                            created_at=utcnow())
    session.add(attachment)
    session.flush()
    record("attachment_added", actor=actor, case_id=case.id, attachment=attachment.id, filename=attachment.filename,
           content_type=mime, size=size, source=source)
    return attachment


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
