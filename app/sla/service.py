"""The product's working calendar: office hours from the settings, the imported State Council
notices and the admin holiday list (the layers are explained in :mod:`app.sla.calendar`).

:func:`current_calendar` is on the hot path (every task created computes its deadline), so the
calendar is built once and kept per application and process: a cached call is a dictionary
look-up and a clock read, with no database query. It is rebuilt

* immediately in this process after a transaction that changed the holiday list or a notice commits
  (operations call :func:`invalidate_calendar_after_commit`, which bumps a generation counter);
* after ``TTL`` seconds otherwise, so other processes (workers, the scheduler) pick up an
  admin's change within a minute.

The list and the notices are read in one query over a connection of their own, so the cache only
ever holds committed days, whatever the caller's session has pending.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask import Flask, current_app
from sqlalchemy import event, literal, select, union_all
from sqlalchemy.orm import Session

from app.config import Settings
from app.core.db import SessionFactory, session
from app.sla.calendar import WorkingCalendar
from app.sla.models import CalendarDay, HolidayNotice, HolidayNoticeDay

__all__ = [
    "TTL",
    "base_calendar",
    "current_calendar",
    "invalidate_calendar",
    "invalidate_calendar_after_commit",
    "listed_days",
    "missing_arrangements",
]

#: seconds a process keeps the holiday list before reading it again
TTL = 60.0

_EXTENSION = "tongguan_sla_calendar"
_CHANGED = "tongguan_calendar_changed"  # session.info flag: this transaction edited the list

_lock = threading.Lock()
_generation = 0  # bumped by invalidate_calendar(); a cached calendar of an older one is stale


@dataclass(frozen=True)
class _Cached:
    calendar: WorkingCalendar
    generation: int
    loaded_at: float


def base_calendar(settings: Settings) -> WorkingCalendar:
    """Office hours and zone of the settings, statutory days only (no admin list)."""
    return WorkingCalendar(periods=settings.work_periods, tz=settings.CALENDAR_TZ)


def current_calendar() -> WorkingCalendar:
    """The calendar deadlines are computed with: settings + statutory days + the admin list.

    Needs an application context (a request, a CLI command or the scheduler's own context).
    """
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    cached: _Cached | None = app.extensions.get(_EXTENSION)
    if cached is not None and cached.generation == _generation and time.monotonic() - cached.loaded_at < TTL:
        return cached.calendar
    with _lock:
        cached = app.extensions.get(_EXTENSION)
        generation = _generation  # read before loading: a change committed meanwhile forces a reload
        if cached is not None and cached.generation == generation and time.monotonic() - cached.loaded_at < TTL:
            return cached.calendar
        calendar = _load(app)
        app.extensions[_EXTENSION] = _Cached(calendar, generation, time.monotonic())
        return calendar


def _load(app: Flask) -> WorkingCalendar:
    settings: Settings = app.config["SETTINGS"]
    days = union_all(
        select(CalendarDay.day, CalendarDay.kind, literal(0).label("year")),
        select(HolidayNoticeDay.day, HolidayNoticeDay.kind, HolidayNotice.year)
        .join(HolidayNotice, HolidayNotice.id == HolidayNoticeDay.notice_id),
    )
    with app.extensions["db_engine"].connect() as conn:
        rows = conn.execute(days).all()
    return WorkingCalendar(
        periods=settings.work_periods,
        tz=settings.CALENDAR_TZ,
        extra_holidays=frozenset(day for day, kind, year in rows if not year and kind == "holiday"),
        extra_workdays=frozenset(day for day, kind, year in rows if not year and kind == "workday"),
        notice_holidays=frozenset(day for day, kind, year in rows if year and kind == "holiday"),
        notice_workdays=frozenset(day for day, kind, year in rows if year and kind == "workday"),
        notice_years=frozenset(year for _, _, year in rows if year),
    )


def missing_arrangements(today: date, calendar: WorkingCalendar) -> list[int]:
    """Years whose deadlines run on the computed law (no notice imported, no package data) and matter now.

    This year always; next year from November 1 on, when the State Council usually publishes it
    and deadlines start reaching into it.
    """
    years = [today.year, today.year + 1] if today.month >= 11 else [today.year]
    return [y for y in years if calendar.year_source(y) == "law"]


def invalidate_calendar() -> None:
    """Make every app in this process rebuild its calendar on the next :func:`current_calendar`."""
    global _generation
    with _lock:
        _generation += 1


def invalidate_calendar_after_commit() -> None:
    """Call after changing the holiday list: the calendar is rebuilt once the change is committed.

    Invalidating earlier would let another thread cache the list before the commit; after a
    rollback there is nothing to rebuild.
    """
    session().info[_CHANGED] = True


@event.listens_for(SessionFactory, "after_commit")
def _after_commit(s: Session) -> None:
    if s.info.pop(_CHANGED, False):
        invalidate_calendar()


@event.listens_for(SessionFactory, "after_rollback")
def _after_rollback(s: Session) -> None:
    s.info.pop(_CHANGED, None)


def listed_days(today: date) -> list[CalendarDay]:
    """The admin list as people read it: today and later in date order, then past days, latest first."""
    upcoming: Sequence[CalendarDay] = session.scalars(
        select(CalendarDay).where(CalendarDay.day >= today).order_by(CalendarDay.day)).all()
    past: Sequence[CalendarDay] = session.scalars(
        select(CalendarDay).where(CalendarDay.day < today).order_by(CalendarDay.day.desc())).all()
    return [*upcoming, *past]
