"""Administration: engine incidents (see what failed; retry, repair, re-project or dismiss it) and the
working calendar (which years are covered by what, the State Council notice import, the holiday list
that overrides everything, and a deadline check)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.cases.models import Case
from app.core import clock
from app.core.auth import web_principal
from app.core.db import session as db
from app.core.errors import NotFound, ValidationFailed
from app.core.i18n import _l, gettext as _
from app.engine import host
from app.engine.models import Incident
from app.sla.calendar import DaySource, WorkingCalendar, format_periods, parse_limit, statutory_years
from app.sla.models import DAY_KINDS, NOTE_MAX, HolidayNotice
from app.sla.notice import MAX_BYTES, decode_notice
from app.sla.operations import (ROLES, NoticePreview, add_calendar_day, import_holiday_notice, preview_holiday_notice,
                                remove_calendar_day, remove_holiday_notice)
from app.sla.service import current_calendar, listed_days, missing_arrangements
from app.web.helpers import current_principal, get_or_404, role_required
from app.web.queries import open_incidents

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/incidents")
@role_required("admin")
def incidents() -> Any:
    rows = [(incident, case, host.incident_kind(incident)) for incident, case in open_incidents()]
    return render_template("admin/incidents.html", incidents=rows)


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


@bp.post("/incidents/<id:incident_id>/repair")
@role_required("admin")
def repair(incident_id: int) -> Any:
    """Retry the engine step of a stopped case (joins what was never joined, runs the engine)."""
    return _repair_action(incident_id, host.repair_case, _("已修复案件，流程继续流转（事件告警 #{id} 已处理）"))


@bp.post("/incidents/<id:incident_id>/reproject")
@role_required("admin")
def reproject(incident_id: int) -> Any:
    """Make the case's task rows agree with its workflow, without running the engine."""
    return _repair_action(incident_id, host.reproject_tasks, _("已按流程状态重新生成待办（事件告警 #{id} 已处理）"))


def _repair_action(incident_id: int, action: Any, done: str) -> Any:
    principal = current_principal()
    incident = get_or_404(Incident, incident_id, _("找不到该事件告警"))
    case = get_or_404(Case, incident.case_id, _("找不到该案件"))
    if incident.resolved_at is not None:
        flash(_("该事件告警已处理"), "error")
        return redirect(url_for("admin.incidents"))
    try:
        action(case, principal.user)
    except host.EngineIncidentError as exc:
        flash(_("修复时流程再次出错，已记录新的事件告警 #{id}：{error}", id=exc.incident.id, error=exc.incident.error), "error")
    except host.EngineError as exc:
        db.rollback()  # nothing of the attempt is kept: the incident stays open
        flash(_("无法修复：{error}", error=str(exc)), "error")
    else:
        flash(done.format(id=incident_id), "success")
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

WEEKDAYS = (_l("星期一"), _l("星期二"), _l("星期三"), _l("星期四"), _l("星期五"), _l("星期六"), _l("星期日"))


def _weekday(d: date) -> str:
    return str(WEEKDAYS[d.weekday()])


SOURCE_NAMES = {"notice": _l("国务院通知"), "package": "chinesecalendar", "law": _l("按法律推算，无调休"),
                "weekdays": _l("无数据，按周一至周五"), "admin": _l("单独调整")}


def _source_text(verdict: DaySource) -> str:
    """'休息日（国务院通知）', '工作日（chinesecalendar）', '休息日（按法律推算，无调休：春节补假）'."""
    kind = _("工作日") if verdict.workday else _("休息日")
    source = str(SOURCE_NAMES[verdict.source])
    if verdict.name:
        return _("{kind}（{source}：{name}）", kind=kind, source=source, name=verdict.name)
    return _("{kind}（{source}）", kind=kind, source=source)


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


def _years_shown(today: date, calendar: WorkingCalendar, notices: list[HolidayNotice]) -> list[dict[str, Any]]:
    """Last, this and next year, and any year with a notice: where its holidays come from."""
    years = sorted({today.year - 1, today.year, today.year + 1, *(n.year for n in notices)})
    by_year = {n.year: n for n in notices}
    return [{"year": y, "source": calendar.year_source(y), "notice": by_year.get(y)} for y in years]


def _import_form(today: date, calendar: WorkingCalendar) -> dict[str, str]:
    missing = missing_arrangements(today, calendar)
    return {"year": str(missing[-1] if missing else today.year + 1), "text": ""}


