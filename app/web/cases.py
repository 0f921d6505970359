"""Work orders: the list, the intake form for operators, and the case page with its timeline."""
from __future__ import annotations

import copy
import json
import re
import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from app.cases.models import CASE_STATUSES, CHANNELS, TIERS, Case
from app.sla.deadlines import LIGHTS
from app.cases.operations import create_case
from app.core.db import session as db
from app.core.errors import Conflict, Forbidden, ValidationFailed
from app.core.i18n import get_locale, gettext as _
from app.engine import host
from app.forms.schema import coerce_form, initial_values, validate
from app.supervision.operations import park_case, unpark_case
from app.tasks.queries import can_claim, can_view_case, candidates, open_tasks
from app.web.forms import form_errors, form_fields, html_values, posted_values
from app.web.helpers import (ActionState, Pager, current_principal, engine_incident_message, get_or_404,
                             localize_message, login_required, page_arg, page_size, posted, role_required, safe_next)
from app.web.labels import STAGES
from app.web.queries import CASE_SORTS, case_definitions, case_list, communities, display_names, task_titles, timeline

bp = Blueprint("cases", __name__)

INTAKE_FORM = "case_intake.json"
_IDEM = re.compile(r"^[0-9a-f]{32}$")
_intake_cache: dict[str, Any] = {}


@bp.get("/cases")
@login_required
def index() -> Any:
    principal = current_principal()
    status = request.args.get("status") if request.args.get("status") in CASE_STATUSES else None
    channel = request.args.get("channel") if request.args.get("channel") in CHANNELS else None
    text = (request.args.get("q") or "").strip()[:100] or None
    light = request.args.get("light") if request.args.get("light") in LIGHTS else None
    tier = request.args.get("tier") if request.args.get("tier") in TIERS else None
    sort = request.args.get("sort") if request.args.get("sort") in CASE_SORTS else "-created"
    page, per_page = page_arg(), page_size()
    cases, total = case_list(principal, status, channel, text, page, per_page, light, tier, sort)
    return render_template("cases/list.html", cases=cases, pager=Pager(page, per_page, total),
                           status=status, channel=channel, q=text or "", statuses=CASE_STATUSES, channels=CHANNELS,
                           light=light, lights=LIGHTS, tier=tier, tiers=TIERS, sort=sort)


# ---------------------------------------------------------------------------- intake

def _intake_file() -> dict[str, Any]:
    """``forms/case_intake.json``, re-read when the file changes."""
    path = Path(current_app.config["SETTINGS"].FORMS_DIR) / INTAKE_FORM
    mtime = path.stat().st_mtime
    if _intake_cache.get("mtime") != mtime:
        _intake_cache.update(mtime=mtime, schema=json.loads(path.read_text(encoding="utf-8")))
    return _intake_cache["schema"]  # type: ignore[no-any-return]


def intake_schema() -> dict[str, Any]:
    """The standard work-order fields plus the community (grid) the problem is in."""
    schema = copy.deepcopy(_intake_file())
    units = communities()
    schema["properties"]["grid_unit"] = {
        "type": "string", "title": "所在网格", "x-title-en": "Grid (community)",
        "enum": [u.code for u in units], "x-enum-titles": [u.name for u in units],
        "x-enum-titles-en": [u.name_en or u.name for u in units],
        "description": "问题所在的社区。不选时按经纬度匹配最近的社区。",
        "x-description-en": "The community where the problem is; without one, the nearest to the coordinates is used.",
    }
    order = list(schema.get("x-order") or schema["properties"])
    if "grid_unit" not in order:
        order.insert(order.index("address") + 1 if "address" in order else len(order), "grid_unit")
    schema["x-order"] = order
    return schema


def _case_payload(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "channel": data["channel"], "title": data["title"], "description": data["description"],
        "address": data["address"], "lat": data.get("lat"), "lng": data.get("lng"),
        "category_code": data.get("category_code"), "urgency": data.get("urgency") or "normal",
        "grid_unit": data.get("grid_unit"),
        "reporter": {"name": data.get("reporter_name"), "phone": data.get("reporter_phone")},
    }


