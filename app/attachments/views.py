"""Sending a stored attachment: photos inline, everything else as a download, never sniffed or scripted."""
from __future__ import annotations

from typing import Any

from flask import send_file

from app.attachments.models import Attachment
from app.attachments.operations import INLINE_TYPES, path_of
from app.core.errors import NotFound


def send_attachment(attachment: Attachment) -> Any:
    path = path_of(attachment.sha256)
    if not path.is_file():
        raise NotFound(f"the file of attachment {attachment.id} is missing from the store")
    response = send_file(path, mimetype=attachment.content_type, download_name=attachment.filename,
                         as_attachment=attachment.content_type not in INLINE_TYPES, max_age=0, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response
