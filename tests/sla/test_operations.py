"""Editing the holiday list: validated, audited, one row per date."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.core.audit import AuditEvent
from app.core.db import session, transaction
from app.core.errors import ValidationFailed
from app.orgs.models import User
from app.sla.models import CalendarDay
from app.sla.operations import add_calendar_day, remove_calendar_day

pytestmark = pytest.mark.usefixtures("holiday_list")


def count_days() -> int:
    return int(session.scalar(select(func.count(CalendarDay.id))) or 0)


def last_event(action: str) -> AuditEvent:
    ev = session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())).first()
    assert ev is not None
    return ev


def test_add_and_remove_are_audited(app: Flask) -> None:
    with app.app_context():
        admin = session.scalar(select(User).where(User.username == "demo_admin"))
        assert admin is not None
        with transaction():
            row = add_calendar_day(date(2026, 10, 10), "holiday", "  调休取消  ", admin)
        assert (row.day, row.kind, row.note, row.created_by_id) == (date(2026, 10, 10), "holiday", "调休取消", admin.id)
        assert row.created_at.tzinfo is not None
        ev = last_event("calendar_day_added")
        assert ev.actor_id == admin.id and ev.actor_name == "demo_admin"
        assert ev.detail == {"day": "2026-10-10", "kind": "holiday", "note": "调休取消"}

        with transaction():
            remove_calendar_day(date(2026, 10, 10), admin)
        assert count_days() == 0
        assert last_event("calendar_day_removed").detail == {"day": "2026-10-10", "kind": "holiday", "note": "调休取消"}


@pytest.mark.parametrize("day,kind,note,fields", [
    (date(2026, 10, 8), "vacation", "", {"kind"}),
    (None, "holiday", "", {"day"}),
    (datetime(2026, 10, 8, tzinfo=timezone.utc), "holiday", "", {"day"}),
    (date(1926, 10, 8), "holiday", "", {"day"}),
    (date(2026, 10, 8), "workday", "长" * 201, {"note"}),
    (None, "", "", {"day", "kind"}),
])
def test_invalid_days_are_refused(app: Flask, day: object, kind: str, note: str, fields: set[str]) -> None:
    with app.app_context():
        with pytest.raises(ValidationFailed) as info:
            with transaction():
                add_calendar_day(day, kind, note)  # type: ignore[arg-type]
        assert set(info.value.errors or {}) == fields
        assert all(" / " in m for messages in (info.value.errors or {}).values() for m in messages)  # zh / en
        assert count_days() == 0


def test_a_date_is_listed_once(app: Flask) -> None:
    with app.app_context():
        with transaction():
            add_calendar_day(date(2026, 10, 8), "holiday")
        with pytest.raises(ValidationFailed) as info:
            with transaction():
                add_calendar_day(date(2026, 10, 8), "workday")
        assert info.value.errors is not None
        assert "already listed (as a day off)" in info.value.errors["day"][0]
        assert session.scalars(select(CalendarDay.kind)).all() == ["holiday"]


def test_removing_a_day_not_listed_is_refused(app: Flask) -> None:
    with app.app_context():
        audits = session.scalar(select(func.count(AuditEvent.id)))
        with pytest.raises(ValidationFailed) as info:
            with transaction():
                remove_calendar_day(date(2026, 10, 8))
        assert info.value.errors == {"day": ["2026-10-08 不在列表中 / 2026-10-08 is not listed."]}
        assert session.scalar(select(func.count(AuditEvent.id))) == audits
