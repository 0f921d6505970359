"""Engine incidents for administrators: see what failed in which case, retry it or dismiss it."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for

from app.core.db import session as db
from app.core.i18n import gettext as _
from app.engine import host
from app.engine.models import Incident
from app.web.helpers import current_principal, get_or_404, role_required
from app.web.queries import open_incidents

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/incidents")
@role_required("admin")
def incidents() -> Any:
    return render_template("admin/incidents.html", incidents=open_incidents())


@bp.post("/incidents/<int:incident_id>/retry")
@role_required("admin")
def retry(incident_id: int) -> Any:
    principal = current_principal()
    incident = get_or_404(Incident, incident_id, _("找不到该事件告警"))
    try:
        host.retry_incident(incident, principal.user)
    except host.EngineIncidentError as exc:
        # the retry failed again: keep the new incident (this request commits), tell the admin
        flash(_("重试再次失败，已记录新的事件告警 #{id}：{error}", id=exc.incident.id, error=exc.incident.error), "error")
    except host.EngineError as exc:
        db.rollback()
        flash(_("无法重试：{error}", error=str(exc)), "error")
    else:
        flash(_("已重试事件告警 #{id}，案件继续流转", id=incident_id), "success")
    return redirect(url_for("admin.incidents"))


@bp.post("/incidents/<int:incident_id>/dismiss")
@role_required("admin")
def dismiss(incident_id: int) -> Any:
    principal = current_principal()
    incident = get_or_404(Incident, incident_id, _("找不到该事件告警"))
    try:
        host.dismiss_incident(incident, principal.user)
    except host.EngineError as exc:
        db.rollback()
        flash(_("无法忽略：{error}", error=str(exc)), "error")
    else:
        flash(_("已忽略事件告警 #{id}，案件从最后的正常状态继续", id=incident_id), "success")
    return redirect(url_for("admin.incidents"))
