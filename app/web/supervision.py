"""The supervisor's console (督办台): open tasks by light, escalated and returned cases, requests
waiting for a decision and parked cases, with the actions on them. Only for supervisors; every
list is scoped to the units where the user holds the supervisor role (app.supervision.queries)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.cases.models import Case
from app.core.db import session as db
from app.core.errors import Conflict, NotFound, ValidationFailed
from app.core.i18n import gettext as _
from app.engine import host
from app.sla.deadlines import LIGHTS
from app.supervision import queries as sq
from app.supervision.models import TaskRequest
from app.supervision.operations import decide_request
from app.tasks.models import Task
from app.web.helpers import (ActionState, Pager, current_principal, engine_incident_message, get_or_404,
                             localize_message, page_arg, page_size, posted, role_required, safe_next)
from app.web.labels import label
from app.web.queries import task_titles, tasks_and_cases

bp = Blueprint("supervision", __name__)


def console_light() -> str | None:
    light = request.args.get("light")
    return light if light in LIGHTS else None


def render_console(action: ActionState | None = None, status: int = 200) -> Any:
    """The console for the current supervisor; ``light=`` and ``page=`` of the query string choose
    the task table (a refused action posted from here keeps them, and comes back with them)."""
    principal = current_principal()
    light = console_light()
    summary = sq.overview(principal)
    all_open = sq.count_tasks(principal)
    size = page_size()
    # each list of the console pages on its own; every page link keeps the other lists' pages
    counts = {"page": sq.count_tasks(principal, light) if light else all_open,
              "extension_page": summary.extension_requests, "return_page": summary.return_requests,
              "escalated_page": summary.escalated, "returned_page": summary.returned_waiting,
              "parked_page": summary.parked}
    pages = {name: Pager(page_arg(name), size, total, endpoint="supervision.index", param=name)
             for name, total in counts.items()}
    view: dict[str, Any] = {"light": light, **{name: pg.page if pg.page > 1 else None for name, pg in pages.items()}}
    for pg in pages.values():
        pg.args = view
    pager = pages["page"]
    rows = sq.tasks(principal, light, limit=size, offset=pager.offset)
    if action is not None and action.key.startswith("urge-"):
        rows = _with_refused_row(rows, int(action.key.removeprefix("urge-")))
    extensions = sq.pending_requests(principal, "extension", limit=size, offset=pages["extension_page"].offset)
    returns = sq.pending_requests(principal, "return", limit=size, offset=pages["return_page"].offset)
    request_tasks, request_cases = tasks_and_cases(r.task_id for r in extensions + returns)
    returned = sq.returned_waiting(principal, limit=size, offset=pages["returned_page"].offset)
    titles = task_titles([t for t, _c in rows] + [t for t, _c in returned] + list(request_tasks.values()))
    view = {k: v for k, v in view.items() if v is not None}  # kept by the forms posted from here
    return render_template(
        "supervision/console.html", summary=summary, all_open=all_open, light=light, lights=LIGHTS, rows=rows,
        pager=pager, pages=pages, titles=titles, extensions=extensions, returns=returns, request_tasks=request_tasks,
        request_cases=request_cases,
        escalated=sq.escalated_cases(principal, limit=size, offset=pages["escalated_page"].offset), returned=returned,
        parked=sq.parked_cases(principal, limit=size, offset=pages["parked_page"].offset), action=action, view=view,
        here=url_for("supervision.index", **view)), status


@bp.get("/supervision")
@role_required("supervisor")
def index() -> Any:
    return render_console()


@bp.post("/supervision/requests/<id:request_id>/decide")
@role_required("supervisor")
def decide(request_id: int) -> Any:
    """Approve or refuse an extension or return request, with a reason (from the console or the task page)."""
    principal = current_principal()
    req = get_or_404(TaskRequest, request_id, _("找不到该申请"))
    key = f"decide-{req.id}"
    values = posted("decision", "reason")
    back = safe_next(request.form.get("next")) or url_for("supervision.index")
    try:
        if values["decision"] not in ("approve", "refuse"):
            raise ValidationFailed(_("表单有误，请检查标出的字段"), errors={"decision": [_("请选择批准或不批准")]})
        decide_request(req, principal, values["decision"] == "approve", values["reason"])
    except ValidationFailed as exc:
        db.rollback()
        state = ActionState.from_error(key, values, exc, ("decision", "reason"), {"approve": "decision"})
        return _rerender_for_request(req, state)
    except Conflict as exc:
        db.rollback()
        flash(localize_message(exc.message), "error")
        return redirect(back)
    except host.EngineIncidentError:  # kept for an administrator: this request commits it
        flash(engine_incident_message(), "warning")
        return redirect(back)
    verdict = _("已批准") if values["decision"] == "approve" else _("未批准")
    flash(_("{kind} #{id}：{verdict}", kind=label("request_kind", req.kind), id=req.id, verdict=verdict), "success")
    return redirect(back)


def _rerender_for_request(req: TaskRequest, state: ActionState) -> Any:
    if request.args.get("origin") == "task":
        from app.web.tasks import render_task_page
        task = db.get(Task, req.task_id)
        case = db.get(Case, req.case_id)
        if task is None or case is None:  # pragma: no cover - rows are never deleted
            raise NotFound(_("找不到该任务"))
        return render_task_page(task, case, state, 422)
    return render_console(state, 422)


def _with_refused_row(rows: list[tuple[Task, Case]], task_id: int) -> list[tuple[Task, Case]]:
    """The table shown again after a refused quick urge keeps that task's row (with its message),
    even when the list moved on and the task is on another page now."""
    if any(task.id == task_id for task, _case in rows):
        return rows
    found = db.execute(select(Task, Case).join(Case, Case.id == Task.case_id).where(Task.id == task_id)
                       .options(joinedload(Task.org_unit), joinedload(Task.claimed_by))).unique().first()
    return [(found[0], found[1]), *rows] if found is not None else rows
