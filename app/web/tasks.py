"""A task's page (its form, completed by POST), claiming or releasing a task, and the 督办
actions on it: extension and return requests and escalation (吹哨) for those who work on it;
reassigning, urging, returning and escalating for the supervisors over its unit."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from app.attachments.operations import discard
from app.cases.models import Case
from app.core.auth import Principal, web_principal
from app.core.db import session as db
from app.core.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from app.core.i18n import get_locale, gettext as _
from app.engine import host
from app.forms.schema import coerce_form, initial_values, validate
from app.orgs.models import User
from app.supervision.operations import escalate_task, reassign_task, request_extension, return_task, urge_task
from app.supervision.queries import ReassignOptions, reassign_options
from app.tasks.models import Task
from app.duplicates.queries import merged_cases
from app.orgs.directory import directory
from app.tasks.operations import claim_task, complete_task, task_form, unclaim_task
from app.tasks.operations import proposal as task_proposal
from app.tasks.queries import can_claim, can_view_case
from app.web.cases.duplicates import duplicate_panel
from app.web.forms import form_errors, form_fields, html_values, mark_proposals, posted_values
from app.web.helpers import (ActionState, current_principal, engine_incident_message, get_or_404, limit_text,
                             localize_message, login_required, posted, safe_next)
from app.web.labels import label
from app.web.queries import case_definitions, pending_task_requests, task_documentation, task_title
from app.web.timeline import submitted_steps
from app.web.step_photos import held_values, received_photos

bp = Blueprint("tasks", __name__)

#: department types of rules/dispatch_proposal.dmn, as the proposal panel names them
DEPARTMENT_TYPES = {"sz": ("市政", "Municipal works"), "jt": ("交通", "Transport"), "hw": ("环卫", "Sanitation"),
                    "yl": ("园林绿化", "Parks and greening"), "cg": ("城管执法", "City management enforcement"),
                    "zj": ("住建", "Housing and construction"), "zh": ("综合", "General")}


def _panels(task: Task, case: Case, principal: Any, is_open: bool) -> dict[str, Any]:
    """What the task's form asks to show beside it (data in forms/*.json, not code): ``x-panels``
    (``duplicates`` — decide on duplicates while filing; ``reporters`` — every reporter of the case
    and of the cases merged into it, for the call-back) and ``x-proposal`` (the rules' proposal)."""
    schema = task_form(task, get_locale())
    panels = schema.get("x-panels") or []
    out: dict[str, Any] = {"duplicates": None, "proposal": None, "reporters": None, "proposed": {}}
    if not is_open:
        return out
    if "duplicates" in panels:
        out["duplicates"] = duplicate_panel(principal, case)
    if "reporters" in panels:
        out["reporters"] = merged_cases(case.id)
    if schema.get("x-proposal"):
        try:
            proposal = task_proposal(task, schema)
        except (LookupError, host.EngineError):
            proposal = {}
        out["proposal"] = _proposal_rows(proposal) or None
        out["proposed"] = proposal
    return out


def _proposal_rows(proposal: dict[str, Any]) -> list[tuple[str, str]]:
    en = get_locale() == "en"
    units = directory().by_code
    rows = []
    for key, value in proposal.items():
        if value in (None, ""):
            continue
        if key == "proposed_lead":
            unit = units.get(value)
            rows.append((_("建议主办单位"), ((unit.name_en or unit.name) if en else unit.name) if unit else str(value)))
        elif key == "proposed_department":
            names = DEPARTMENT_TYPES.get(value)
            rows.append((_("建议部门类型"), (names[1] if en else names[0]) if names else str(value)))
        elif key == "time_limit":
            rows.append((_("建议办理时限"), limit_text(str(value))))
        elif key == "legal_basis":
            rows.append((_("处置依据"), str(value)))
        elif key == "tier":
            rows.append((_("层级"), label("tier", str(value))))
        else:
            rows.append((key, str(value)))
    return rows



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


@bp.route("/tasks/<id:task_id>", methods=["GET", "POST"])
@login_required
def show(task_id: int) -> Any:
    principal = current_principal()
    task, case = _load(task_id)
    _check_view(principal, task, case)
    if task.state != "open":
        flash(_closed_message(task), "info")
        return redirect(url_for("cases.show", case_id=case.id))
    if request.method == "GET":
        return render_task_page(task, case)

    locale = get_locale()
    schema = task_form(task, locale)
    fields = form_fields(schema)
    values = posted_values(fields, request.form)
    if task.claimed_by_id != principal.id:
        message = (_("请先签收任务，再提交") if task.claimed_by_id is None
                   else _("任务已被 {name} 签收", name=task.claimed_by.display_name if task.claimed_by else "?"))
        return _render(task, case, fields, values, {}, message, 409)
    data, coerce_errors = coerce_form(schema, request.form, locale)
    photos, photo_errors = received_photos(task, principal, schema)  # checked and stored; rows come with the completion
    if coerce_errors or photo_errors:
        counted = {name: [0] * len(files) for name, files in photos.items()}  # the photos' count is checked, too
        errors = {**validate(schema, {**data, **counted}, locale), **coerce_errors, **photo_errors}
        values.update(held_values(task, principal, photos))
        return _render(task, case, fields, values, errors, _("表单有误，请检查标出的字段"), 422)
    try:
        result = complete_task(task, principal, data, locale, photos=photos)
    except ValidationFailed as exc:
        db.rollback()  # no photo row is kept; the re-shown form holds the photos
        values.update(held_values(task, principal, photos))
        return _render(task, case, fields, values, exc.errors or {}, _("表单有误，请检查标出的字段"), 422)
    except AppError as exc:
        db.rollback()
        discard(f for files in photos.values() for f in files)
        return _render(task, case, fields, values, {}, localize_message(exc.message), exc.status)
    flash(_("已提交：{task}", task=task_title(task.name, _definition(case), task.bpmn_id)), "success")
    if result.has_incident:
        flash(_("提交已保存，但流程在后续环节出错，正在等待管理员处理（流程异常）。"), "warning")
    if can_view_case(principal, result):
        return redirect(url_for("cases.show", case_id=result.id))
    return redirect(url_for("inbox.index"))


def _definition(case: Case) -> Any:
    return case_definitions([case.id]).get(case.id)


def render_task_page(task: Task, case: Case, action: ActionState | None = None, status: int = 200) -> Any:
    """The task page with its form as the process fills it in (and a refused action form, if any)."""
    schema = task_form(task, get_locale())
    fields = form_fields(schema)
    try:
        process_data = host.workflow_data(case)
    except (LookupError, host.EngineError):
        process_data = {}
    values = html_values(fields, initial_values(schema, process_data))
    return _render(task, case, fields, values, {}, None, status, action)


def _accepts(case: Case, task: Task, signal: str) -> bool:
    """Whether the diagram catches ``signal`` at this task now (else the button is not offered)."""
    try:
        return host.accepts_signal(case, task, signal)
    except (LookupError, host.EngineError):
        return False


def _render(task: Task, case: Case, fields: list[Any], values: dict[str, Any], errors: dict[str, list[str]],
            message: str | None, status: int, action: ActionState | None = None) -> Any:
    principal = current_principal()
    definition = _definition(case)
    field_errors, general = form_errors(fields, errors)
    mine = task.claimed_by_id == principal.id
    is_open = task.state == "open"
    works_on = is_open and (mine or can_claim(principal, task))
    supervises = is_open and principal.covers("supervisor", task.unit_path)
    flow = works_on or supervises
    requests = pending_task_requests(task.id)
    waiting = {r.kind for r in requests}
    panels = _panels(task, case, principal, is_open)
    mark_proposals(fields, task_form(task, get_locale()), panels.pop("proposed"))
    return render_template(
        "task.html", task=task, case=case, fields=fields, values=values, errors=field_errors,
        general_errors=general, message=message, title=task_title(task.name, definition, task.bpmn_id),
        documentation=task_documentation(task, definition), mine=mine,
        claimable=task.claimed_by_id is None and can_claim(principal, task),
        works_on=works_on, supervises=supervises, requests=requests, action=action,
        can_escalate=flow and _accepts(case, task, "escalate"),
        # one request of a kind waits at a time; a supervisor's return is not a request
        can_return=flow and (supervises or "return" not in waiting) and _accepts(case, task, "return"),
        can_extend=is_open and mine and task.due_at is not None and "extension" not in waiting,
        earlier=submitted_steps(case, definition, before_task=task.id),
        reassign=_reassign_choices(principal, task, action) if supervises else None,
        **panels,
    ), status


def _reassign_choices(principal: Principal, task: Task, action: ActionState | None) -> ReassignOptions:
    """The 改派 pickers: people for the unit last chosen in the form (else the task's unit)."""
    wanted = action.values.get("unit") if action is not None and action.for_form("reassign") else None
    try:
        return reassign_options(principal, task, wanted or None, get_locale())
    except (NotFound, Forbidden):  # the form shows why; the pickers start again from the task's unit
        return reassign_options(principal, task, None, get_locale())


def _back(default: str) -> str:
    return safe_next(request.form.get("next")) or default


@bp.post("/tasks/<id:task_id>/claim")
@login_required
def claim(task_id: int) -> Any:
    """签收. One claims a task to work on it: done, the task's page opens (unless the form names
    a ``next``); refused (someone was quicker), back where the user was (``back``, else ``next``,
    else the 可签收 list) with the reason."""
    principal = current_principal()
    task, case = _load(task_id)
    if task.state == "open" and task.claimed_by_id is None and not can_claim(principal, task):
        raise Forbidden(_("您没有签收此任务的角色或单位权限"))
    then = safe_next(request.form.get("next"))
    try:
        claim_task(task, principal)
    except Conflict as exc:
        db.rollback()
        flash(localize_message(exc.message), "error")
        return redirect(safe_next(request.form.get("back")) or then or url_for("inbox.index", tab="claimable"))
    flash(_("已签收：{case} {task}", case=case.number, task=task_title(task.name, _definition(case), task.bpmn_id)),
          "success")
    return redirect(then or url_for("tasks.show", task_id=task.id))


@bp.post("/tasks/<id:task_id>/unclaim")
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


# ---------------------------------------------------------------------------- 督办 actions on a task

def _after_action(principal: Principal, task: Task, case: Case) -> str:
    """Where a successful action leads: ``next``, else the task while it is open, else its case."""
    target = safe_next(request.form.get("next"))
    if target:
        return target
    if db.scalar(select(Task.state).where(Task.id == task.id)) == "open":
        return url_for("tasks.show", task_id=task.id)
    if can_view_case(principal, case):
        return url_for("cases.show", case_id=case.id)
    return url_for("inbox.index")


def _task_action(task_id: int, key: str, inputs: tuple[str, ...],
                 act: Callable[[Principal, Task, Case, dict[str, str]], str],
                 aliases: dict[str, str] | None = None) -> Any:
    """Run one action form: flash and redirect when done; show the form again with its messages
    when refused (422, nothing stored); a conflict (task ended meanwhile...) is flashed."""
    principal = current_principal()
    task, case = _load(task_id)
    _check_view(principal, task, case)
    values = posted(*inputs)
    try:
        done = act(principal, task, case, values)
    except ValidationFailed as exc:
        db.rollback()
        state = ActionState.from_error(key, values, exc, inputs, aliases)
        if request.args.get("origin") == "console":
            from app.web.supervision import render_console
            return render_console(state, 422)
        return render_task_page(task, case, state, 422)
    except Conflict as exc:
        db.rollback()
        flash(localize_message(exc.message), "error")
        return redirect(safe_next(request.form.get("next")) or url_for("tasks.show", task_id=task.id))
    except host.EngineIncidentError:
        # the process failed on this step: the incident is kept (this request commits) for an admin
        flash(engine_incident_message(), "warning")
        return redirect(_after_action(principal, task, case))
    flash(done, "success")
    return redirect(_after_action(principal, task, case))


def _whole_number(text: str, name: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise ValidationFailed(_("表单有误，请检查标出的字段"),
                               errors={name: [_("请填写正整数")]}) from None
    return number


@bp.post("/tasks/<id:task_id>/extension")
@login_required
def extension(task_id: int) -> Any:
    def act(principal: Principal, task: Task, case: Case, values: dict[str, str]) -> str:
        amount = _whole_number(values["amount"], "amount")
        per = "hours" if values["per"] == "hours" else "days"
        req = request_extension(task, principal, values["reason"], **{per: amount})
        return _("已提交延期申请（{amount}），等待督办员审批", amount=limit_text(req.amount))
    return _task_action(task_id, "extension", ("amount", "per", "reason"), act, {"hours": "amount", "days": "amount"})


@bp.post("/tasks/<id:task_id>/return")
@login_required
def return_(task_id: int) -> Any:
    def act(principal: Principal, task: Task, case: Case, values: dict[str, str]) -> str:
        status, _request = return_task(task, principal, values["reason"])
        if status == "returned":
            return _("已退单，案件退回派遣环节")
        return _("已提交退单申请，等待督办员审批")
    return _task_action(task_id, "return", ("reason",), act)


@bp.post("/tasks/<id:task_id>/escalate")
@login_required
def escalate(task_id: int) -> Any:
    def act(principal: Principal, task: Task, case: Case, values: dict[str, str]) -> str:
        escalated = escalate_task(task, principal, values["reason"])
        db.refresh(escalated)
        return _("已上报，案件转到{tier}", tier=label("tier", escalated.tier))
    return _task_action(task_id, "escalate", ("reason",), act)


@bp.get("/tasks/<id:task_id>/reassign-options")
def reassign_options_json(task_id: int) -> Any:
    """The 改派 pickers' JSON for the page's script (the same answer as the API's), by session."""
    principal = web_principal()
    if principal is None:
        return jsonify({"error": "unauthorized", "message": "请先登录 / log in first"}), 401
    try:
        task, case = _load(task_id)
        _check_view(principal, task, case)
        options = reassign_options(principal, task, request.args.get("unit") or None, get_locale())
    except AppError as exc:
        return jsonify(exc.to_dict()), exc.status
    return jsonify(options.as_dict())


@bp.post("/tasks/<id:task_id>/reassign")
@login_required
def reassign(task_id: int) -> Any:
    if request.form.get("pick"):  # without script: list the people of the chosen unit, change nothing
        return _pick_reassign_unit(task_id)

    def act(principal: Principal, task: Task, case: Case, values: dict[str, str]) -> str:
        user = db.scalar(select(User).where(User.username == values["user"])) if values["user"] else None
        if values["user"] and user is None:
            unknown = {"user": [_("没有用户名为 {name} 的用户", name=values["user"])]}
            try:  # with neither user nor unit the operation refuses without changing anything: its reason check
                reassign_task(task, principal, values["reason"])
            except ValidationFailed as exc:
                raise ValidationFailed(exc.message, errors={**(exc.errors or {}), **unknown}) from None
        reassign_task(task, principal, values["reason"], user=user, unit_code=values["unit"] or None)
        return _("已改派：{task}", task=task_title(task.name, _definition(case), task.bpmn_id))
    return _task_action(task_id, "reassign", ("user", "unit", "reason"), act)


def _pick_reassign_unit(task_id: int) -> Any:
    principal = current_principal()
    task, case = _load(task_id)
    _check_view(principal, task, case)
    if task.state != "open":
        flash(_closed_message(task), "info")
        return redirect(url_for("cases.show", case_id=case.id))
    if not principal.covers("supervisor", task.unit_path):
        raise Forbidden(_("您不是该单位的督办员"))
    inputs = ("user", "unit", "reason")
    values = posted(*inputs)
    try:
        reassign_options(principal, task, values["unit"] or None, get_locale())
    except (NotFound, Forbidden) as exc:  # a unit not offered: said on the field
        return render_task_page(task, case, ActionState.from_error("reassign", values, exc, inputs), exc.status)
    return render_task_page(task, case, ActionState("reassign", values))


@bp.post("/tasks/<id:task_id>/urge")
@login_required
def urge(task_id: int) -> Any:
    def act(principal: Principal, task: Task, case: Case, values: dict[str, str]) -> str:
        urged = urge_task(task, principal, values["reason"])
        return _("已催办：{task}（第 {n} 次）", task=task_title(task.name, _definition(case), task.bpmn_id),
                 n=urged.urge_count)
    key = f"urge-{task_id}" if request.args.get("origin") == "console" else "urge"
    return _task_action(task_id, key, ("reason",), act)
