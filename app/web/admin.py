"""Administration: engine incidents (see what failed, retry or dismiss it) and the working calendar
(the holiday list that overrides the statutory calendar, and a deadline check)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.core import clock
from app.core.db import session as db
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import gettext as _
from app.engine import host
from app.engine.models import Incident
from app.sla.calendar import WorkingCalendar, format_periods, parse_limit, statutory_workday, statutory_years
from app.sla.models import DAY_KINDS, NOTE_MAX
from app.sla.operations import add_calendar_day, remove_calendar_day
from app.sla.service import current_calendar, listed_days
from app.web.helpers import current_principal, get_or_404, role_required
from app.web.queries import open_incidents

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/incidents")
@role_required("admin")
def incidents() -> Any:
    return render_template("admin/incidents.html", incidents=open_incidents())


@bp.post("/incidents/<id:incident_id>/retry")
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


@bp.post("/incidents/<id:incident_id>/dismiss")
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


# ---------------------------------------------------------------------------- working calendar

WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def _weekday(d: date) -> str:
    return _(WEEKDAYS[d.weekday()])


def _statutory_text(d: date) -> str:
    verdict = statutory_workday(d)
    if verdict is None:
        return _("无法定数据（按周一至周五）")
    return _("工作日") if verdict else _("休息日")


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _check_deadline(calendar: WorkingCalendar) -> tuple[dict[str, str], dict[str, list[str]], dict[str, Any] | None]:
    """The "check a deadline" form (GET, changes nothing): its values, field errors and result."""
    values = {"start": request.args.get("start", "").strip(), "limit": request.args.get("limit", "").strip()}
    if "start" not in request.args and "limit" not in request.args:
        return values, {}, None
    errors: dict[str, list[str]] = {}
    start: datetime | None = None
    try:
        start = datetime.fromisoformat(values["start"])
    except ValueError:
        errors["start"] = [_("请填写开始时间，例如 2026-09-30 16:30")]
    try:
        parse_limit(values["limit"])
    except ValueError:
        errors["limit"] = [_("时限写作 <N>h（工作小时）或 <N>d（工作日），例如 4h、3d")]
    if errors or start is None:
        return values, errors, None
    if start.tzinfo is None or start.utcoffset() is None:
        start = start.replace(tzinfo=calendar.zone)  # the form's time is the calendar's wall clock
    try:
        due = calendar.add(start, values["limit"]).astimezone(calendar.zone)
    except (OverflowError, ValueError):  # the deadline would fall after the year 9999
        return values, {"start": [_("请填写开始时间，例如 2026-09-30 16:30")]}, None
    return values, errors, {"start": start.astimezone(calendar.zone), "due": due, "weekday": _weekday(due.date()),
                            "minutes": calendar.limit_minutes(values["limit"])}


def _render_calendar(form: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None,
                     status: int = 200) -> Any:
    calendar = current_calendar()
    today = clock.now().astimezone(calendar.zone).date()
    days = [{"row": row, "weekday": _weekday(row.day), "statutory": _statutory_text(row.day),
             "past": row.day < today} for row in listed_days(today)]
    check_values, check_errors, check = _check_deadline(calendar)
    first, last = statutory_years()
    # deadlines reach into next year from autumn on: warn while the package has no data for it
    missing_years = [y for y in (today.year, today.year + 1) if y > last]
    return render_template(
        "admin/calendar.html", days=days, kinds=DAY_KINDS, note_max=NOTE_MAX,
        form=form or {"day": "", "kind": "holiday", "note": ""}, errors=errors or {},
        periods=format_periods(calendar.periods).replace(",", ", "), tz=calendar.tz,
        day_hours=calendar.day_length_minutes / 60, statutory_years=(first, last), missing_years=missing_years,
        check_values=check_values, check_errors=check_errors, check=check), status


@bp.get("/calendar")
@role_required("admin")
def calendar() -> Any:
    return _render_calendar()


@bp.post("/calendar/days")
@role_required("admin")
def calendar_add() -> Any:
    form = {key: request.form.get(key, "").strip() for key in ("day", "kind", "note")}
    day = _parse_day(form["day"])
    if day is None:
        return _render_calendar(form, {"day": [_("请填写日期，格式 2026-10-01")]}, 422)
    try:
        add_calendar_day(day, form["kind"], form["note"], current_principal().user)
    except ValidationFailed as exc:
        return _render_calendar(form, exc.errors or {}, 422)  # 4xx: the request rolls back
    flash(_("已将 {day} 设为{kind}", day=day.isoformat(), kind=_("工作日") if form["kind"] == "workday" else _("休息日")),
          "success")
    return redirect(url_for("admin.calendar"))


@bp.post("/calendar/days/<day>/remove")
@role_required("admin")
def calendar_remove(day: str) -> Any:
    parsed = _parse_day(day)
    if parsed is None:
        raise NotFound(_("日期格式不正确"))
    try:
        remove_calendar_day(parsed, current_principal().user)
    except ValidationFailed:
        db.rollback()
        flash(_("{day} 不在列表中，可能已被删除", day=parsed.isoformat()), "error")
    else:
        flash(_("已从列表中删除 {day}，该日恢复按法定日历计算", day=parsed.isoformat()), "success")
    return redirect(url_for("admin.calendar"))