def _render_calendar(form: dict[str, str] | None = None, errors: dict[str, list[str]] | None = None,
                     status: int = 200) -> Any:
    calendar = current_calendar()
    today = clock.now().astimezone(calendar.zone).date()
    days = [{"row": row, "weekday": _weekday(row.day),
             "statutory": _source_text(calendar.day_source(row.day, with_extra_days=False)),
             "past": row.day < today} for row in listed_days(today)]
    check_values, check_errors, check = _check_deadline(calendar)
    notices = list(db.scalars(select(HolidayNotice).order_by(HolidayNotice.year)))
    return render_template(
        "admin/calendar.html", days=days, kinds=DAY_KINDS, note_max=NOTE_MAX,
        form=form or {"day": "", "kind": "holiday", "note": ""}, errors=errors or {},
        periods=format_periods(calendar.periods).replace(",", ", "), tz=calendar.tz,
        day_hours=calendar.day_length_minutes / 60, statutory_years=statutory_years(),
        missing_years=missing_arrangements(today, calendar), years=_years_shown(today, calendar, notices),
        import_form=_import_form(today, calendar), import_errors={}, max_kb=MAX_BYTES // 1024,
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


# ---------------------------------------------------------------------------- State Council notice

def _notice_input() -> tuple[dict[str, str], dict[str, list[str]], int | None, str]:
    """The import form: year, pasted text or an uploaded file (which wins), and the file's name."""
    form = {"year": request.form.get("year", "").strip(), "text": request.form.get("text", ""),
            "filename": request.form.get("filename", "").strip()[:200]}
    errors: dict[str, list[str]] = {}
    year: int | None = None
    try:
        year = int(form["year"])
    except ValueError:
        errors["year"] = [_("请填写年份，例如 2027")]
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        try:
            form["text"] = decode_notice(upload.read(MAX_BYTES + 1))
            form["filename"] = upload.filename[:200]
        except ValueError as exc:
            errors["file"] = [str(exc)]
    return form, errors, year, form["filename"]


def _render_preview(form: dict[str, str], preview: NoticePreview | None, errors: dict[str, list[str]],
                    status: int) -> Any:
    calendar = current_calendar()
    return render_template("admin/calendar_notice.html", form=form, preview=preview, errors=errors,
                           roles=ROLES, weekday=_weekday, max_kb=MAX_BYTES // 1024,
                           source=calendar.year_source(preview.year) if preview and preview.year else None), status


@bp.post("/calendar/notice/preview")
@role_required("admin")
def calendar_notice_preview() -> Any:
    """Read the notice and show what it would change; nothing is saved (the confirm form posts it again)."""
    form, errors, year, _filename = _notice_input()
    if errors or year is None:
        return _render_preview(form, None, errors, 422)
    preview = preview_holiday_notice(year, form["text"])
    return _render_preview(form, preview, preview.errors, 200 if preview.ok else 422)


@bp.post("/calendar/notice")
@role_required("admin")
def calendar_notice_import() -> Any:
    form, errors, year, filename = _notice_input()
    if errors or year is None:
        return _render_preview(form, None, errors, 422)
    preview = preview_holiday_notice(year, form["text"])
    if not preview.ok:  # 4xx: the request rolls back, nothing is half-imported
        return _render_preview(form, preview, preview.errors, 422)
    result = import_holiday_notice(year, form["text"], current_principal().user, filename)
    message = _("已导入 {year} 年放假通知：放假 {off} 天，调休上班 {work} 天", year=year,
                off=result.preview.count("holiday"), work=result.preview.count("workday"))
    if result.replaced:
        message += _("（替换了之前导入的通知）")
    flash(message, "success")
    return redirect(url_for("admin.calendar"))


@bp.post("/calendar/notice/<year:year>/remove")
@role_required("admin")
def calendar_notice_remove(year: int) -> Any:
    try:
        remove_holiday_notice(year, current_principal().user)
    except ValidationFailed:
        db.rollback()
        flash(_("{year} 年没有导入的通知，可能已被删除", year=year), "error")
    else:
        flash(_("已删除 {year} 年的放假通知，该年恢复按 chinesecalendar 或法律推算", year=year), "success")
    return redirect(url_for("admin.calendar"))


@bp.app_context_processor
def calendar_banner() -> dict[str, Any]:
    """Every page tells admins when a year that matters has no arrangement (see missing_arrangements).

    The calendar page says it in full itself; the calendar is cached, so this costs no query.
    """
    try:
        principal = g.principal if "principal" in g else web_principal()
    except SQLAlchemyError:  # an error page must render even when the database failed
        db.rollback()
        return {"calendar_banner": []}
    if principal is None or not principal.has_role("admin") or (request.endpoint or "").startswith("admin.calendar"):
        return {"calendar_banner": []}
    try:
        calendar = current_calendar()
    except SQLAlchemyError:
        db.rollback()
        return {"calendar_banner": []}
    return {"calendar_banner": missing_arrangements(clock.now().astimezone(calendar.zone).date(), calendar)}
