"""current_calendar(): settings + statutory days + the admin list, cached, rebuilt on change."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import event, insert

from app import create_app
from app.core.db import transaction
from app.sla import service
from app.sla.models import CalendarDay
from app.sla.operations import add_calendar_day, remove_calendar_day
from app.sla.service import current_calendar, invalidate_calendar

SH = ZoneInfo("Asia/Shanghai")

pytestmark = pytest.mark.usefixtures("holiday_list")


def sh(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH)


def due(start: datetime, limit: str) -> datetime:
    return current_calendar().add(start, limit).astimezone(SH)


class QueryCounter:
    """Counts the SQL statements the app's engine runs while it is active."""

    def __init__(self, app: Flask) -> None:
        self.engine, self.count = app.extensions["db_engine"], 0

    def _count(self, *_args: Any) -> None:
        self.count += 1

    def __enter__(self) -> QueryCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def test_defaults_come_from_the_settings(app: Flask) -> None:
    with app.app_context():
        cal = current_calendar()
    assert cal.periods == ((time(9), time(12)), (time(13, 30), time(17, 30)))
    assert cal.tz == "Asia/Shanghai"
    assert cal.extra_holidays == frozenset() and cal.extra_workdays == frozenset()


def test_an_added_day_counts_at_once(app: Flask) -> None:
    with app.app_context():
        assert due(sh(2026, 9, 30, 16, 30), "10h") == sh(2026, 10, 9, 11, 0)
        before = current_calendar()
        with transaction():
            add_calendar_day(date(2026, 10, 8), "holiday", "test: extra day off")
        after = current_calendar()
        assert after is not before and after.extra_holidays == {date(2026, 10, 8)}
        assert due(sh(2026, 9, 30, 16, 30), "10h") == sh(2026, 10, 10, 11, 0)  # Fri 10-09, then make-up Sat
        with transaction():
            remove_calendar_day(date(2026, 10, 8))
        assert due(sh(2026, 9, 30, 16, 30), "10h") == sh(2026, 10, 9, 11, 0)


def test_admin_days_override_the_statutory_calendar(app: Flask) -> None:
    with app.app_context():
        with transaction():
            add_calendar_day(date(2026, 10, 10), "holiday", "make-up Saturday cancelled")
            add_calendar_day(date(2026, 10, 5), "workday", "holiday Monday worked")
        cal = current_calendar()
        assert not cal.is_workday(date(2026, 10, 10)) and cal.is_workday(date(2026, 10, 5))
        assert due(sh(2026, 10, 9, 17), "1h") == sh(2026, 10, 12, 9, 30)  # was Sat 10-10 09:30
        assert due(sh(2026, 10, 2, 10), "2h") == sh(2026, 10, 5, 11, 0)  # was Thu 10-08 11:00


def test_a_listed_day_overrides_the_law_of_a_year_without_data(app: Flask) -> None:
    with app.app_context():
        assert due(sh(2026, 12, 31, 16), "2d") == sh(2027, 1, 5, 16, 0)  # 元旦 2027 from the law
        with transaction():
            add_calendar_day(date(2027, 1, 1), "workday", "元旦值班")
        assert due(sh(2026, 12, 31, 16), "2d") == sh(2027, 1, 4, 16, 0)


def test_a_cached_calendar_costs_no_query(app: Flask) -> None:
    with app.app_context():
        first = current_calendar()
        with QueryCounter(app) as counter:
            for _ in range(200):
                assert current_calendar() is first
        assert counter.count == 0
        invalidate_calendar()
        with QueryCounter(app) as counter:
            rebuilt = current_calendar()
        assert counter.count == 1 and rebuilt is not first


def test_a_rolled_back_change_leaves_the_calendar_alone(app: Flask) -> None:
    with app.app_context():
        before = current_calendar()
        with pytest.raises(RuntimeError, match="abort"):
            with transaction():
                add_calendar_day(date(2026, 10, 8), "holiday")
                raise RuntimeError("abort")
        assert current_calendar() is before
        assert date(2026, 10, 8) not in current_calendar().extra_holidays


def test_changes_of_other_processes_arrive_after_the_ttl(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        before = current_calendar()
        # another process writes the list: no invalidation reaches this one
        with app.extensions["db_engine"].begin() as conn:
            conn.execute(insert(CalendarDay.__table__).values(day=date(2026, 10, 8), kind="holiday",
                                                              note="other process", created_at=sh(2026, 9, 1)))
        assert current_calendar() is before
        later = service.time.monotonic() + service.TTL + 1
        monkeypatch.setattr(service.time, "monotonic", lambda: later)
        assert current_calendar().extra_holidays == {date(2026, 10, 8)}


def test_works_in_an_app_context_without_a_request(app: Flask) -> None:
    """The scheduler computes deadlines in a thread of its own with only an app context."""
    with app.app_context(), transaction():
        add_calendar_day(date(2026, 10, 8), "holiday")
    results: list[Any] = []

    def job() -> None:
        with app.app_context():
            results.append(current_calendar().add(sh(2026, 9, 30, 16, 30), "10h").astimezone(SH))

    worker = threading.Thread(target=job)
    worker.start()
    worker.join(10)
    assert results == [sh(2026, 10, 10, 11, 0)]


@pytest.fixture()
def eight_hour_app(database_url: str) -> Iterator[Flask]:
    other = create_app({"ENV": "testing", "DATABASE_URL": database_url, "SECRET_KEY": "w" * 40,
                        "WORK_PERIODS": "08:00-12:00,14:00-18:00"})
    yield other
    other.extensions["db_engine"].dispose()


def test_each_app_uses_its_own_settings(app: Flask, eight_hour_app: Flask) -> None:
    with eight_hour_app.app_context():
        cal = current_calendar()
        assert cal.day_length_minutes == 480
        assert cal.add(sh(2026, 10, 9, 11), "2h").astimezone(SH) == sh(2026, 10, 9, 15, 0)
    with app.app_context():
        assert current_calendar().day_length_minutes == 420
        assert due(sh(2026, 10, 9, 11), "2h") == sh(2026, 10, 9, 14, 30)
