"""Parking a case (挂账): the supervisor pauses and resumes its clock."""
from __future__ import annotations

from typing import Any

from flask import flash, redirect, request, url_for

from app.core.db import session as db
from app.core.errors import Conflict, ValidationFailed
from app.core.i18n import gettext as _
from app.engine import host
from app.supervision.operations import park_case, unpark_case
from app.web.helpers import (ActionState, current_principal, engine_incident_message, localize_message, posted, role_required, safe_next)

from app.web.cases import bp
from app.web.cases.page import load_case, render_case_page


# ---------------------------------------------------------------------------- parking (挂账)

def _park_action(case_id: int, key: str, operation: Any, done: str) -> Any:
    """Park or un-park: flash and go back when done; show the form again when refused (422)."""
    principal = current_principal()
    case = load_case(case_id)
    values = posted("reason")
    back = safe_next(request.form.get("next")) or url_for("cases.show", case_id=case.id)
    try:
        operation(case, principal, values["reason"])
    except ValidationFailed as exc:
        db.rollback()
        state = ActionState.from_error(key, values, exc, ("reason",))
        if request.args.get("origin") == "console":
            from app.web.supervision import render_console
            return render_console(state, 422)
        return render_case_page(case, state, 422)
    except Conflict as exc:
        db.rollback()
        flash(localize_message(exc.message), "error")
        return redirect(back)
    except host.EngineIncidentError:  # kept for an administrator: this request commits it
        flash(engine_incident_message(), "warning")
        return redirect(back)
    flash(done.format(number=case.number), "success")
    return redirect(back)


@bp.post("/cases/<id:case_id>/park")
@role_required("supervisor")
def park(case_id: int) -> Any:
    return _park_action(case_id, "park", park_case, _("已挂账：{number}，计时暂停"))


@bp.post("/cases/<id:case_id>/unpark")
@role_required("supervisor")
def unpark(case_id: int) -> Any:
    key = f"unpark-{case_id}" if request.args.get("origin") == "console" else "unpark"
    return _park_action(case_id, key, unpark_case, _("已取消挂账：{number}，恢复计时"))
