"""The cockpit's figures for one unit and period, as plain data.

Two sources, neither a scan of the cases:

- arrivals (by channel, by category) and closures per day come from the roll-up
  ``cockpit_daily_counts`` (one indexed range per measure: unit, measure, days);
- the open set now (by light, by tier; escalated, parked, overdue) is counted on the open cases,
  read through the index on ``status`` (the open set is small: the cases of the last weeks).

Lights are those of the case list's ``light=`` filter (``app.sla.deadlines.light_condition``): a
parked case keeps the light it had when it was parked; open cases without a deadline count as
``none``. Overdue is the red light.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, literal_column, select, text

from app.cases.models import CHANNELS, ESCALATED_SQL, LOCAL_TZ, PARKED_SQL, TIERS, Case
from app.cockpit.models import CockpitDailyCount
from app.cockpit.scope import case_in_unit
from app.core.db import session
from app.orgs.directory import UnitInfo
from app.sla.deadlines import light_condition

PERIODS = ("today", "week", "month")
TREND_DAYS = 30
TOP_CATEGORIES = 10
CASES = Case.__table__
COUNTS = CockpitDailyCount.__table__
OPEN = literal_column("'open'")  # a literal, so that SQLite's planner matches the partial indexes


@dataclass(frozen=True)
class Period:
    name: str
    first: date  # local dates, inclusive
    last: date


def local_today(now: datetime) -> date:
    return now.astimezone(LOCAL_TZ).date()


def period_of(name: str, now: datetime) -> Period:
    """``today``; ``week``: since Monday; ``month``: since the 1st; each up to today (local)."""
    today = local_today(now)
    if name == "week":
        return Period(name, today - timedelta(days=today.weekday()), today)
    if name == "month":
        return Period(name, today.replace(day=1), today)
    if name != "today":
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    return Period(name, today, today)


def _by_key(unit_id: int, measure: str, first: date, last: date) -> dict[str, int]:
    rows = session.execute(select(COUNTS.c.key, func.sum(COUNTS.c.n)).where(
        COUNTS.c.unit_id == unit_id, COUNTS.c.measure == measure, COUNTS.c.day >= first, COUNTS.c.day <= last)
        .group_by(COUNTS.c.key))
    return {k: int(n) for k, n in rows if n}


def _by_day_and_key(unit_id: int, measures: tuple[str, ...], first: date, last: date) -> list[tuple[str, date, str, int]]:
    """(measure, day, key, n) of a few measures over a range: one read of the roll-up's primary key."""
    rows = session.execute(select(COUNTS.c.measure, COUNTS.c.day, COUNTS.c.key, COUNTS.c.n).where(
        COUNTS.c.unit_id == unit_id, COUNTS.c.measure.in_(measures), COUNTS.c.day >= first, COUNTS.c.day <= last))
    return [(m, d, k, int(n)) for m, d, k, n in rows if n]


def light_bucket(table: Any, now: datetime) -> Any:
    """SQL: an open case's light at ``now`` as the list's ``light=`` filter finds it, else ``none``."""
    return case((table.c.due_at.is_(None), "none"),
                (light_condition("red", table, now), "red"),
                (light_condition("yellow", table, now), "yellow"),
                (light_condition("green", table, now), "green"), else_="none")


def open_figures(unit: UnitInfo, now: datetime) -> dict[str, Any]:
    """Open cases of the unit now: total, by light, by tier, escalated, parked, overdue."""
    light = light_bucket(CASES, now)
    conditions = [CASES.c.status == OPEN]
    scope = case_in_unit(unit, CASES)
    if scope is not None:
        conditions.append(scope)
    rows = session.execute(select(CASES.c.tier, light.label("light"), func.count(),
                                  func.count(case((text(ESCALATED_SQL), 1))), func.count(case((text(PARKED_SQL), 1))))
                           .where(*conditions).group_by(CASES.c.tier, light)).all()
    by_light = {k: 0 for k in ("green", "yellow", "red", "none")}
    by_tier = {k: 0 for k in (*TIERS, "none")}
    total = escalated = parked = 0
    for tier, light_name, n, n_escalated, n_parked in rows:
        total += n
        escalated += n_escalated
        parked += n_parked
        by_light[light_name] += n
        by_tier[tier if tier in TIERS else "none"] += n
    return {"total": total, "by_light": by_light, "by_tier": by_tier, "escalated": escalated, "parked": parked,
            "overdue": by_light["red"]}


def figures(unit: UnitInfo, period_name: str, now: datetime) -> dict[str, Any]:
    """Everything the cockpit shows for ``unit`` over ``period_name`` at ``now`` (codes, not names)."""
    period = period_of(period_name, now)
    trend_first = period.last - timedelta(days=TREND_DAYS - 1)
    by_channel: dict[str, int] = {}
    closed = 0
    received_per_day: dict[date, int] = {}
    closed_per_day: dict[date, int] = {}
    # channels and closures of the trend and the period: a few hundred rows, one query
    for measure, day, key, n in _by_day_and_key(unit.id, ("channel", "closed"), min(trend_first, period.first),
                                                period.last):
        in_period = period.first <= day <= period.last
        if measure == "channel":
            received_per_day[day] = received_per_day.get(day, 0) + n
            if in_period:
                by_channel[key] = by_channel.get(key, 0) + n
        else:
            closed_per_day[day] = closed_per_day.get(day, 0) + n
            closed += n if in_period else 0
    by_category = _by_key(unit.id, "category", period.first, period.last)
    top = sorted(((k, n) for k, n in by_category.items() if k), key=lambda kn: (-kn[1], kn[0]))[:TOP_CATEGORIES]
    days = [trend_first + timedelta(days=i) for i in range(TREND_DAYS)]
    return {
        "unit": unit.code, "period": period.name, "from": period.first, "to": period.last, "as_of": now,
        "received": {"total": sum(by_channel.values()),
                     "by_channel": [{"key": c, "count": by_channel.get(c, 0)} for c in CHANNELS]
                     + [{"key": c, "count": n} for c, n in sorted(by_channel.items()) if c not in CHANNELS],
                     "unclassified": by_category.get("", 0)},
        "closed": closed,
        "open": open_figures(unit, now),
        "top_categories": [{"key": k, "count": n} for k, n in top],
        "trend": [{"day": d, "received": received_per_day.get(d, 0), "closed": closed_per_day.get(d, 0)} for d in days],
    }
