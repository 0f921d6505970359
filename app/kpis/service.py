"""What the API, the pages and the report share: who may see a unit's KPIs, periods, rankings."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from app.core.auth import Principal
from app.core.clock import now
from app.core.db import session
from app.core.errors import Forbidden, NotFound
from app.kpis.facts import local_day
from app.kpis.active import active_formulas
from app.kpis.formulas import Formula
from app.kpis.queries import Figure, case_ids, figures, previous_period, ranking
from app.orgs.models import OrgUnit

ROLES = ("leader", "supervisor", "admin")
PERIODS = ("day", "week", "month", "quarter", "year")
MAX_DAYS = 400  # a year and a bit: longer ranges are refused (422)


def today() -> date:
    return local_day(now())


def period_bounds(period: str, anchor: date | None = None) -> tuple[date, date]:
    """The calendar day/week (Mon–Sun)/month/quarter/year holding ``anchor`` (default today)."""
    d = anchor or today()
    if period == "day":
        return d, d
    if period == "week":
        start = d - timedelta(days=d.weekday())
        return start, start + timedelta(days=6)
    if period == "month":
        start = d.replace(day=1)
    elif period == "quarter":
        start = d.replace(month=(d.month - 1) // 3 * 3 + 1, day=1)
    else:
        start = d.replace(month=1, day=1)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    end = start
    for _ in range(months):
        end = (end.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, end - timedelta(days=1)


def top_unit(principal: Principal) -> OrgUnit | None:
    """The highest unit where the principal may see KPIs (the default of every KPI view)."""
    paths = sorted((g.unit_path for g in principal.grants if g.role in ROLES), key=len)
    if not paths:
        return None
    return session.scalar(select(OrgUnit).where(OrgUnit.path == paths[0]))


def visible_unit(principal: Principal, code: str | None) -> OrgUnit:
    """The unit asked for (default: the principal's top unit); 403 outside the principal's units."""
    if not any(g.role in ROLES for g in principal.grants):
        raise Forbidden("只有领导、督办员和管理员可以查看考核指标 / only leaders, supervisors and administrators see KPIs")
    unit = top_unit(principal) if not code else session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        raise NotFound(f"没有单位 {code} / no org unit {code!r}")
    if not principal.covers(ROLES, unit.path):
        raise Forbidden("您无权查看该单位的考核指标 / this unit is outside your units")
    return unit


def formula(key: str) -> Formula | None:
    return next((f for f in active_formulas() if f.key == key), None)


def unit_figures(unit: OrgUnit, start: date, end: date, locale: str) -> list[Figure]:
    return figures(active_formulas(), unit.path, start, end, session(), locale)


def figure_cases(f: Formula, part: str, unit: OrgUnit, start: date, end: date) -> list[int]:
    return case_ids(f, part, unit.path, start, end, session())


@dataclass
class RankedUnit:
    unit: OrgUnit
    figures: list[Figure]
    previous: list[Figure]


def ranked_units(principal: Principal, start: date, end: date, locale: str, within: OrgUnit | None = None) -> dict[str, list[RankedUnit]]:
    """Districts and departments the principal may see (under ``within``), with their KPIs now
    and in the previous period of the same length: ``{"districts": [...], "departments": [...]}``."""
    root = within or top_unit(principal)
    if root is None:
        return {"districts": [], "departments": []}
    lo, hi = root.path, root.path[:-1] + "0"
    units = list(session.scalars(select(OrgUnit).where(OrgUnit.path >= lo, OrgUnit.path < hi,
                                                       OrgUnit.kind.in_(("district", "department")))
                                 .order_by(OrgUnit.path)))
    units = [u for u in units if principal.covers(ROLES, u.path)]
    formulas = active_formulas()
    paths = [u.path for u in units]
    current = ranking(formulas, paths, start, end, session(), locale) if paths else {}
    p_start, p_end = previous_period(start, end)
    before = ranking(formulas, paths, p_start, p_end, session(), locale) if paths else {}
    out: dict[str, list[RankedUnit]] = {"districts": [], "departments": []}
    for u in units:
        out["districts" if u.kind == "district" else "departments"].append(RankedUnit(u, current[u.path], before[u.path]))
    return out


def figures_dict(unit: OrgUnit, start: date, end: date, figs: list[Figure], locale: str) -> dict[str, Any]:
    return {"unit": unit.code, "unit_name": unit.display_name(locale), "from": start.isoformat(),
            "to": end.isoformat(), "kpis": [f.as_dict() for f in figs]}


def trial(formula: Formula, principal: Principal, roles: tuple[str, ...], locale: str = "zh") -> \
        tuple[Any, date, date, Figure, Figure | None] | None:
    """A formula being edited, computed over last month for the widest unit of the caller's
    ``roles``, with the formula in force of the same key (None when it is new): (unit, start, end,
    edited, in force); None when the caller has no unit in those roles."""
    from app.orgs.directory import directory
    paths = sorted((lo for role in roles for _role, lo, _hi in principal.ranges(role)), key=len)
    unit = next((u for u in directory().by_id.values() if paths and u.path == paths[0]), None)
    if unit is None:
        return None
    start, end = period_bounds("month", period_bounds("month")[0] - timedelta(days=1))
    [edited] = figures([formula], unit.path, start, end, session(), locale)
    in_force = [f for f in active_formulas() if f.key == formula.key]
    current = figures(in_force, unit.path, start, end, session(), locale)[0] if in_force else None
    return unit, start, end, edited, current
