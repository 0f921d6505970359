"""Changes to the admin holiday list. Operations validate, audit and flush; the caller commits.

Once the caller's transaction commits, :func:`app.sla.service.current_calendar` rebuilds the
calendar in this process at once and in other processes within ``TTL`` seconds.

Messages are written ``'中文 / English'`` (the web shows the half of the user's language).
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select

from app.core.audit import record
from app.core.db import session, utcnow
from app.core.errors import ValidationFailed
from app.sla.models import DAY_KINDS, NOTE_MAX, CalendarDay
from app.sla.service import invalidate_calendar_after_commit

__all__ = ["add_calendar_day", "remove_calendar_day"]

#: a typing slip such as 0026 or 2206 is refused rather than stored
FIRST_YEAR, LAST_YEAR = 2000, 2100

KIND_NAMES = {"holiday": "休息日 / day off", "workday": "工作日 / working day"}


def _bilingual_kind(kind: str) -> tuple[str, str]:
    zh, en = KIND_NAMES[kind].split(" / ")
    return zh, en


def _check_day(day: Any) -> list[str]:
    if isinstance(day, datetime) or not isinstance(day, date):
        return ["请填写日期（年-月-日） / Enter a date (year-month-day)."]
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        return [f"日期须在 {FIRST_YEAR}–{LAST_YEAR} 年之间 / The date must be between {FIRST_YEAR} and {LAST_YEAR}."]
    return []


def add_calendar_day(day: date, kind: str, note: str = "", actor: Any = None) -> CalendarDay:
    """Make ``day`` a holiday or a working day whatever the statutory calendar says.

    A date can be listed once; to change its kind, remove it and add it again (both audited).
    """
    errors: dict[str, list[str]] = {}
    if day_errors := _check_day(day):
        errors["day"] = day_errors
    if kind not in DAY_KINDS:
        errors["kind"] = ["请选择“休息日”或“工作日” / Choose day off or working day."]
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        errors["note"] = [f"备注最多 {NOTE_MAX} 个字 / The note can have at most {NOTE_MAX} characters."]
    if errors:
        raise ValidationFailed("日历日期有误 / invalid calendar day", errors=errors)
    # INSERT … ON CONFLICT DO NOTHING: a date listed already, even by a request committing at this
    # very moment (a double submit), is a validation error, not an integrity error and a 500
    values = {"day": day, "kind": kind, "note": note, "created_at": utcnow(), "created_by_id": getattr(actor, "id", None)}
    new_id = session.execute(_insert_ignoring_duplicates().values(values)).scalar()
    if new_id is None:
        existing = session.scalar(select(CalendarDay.kind).where(CalendarDay.day == day)) or kind
        zh, en = _bilingual_kind(existing)
        raise ValidationFailed("日历日期有误 / invalid calendar day", errors={"day": [
            f"{day.isoformat()} 已在列表中（{zh}），请先删除再添加 / "
            f"{day.isoformat()} is already listed (as a {en}); remove it first to change it."]})
    record("calendar_day_added", actor=actor, day=day.isoformat(), kind=kind, note=note)
    session.flush()
    row = session.get(CalendarDay, new_id)
    assert row is not None
    invalidate_calendar_after_commit()
    return row


def _insert_ignoring_duplicates() -> Any:
    """``INSERT INTO calendar_days … ON CONFLICT (day) DO NOTHING RETURNING id`` for this database."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    table = CalendarDay.__table__
    return dialect_insert(table).on_conflict_do_nothing(index_elements=["day"]).returning(table.c.id)


def remove_calendar_day(day: date, actor: Any = None) -> None:
    """Take ``day`` off the list: the statutory calendar (or Monday–Friday) applies to it again."""
    if day_errors := _check_day(day):
        raise ValidationFailed("日历日期有误 / invalid calendar day", errors={"day": day_errors})
    row = session.execute(select(CalendarDay.id, CalendarDay.kind, CalendarDay.note)
                          .where(CalendarDay.day == day)).first()
    deleted = 0
    if row is not None:
        deleted = session.execute(delete(CalendarDay).where(CalendarDay.id == row.id)
                                  .execution_options(synchronize_session="fetch")).rowcount
    if not deleted:  # not listed, or removed by someone else meanwhile
        raise ValidationFailed("日历日期有误 / invalid calendar day",
                               errors={"day": [f"{day.isoformat()} 不在列表中 / {day.isoformat()} is not listed."]})
    record("calendar_day_removed", actor=actor, day=day.isoformat(), kind=row.kind, note=row.note)
    session.flush()
    invalidate_calendar_after_commit()
