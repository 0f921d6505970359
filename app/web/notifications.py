"""The user's notifications (urges, reminders, decisions...): the list, and marking them read."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.core.ids import parse_id
from app.core.i18n import gettext as _
from app.notifications.operations import mark_read
from app.notifications.queries import recent, unread_count
from app.web.helpers import current_principal, login_required, safe_next

bp = Blueprint("notifications", __name__)

RECENT = 100


@bp.get("/notifications")
@login_required
def index() -> Any:
    principal = current_principal()
    unread_only = request.args.get("unread") == "1"
    rows = recent(principal.id, limit=RECENT, unread_only=unread_only)
    return render_template("notifications.html", rows=rows, unread_only=unread_only,
                           unread=unread_count(principal.id))


@bp.post("/notifications/read")
@login_required
def read() -> Any:
    """Mark one notification (``id``) or all of the user's notifications read."""
    principal = current_principal()
    back = safe_next(request.form.get("next")) or url_for("notifications.index")
    ident = request.form.get("id")
    if ident is None:
        changed = mark_read(principal.id)
        flash(_("已将 {n} 条通知标为已读", n=changed), "success")
        return redirect(back)
    number = parse_id(ident)
    mark_read(principal.id, [number] if number is not None else [])  # only the user's own notifications are touched
    return redirect(back)