@bp.route("/cases/new", methods=["GET", "POST"])
@role_required("operator", "admin")
def new() -> Any:
    principal = current_principal()
    locale = get_locale()
    schema = intake_schema()
    fields = form_fields(schema)
    if request.method == "GET":
        values = html_values(fields, initial_values(schema, {}))
        return _render_new(fields, values, {}, None, uuid.uuid4().hex, 200)
    values = posted_values(fields, request.form)
    idem = request.form.get("idem", "")
    idem = idem if _IDEM.match(idem) else uuid.uuid4().hex
    data, coerce_errors = coerce_form(schema, request.form, locale)
    errors = {**validate(schema, data, locale), **coerce_errors}
    if errors:
        return _render_new(fields, values, errors, _("表单有误，请检查标出的字段"), idem, 422)
    try:
        case, created, _started = create_case(_case_payload(data), principal, idempotency_key=f"web:{idem}")
    except ValidationFailed as exc:
        return _render_new(fields, values, exc.errors or {}, _("表单有误，请检查标出的字段"), idem, 422)
    except host.NoProcessDeployed:
        return _render_new(fields, values, {}, _("尚未部署案件流程，请联系管理员"), idem, 503)
    if not created:
        flash(_("该工单已登记过：{number}", number=case.number), "info")
    else:
        flash(_("工单已登记：{number}", number=case.number), "success")
        if case.has_incident:
            flash(_("工单已保存，但流程启动出错，正在等待管理员处理（流程异常）。"), "warning")
    return redirect(url_for("cases.show", case_id=case.id))


def _render_new(fields: list[Any], values: dict[str, Any], errors: dict[str, list[str]], message: str | None,
                idem: str, status: int) -> Any:
    field_errors, general = form_errors(fields, errors)
    return render_template("cases/new.html", fields=fields, values=values, errors=field_errors,
                           general_errors=general, message=message, idem=idem), status


# ---------------------------------------------------------------------------- the case page

def _load_case(case_id: int) -> Case:
    case = get_or_404(Case, case_id, _("找不到该案件"))
    if not can_view_case(current_principal(), case):
        raise Forbidden(_("此案件不在您的单位范围内"))
    return case


@bp.get("/cases/<int:case_id>")
@login_required
def show(case_id: int) -> Any:
    return render_case_page(_load_case(case_id))


def render_case_page(case: Case, action: ActionState | None = None, status: int = 200) -> Any:
    principal = current_principal()
    definition = case_definitions([case.id]).get(case.id)
    tasks = open_tasks(case.id)
    who = candidates(tasks)
    names = display_names(u for users in who.values() for u in users)
    claimable = {t.id for t in tasks if t.claimed_by_id is None and can_claim(principal, t)}
    supervised = {t.id for t in tasks if principal.covers("supervisor", t.unit_path)}
    return render_template(
        "cases/show.html", case=case, tasks=tasks, task_names=task_titles(tasks), candidates=who, names=names,
        claimable=claimable, supervised=supervised, can_park=bool(supervised) and case.status == "open",
        steps=stepper(case), events=timeline(case, definition), action=action), status


# ---------------------------------------------------------------------------- parking (挂账)

def _park_action(case_id: int, key: str, operation: Any, done: str) -> Any:
    """Park or un-park: flash and go back when done; show the form again when refused (422)."""
    principal = current_principal()
    case = _load_case(case_id)
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


@bp.post("/cases/<int:case_id>/park")
@role_required("supervisor")
def park(case_id: int) -> Any:
    return _park_action(case_id, "park", park_case, _("已挂账：{number}，计时暂停"))


@bp.post("/cases/<int:case_id>/unpark")
@role_required("supervisor")
def unpark(case_id: int) -> Any:
    key = f"unpark-{case_id}" if request.args.get("origin") == "console" else "unpark"
    return _park_action(case_id, key, unpark_case, _("已取消挂账：{number}，恢复计时"))


def stepper(case: Case) -> list[dict[str, str]]:
    """The seven steps with a state each: done, current, todo (or skipped after a rejection)."""
    codes = [code for code, _zh in STAGES]
    if case.status == "closed":
        return [{"code": c, "name": n, "state": "done"} for c, n in STAGES]
    if case.status == "rejected":
        cut = codes.index("verify")
        return [{"code": c, "name": n, "state": "done" if i <= cut else "skipped"} for i, (c, n) in enumerate(STAGES)]
    current = codes.index(case.stage) if case.stage in codes else -1
    return [{"code": c, "name": n, "state": "done" if i < current else "current" if i == current else "todo"}
            for i, (c, n) in enumerate(STAGES)]

