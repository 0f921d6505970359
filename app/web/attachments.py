"""Photos and files of a case in the browser: download for those who may see the case, upload on the case page."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, url_for

from app.attachments.models import Attachment
from app.attachments.views import send_attachment
from app.cases.models import Case
from app.core.db import session as db
from app.core.errors import Forbidden, ValidationFailed
from app.core.i18n import gettext as _
from app.tasks.queries import can_view_case
from app.web.cases.intake_form import attach_uploads, uploaded_files
from app.web.cases.page import render_case_page
from app.web.helpers import ActionState, current_principal, get_or_404, login_required

bp = Blueprint("attachments", __name__)

UPLOAD_FIELD = "file"


@bp.get("/attachments/<id:attachment_id>")
@login_required
def download(attachment_id: int) -> Any:
    """A photo inline, any other file as a download; only for users who may see its case."""
    attachment = get_or_404(Attachment, attachment_id, _("找不到该附件"))
    case = get_or_404(Case, attachment.case_id, _("找不到该案件"))
    if not can_view_case(current_principal(), case):
        raise Forbidden(_("此案件不在您的单位范围内"))
    return send_attachment(attachment)


@bp.post("/cases/<id:case_id>/attachments")
@login_required
def upload(case_id: int) -> Any:
    """Anyone who may see a case may add photos or files to it (a handler's proof, a caller's letter)."""
    principal = current_principal()
    case = get_or_404(Case, case_id, _("找不到该案件"))
    if not can_view_case(principal, case):
        raise Forbidden(_("此案件不在您的单位范围内"))
    uploads = uploaded_files(UPLOAD_FIELD)
    if not uploads:
        state = ActionState("upload", {}, {UPLOAD_FIELD: [_("请选择要上传的文件")]})
        return render_case_page(case, state, 422)
    try:
        count = attach_uploads(case, uploads, principal, "upload", UPLOAD_FIELD)
    except ValidationFailed as exc:
        db.rollback()  # none of the files is kept
        return render_case_page(case, ActionState.from_error("upload", {}, exc, (UPLOAD_FIELD,)), 422)
    flash(_("已上传 {n} 个附件", n=count), "success")
    return redirect(url_for("cases.show", case_id=case.id) + "#attachments-title")
