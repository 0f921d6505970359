"""The monthly evaluation report (月度考核报告) of a unit: generated on demand, and stored for the
city and every district by a scheduler job on the 1st of each month (app/scheduler.py), so the
figures a leader was shown for a month stay as they were published even as late call-backs or
reopened cases change the live figures afterwards."""
from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from app.core.clock import now
from app.core.db import session
from app.kpis import service
from app.kpis.active import active_formulas
from app.kpis.models import KpiReport
from app.kpis.queries import figures, previous_period, ranking
from app.orgs.models import OrgUnit

REPORTED_KINDS = ("city", "district")


def month_bounds(first: date) -> tuple[date, date]:
    end = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return first.replace(day=1), end


def report_figures(unit: OrgUnit, first: date, locale: str = "zh") -> dict[str, Any]:
    """What the report shows: the unit's KPIs for the month and the month before, and the KPIs of
    the districts and departments directly below it."""
    start, end = month_bounds(first)
    p_start, p_end = previous_period(start, end)
    formulas = active_formulas()
    below = list(session.scalars(select(OrgUnit).where(OrgUnit.parent_id == unit.id,
                                                       OrgUnit.kind.in_(("district", "department", "street")))
                                 .order_by(OrgUnit.path)))
    ranked = ranking(formulas, [u.path for u in below], start, end, session(), locale) if below else {}
    return {
        "unit": unit.code, "unit_name": unit.display_name(locale), "from": start.isoformat(), "to": end.isoformat(),
        "kpis": [f.as_dict() for f in figures(formulas, unit.path, start, end, session(), locale)],
        "previous": [f.as_dict() for f in figures(formulas, unit.path, p_start, p_end, session(), locale)],
        "below": [{"unit": u.code, "unit_name": u.display_name(locale), "kind": u.kind,
                   "kpis": [f.as_dict() for f in ranked[u.path]]} for u in below],
        "generated_at": now().isoformat(),
    }


def store_month(first: date) -> int:
    """Generate and store (or replace) the month's report of the city and every district."""
    month = first.strftime("%Y-%m")
    count = 0
    for unit in session.scalars(select(OrgUnit).where(OrgUnit.kind.in_(REPORTED_KINDS)).order_by(OrgUnit.path)):
        data = json.dumps(report_figures(unit, first, "zh"), ensure_ascii=False)
        row = session.scalar(select(KpiReport).where(KpiReport.unit_id == unit.id, KpiReport.month == month))
        if row is None:
            session.add(KpiReport(unit_id=unit.id, month=month, generated_at=now(), figures=data))
        else:
            row.figures, row.generated_at = data, now()
        count += 1
    session.flush()
    return count


def last_month() -> date:
    return (service.today().replace(day=1) - timedelta(days=1)).replace(day=1)
