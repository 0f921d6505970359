"""Task deadlines and their red/yellow/green lights.

A task with a limit gets two moments, both in working time of the product's calendar:
``yellow_at`` (a configurable share of the limit used, default 80 %) and ``due_at`` (the limit
used up). The light is then a comparison with now, so lists filter and sort by light in SQL with
plain indexed columns:

* green  — now < yellow_at
* yellow — yellow_at <= now < due_at
* red    — due_at <= now

While a case is parked (挂账) its tasks' clocks stand: ``paused_at`` is set and the light is the
one it had at that moment. Tasks without a limit have no light.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import and_, func

from app.sla.calendar import DEFAULT_CALENDAR, WorkingCalendar

LIGHTS = ("green", "yellow", "red")
DEFAULT_YELLOW_SHARE = 0.8


@dataclass(frozen=True)
class Timing:
    """When a task's clock started (None: not yet signed for) and when it turns yellow and red."""

    started_at: datetime | None
    yellow_at: datetime
    due_at: datetime


def calendar() -> WorkingCalendar:
    """The product's working calendar (settings + admin holiday list); the default outside an app."""
    if not has_app_context():
        return DEFAULT_CALENDAR
    from app.sla.service import current_calendar
    return current_calendar()


def yellow_share() -> float:
    if not has_app_context():
        return DEFAULT_YELLOW_SHARE
    return float(current_app.config["SETTINGS"].YELLOW_SHARE)


def timing(start: datetime, limit: str | int, started: bool = True) -> Timing:
    """Deadlines for a clock starting at ``start`` with ``limit`` ('4h', '3d' or working minutes)."""
    cal = calendar()
    minutes = cal.limit_minutes(limit)
    return Timing(start if started else None, cal.add(start, math.ceil(minutes * yellow_share())), cal.add(start, minutes))


def extended(t: Timing, minutes: int) -> Timing:
    """Deadlines moved by an approved extension of ``minutes`` working minutes (yellow keeps its share)."""
    cal = calendar()
    return Timing(t.started_at, cal.add(t.yellow_at, math.ceil(minutes * yellow_share())), cal.add(t.due_at, minutes))


def resumed(t: Timing, paused_at: datetime, now: datetime) -> Timing:
    """Deadlines after a park from ``paused_at`` to ``now``: the working time left is kept."""
    cal = calendar()

    def shift(moment: datetime) -> datetime:
        if moment <= paused_at:
            return moment  # already passed when parked: stays passed
        return cal.add(now, cal.working_minutes_between(paused_at, moment))

    return Timing(t.started_at, shift(t.yellow_at), shift(t.due_at))


def light(yellow_at: datetime | None, due_at: datetime | None, now: datetime,
          paused_at: datetime | None = None) -> str | None:
    if due_at is None:
        return None
    at = paused_at or now
    if at >= due_at:
        return "red"
    if yellow_at is not None and at >= yellow_at:
        return "yellow"
    return "green"


def light_condition(name: str, table: Any, now: datetime) -> Any:
    """SQL condition selecting the rows of ``table`` (with yellow_at, due_at, paused_at) in light ``name``."""
    if name not in LIGHTS:
        raise ValueError(f"light must be one of {', '.join(LIGHTS)}")
    paused = table.c.paused_at if "paused_at" in table.c else table.c.parked_at
    at = func.coalesce(paused, now)
    if name == "red":
        return table.c.due_at <= at
    if name == "yellow":
        return and_(table.c.yellow_at <= at, table.c.due_at > at)
    return and_(table.c.due_at > at, table.c.yellow_at > at)
