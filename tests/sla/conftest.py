"""Fixtures for the working calendar: an empty admin holiday list and no imported notice around
each test that uses it.

The tests commit for real into the session's shared database, so a listed day or an imported
notice would change the deadlines of every later test; ``holiday_list`` empties both before and after.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import delete

from app.core.db import transaction
from app.sla.models import CalendarDay, HolidayNotice, HolidayNoticeDay
from app.sla.service import invalidate_calendar


def clear_holiday_list(app: Flask) -> None:
    with app.app_context(), transaction() as s:
        s.execute(delete(CalendarDay))
        s.execute(delete(HolidayNoticeDay))
        s.execute(delete(HolidayNotice))
    invalidate_calendar()


@pytest.fixture()
def holiday_list(app: Flask) -> Iterator[None]:
    clear_holiday_list(app)
    yield
    clear_holiday_list(app)
