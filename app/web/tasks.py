"""A task's page (its form, completed by POST), and claiming or releasing a task."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.cases.models import Case
from app.core.auth import Principal
from app.core.db import session as db
from app.core.errors import AppError, Conflict, Forbidden, ValidationFailed
from app.core.i18n import get_locale, gettext as _
from app.engine import host
from app.forms.schema import coerce_form, initial_values, validate
from app.tasks.models import Task
from app.tasks.operations import claim_task, complete_task, task_form, unclaim_task
from app.tasks.queries import can_claim, can_view_case
from app.web.forms import form_errors, form_fields, html_values, posted_values
from app.web.helpers import current_principal, get_or_404, localize_message, login_required, safe_next
from app.web.queries import case_definitions, task_documentation, task_title

bp = Blueprint("tasks", __name__)


def _load(task_id: int) -> tuple[Task, Case]:
    task = get_or_404(Task, task_id, _("找不到该任务"))
    case = get_or_404(Case, task.case_id, _("找不到该案件"))
    return task, case


def _check_view(principal: Principal, task: Task, case: Case) -> None:
    if task.claimed_by_id == principal.id or can_claim(principal, task) or can_view_case(principal, case):
        return
    raise Forbidden(_("此任务不在您的角色和单位范围内"))


def _closed_message(task: Task) -> str:
    return _("该任务已完成") if task.state == "completed" else _("该任务已取消")


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@login_required
def show(task_id: int) -> Any:
    principal = current_principal()
    task, case = _load(task_id)
    _check_view(principal, task, case)
    if task.state != "open":
        flash(_closed_message(task), "info")
        return redirect(url_for("cases.show", case_id=case.id))
    locale = get_locale()
    schema = task_form(task, locale)
    fields = form_fields(schema)
    if request.method == "GET":
        try:
            process_data = host.workflow_data(case)
        except (LookupError, host.EngineError):
            process_data = {}
        values = html_values(fields, initial_values(schema, process_data))
        return _render(task, case, fields, values, {}, None, 200)

    values = posted_values(fields, request.form)
    if task.claimed_by_id != principal.id:
        message = (_("请先签收任务，再提交") if task.claimed_by_id is None
                   else _("任务已被 {name} 签收", name=task.claimed_by.display_name if task.claimed_by else "?"))
        return _render(task, case, fields, values, {}, message, 409)
    data, coerce_errors = coerce_form(schema, request.form, locale)
    if coerce_errors:
        errors = {**validate(schema, data, locale), **coerce_errors}
        return _render(task, case, fields, values, errors, _("表单有误，请检查标出的字段"), 422)
    try:
        result = complete_task(task, principal, data, locale)
    except ValidationFailed as exc:
        return _render(task, case, fields, values, exc.errors or {}, _("表单有误，请检查标出的字段"), 422)
    except AppError as exc:
        return _render(task, case, fields, values, {}, localize_message(exc.message), exc.status)
    flash(_("已提交：{task}", task=task_title(task.name, _definition(case), task.bpmn_id)), "success")
    if result.has_incident:
        flash(_("提交已保存，但流程在后续环节出错，正在等待管理员处理（流程异常）。"), "warning")
    if can_view_case(principal, result):
        return redirect(url_for("cases.show", case_id=result.id))
    return redirect(url_for("inbox.index"))


def _definition(case: Case) -> Any:
    return case_definitions([case.id]).get(case.id)


def _render(task: Task, case: Case, fields: list[Any], values: dict[str, Any], errors: dict[str, list[str]],
            message: str | None, status: int) -> Any:
    principal = current_principal()
    definition = _definition(case)
    field_errors, general = form_errors(fields, errors)
    return render_template(
        "task.html", task=task, case=case, fields=fields, values=values, errors=field_errors,
        general_errors=general, message=message, title=task_title(task.name, definition, task.bpmn_id),
        documentation=task_documentation(task, definition), mine=task.claimed_by_id == principal.id,
        claimable=task.claimed_by_id is None and can_claim(principal, task)), status


def _back(default: str) -> str:
    return safe_next(request.form.get("next")) or default


@bp.post("/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int) -> Any:
    principal = current_principal()
    task, case = _load(task_id)
    if task.state == "open" and task.claimed_by_id is None and not can_claim(principal, task):
        raise Forbidden(_("您没有签收此任务的角色或单位权限"))
    back = _back(url_for("inbox.index", tab="claimable"))
    try:
        claim_task(task, principal)
    except Conflict as exc:
        db.rollback()
        flash(localize_message(exc.message), "error")
        return redirect(back)
    flash(_("已签收：{case} {task}", case=case.number, task=task_title(task.name, _definition(case), task.bpmn_id)),
          "success")
    return redirect(back)


@bp.post("/tasks/<int:task_id>/unclaim")
@login_required
def unclaim(task_id: int) -> Any:
    principal = current_principal()
    task, case = _load(task_id)
    _check_view(principal, task, case)
    back = _back(url_for("inbox.index", tab="mine"))
    try:
        unclaim_task(task, principal)
    except Conflict as exc:
        db.rollback()
        flash(localize_message(exc.message) if task.state == "open" else _closed_message(task), "error")
        return redirect(back)
    flash(_("已退回签收：{case} {task}", case=case.number, task=task_title(task.name, _definition(case), task.bpmn_id)),
          "success")
    return redirect(back)
