"""Fixtures for the working calendar: an empty admin holiday list around each test that uses it.

The tests commit for real into the session's shared database, so a listed day would change the
deadlines of every later test; ``holiday_list`` empties the list before and after.
"""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import delete

from app.core.db import transaction
from app.sla.models import CalendarDay
from app.sla.service import invalidate_calendar


def clear_holiday_list(app: Flask) -> None:
    with app.app_context(), transaction() as s:
        s.execute(delete(CalendarDay))
    invalidate_calendar()


@pytest.fixture()
def holiday_list(app: Flask) -> Iterator[None]:
    clear_holiday_list(app)
    yield
    clear_holiday_list(app)
