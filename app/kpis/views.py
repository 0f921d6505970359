"""The leader's KPI pages: the unit ranking (/kpis), the cases behind a figure (/kpis/cases), the
monthly evaluation report (/kpis/report/<unit>/<month>) and the stored reports (/kpis/reports).

Views are thin: read the period and the unit, check scope (app.kpis.service), render.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.cases.models import Case
from app.core.db import session
from app.core.errors import ValidationFailed
from app.core.i18n import get_locale, gettext as _
from app.kpis import service
from app.kpis.formulas import Formula
from app.kpis.models import KpiReport
from app.orgs.models import OrgUnit
from app.web.helpers import Pager, current_principal, page_arg, page_size, role_required

bp = Blueprint("kpis", __name__)


def _date(name: str) -> date | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def period_args() -> tuple[date, date, str]:
    """from/to (both valid, in order, ≤ 400 days), else ``period`` (default month) around ``date``."""
    start, end = _date("from"), _date("to")
    if start and end and start <= end and (end - start).days < service.MAX_DAYS:
        return start, end, "custom"
    period = request.args.get("period") if request.args.get("period") in service.PERIODS else "month"
    start, end = service.period_bounds(period, _date("date"))
    return start, end, period


@bp.get("/kpis")
@role_required(*service.ROLES)
def ranking() -> Any:
    principal = current_principal()
    start, end, period = period_args()
    locale = get_locale()
    within = service.visible_unit(principal, request.args.get("unit") or None)
    ranked = service.ranked_units(principal, start, end, locale, within)
    overall = service.unit_figures(within, start, end, locale)
    return render_template("kpis/ranking.html", ranked=ranked, overall=overall, unit=within, start=start, end=end,
                           period=period, periods=service.PERIODS, previous=service.previous_period(start, end))


@bp.get("/kpis/figures.json")
@role_required(*service.ROLES)
def figures_json() -> Any:
    """The KPIs of a unit for a period, for the cockpit's refresh (the shape of GET /api/v1/kpis)."""
    unit = service.visible_unit(current_principal(), request.args.get("unit") or None)
    start, end, _period = period_args()
    figs = service.unit_figures(unit, start, end, get_locale())
    return service.figures_dict(unit, start, end, figs, get_locale())


def cockpit_figures(unit: OrgUnit, period: str) -> dict[str, Any]:
    """The figures the cockpit partial (templates/cockpit/_kpis.html) draws first."""
    start, end = service.period_bounds(period)
    return service.figures_dict(unit, start, end, service.unit_figures(unit, start, end, get_locale()), get_locale())


@bp.app_context_processor
def _cockpit_helpers() -> dict[str, Any]:
    return {"kpi_cockpit_figures": cockpit_figures}


@bp.get("/kpis/ranking.<fmt>")
@role_required(*service.ROLES)
def ranking_export(fmt: str) -> Any:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    from app.kpis.exports import ranking_file
    principal = current_principal()
    start, end, _period = period_args()
    within = service.visible_unit(principal, request.args.get("unit") or None)
    return ranking_file(fmt, service.ranked_units(principal, start, end, get_locale(), within), start, end, principal,
                        get_locale())


def _drill_down() -> tuple[OrgUnit, Formula, str, date, date]:
    """The figure a drill-down asks for: unit (in scope), KPI (404 if unknown), part, period."""
    unit = service.visible_unit(current_principal(), request.args.get("unit") or None)
    f = service.formula(request.args.get("key") or "")
    if f is None:
        abort(404)
    part = "denominator" if request.args.get("part") == "denominator" else "numerator"
    start, end, _period = period_args()
    return unit, f, part, start, end


@bp.get("/kpis/cases")
@role_required(*service.ROLES)
def cases() -> Any:
    unit, f, part, start, end = _drill_down()
    ids = service.figure_cases(f, part, unit, start, end)
    page, per_page = page_arg(), page_size()
    pager = Pager(page, per_page, len(ids))
    shown = ids[(pager.page - 1) * per_page: pager.page * per_page]
    rows = list(session.scalars(select(Case).options(selectinload(Case.handling_unit)).where(Case.id.in_(shown))
                                .order_by(Case.id))) if shown else []
    [figure] = [x for x in service.unit_figures(unit, start, end, get_locale()) if x.key == f.key]
    return render_template("kpis/cases.html", rows=rows, pager=pager, formula=f, figure=figure, part=part, unit=unit,
                           start=start, end=end)


@bp.get("/kpis/cases.<fmt>")
@role_required(*service.ROLES)
def cases_export(fmt: str) -> Any:
    if fmt not in ("csv", "xlsx"):
        abort(404)
    from app.kpis.exports import cases_file
    unit, f, part, start, end = _drill_down()
    try:
        return cases_file(fmt, f, part, unit, start, end, service.figure_cases(f, part, unit, start, end),
                          current_principal(), get_locale())
    except ValidationFailed as exc:
        return render_template("error.html", status=422, body={"message": exc.message}), 422


def _month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        abort(404)


@bp.get("/kpis/report/<code>/<month>")
@role_required(*service.ROLES)
def report(code: str, month: str) -> Any:
    """The monthly evaluation report of a unit: its KPIs against the targets, the month before,
    the ranking of the units below it; prints cleanly to PDF (print CSS)."""
    from app.kpis.reports import report_figures
    principal = current_principal()
    unit = service.visible_unit(principal, code)
    first = _month(month)
    stored = session.scalar(select(KpiReport).where(KpiReport.unit_id == unit.id, KpiReport.month == first.strftime("%Y-%m")))
    figures = json.loads(stored.figures) if stored is not None else report_figures(unit, first, get_locale())
    return render_template("kpis/report.html", unit=unit, month=first, figures=figures, stored=stored)


@bp.get("/kpis/reports")
@role_required(*service.ROLES)
def reports() -> Any:
    principal = current_principal()
    rows = session.execute(select(KpiReport, OrgUnit).join(OrgUnit, OrgUnit.id == KpiReport.unit_id)
                           .order_by(KpiReport.month.desc(), OrgUnit.path).limit(500)).all()
    visible = [(r, u) for r, u in rows if principal.covers(service.ROLES, u.path)]
    top = service.top_unit(principal)
    last_month = (service.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    return render_template("kpis/reports.html", reports=visible, top=top, last_month=last_month,
                           title=_("月度考核报告"))
