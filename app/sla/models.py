"""The working calendar's data: the admin's extra days and the imported State Council notices.

A ``CalendarDay`` makes one date a holiday or a working day whatever else says (a local day off,
a cancelled make-up day). A ``HolidayNotice`` is a year's official arrangement (days off and 调休
make-up working days), which beats the ``chinesecalendar`` package and the computed law.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow

#: what an extra day can be
DAY_KINDS = ("holiday", "workday")
NOTE_MAX = 200


class CalendarDay(Base):
    __tablename__ = "calendar_days"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(NOTE_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class HolidayNotice(Base):
    """The State Council's holiday arrangement of one year, as the admin imported it.

    While a year has a notice, its days decide that year (Monday to Friday on the days it does not
    list), over the package's data and the computed law; the admin's extra days still win.
    Re-importing a year replaces its notice.
    """

    __tablename__ = "holiday_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, unique=True)
    source: Mapped[str] = mapped_column(Text)  # the text as imported, for the record
    filename: Mapped[str] = mapped_column(String(200), default="")
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    days: Mapped[list[HolidayNoticeDay]] = relationship(
        back_populates="notice", cascade="all, delete-orphan", passive_deletes=True,
        order_by="HolidayNoticeDay.day")


class HolidayNoticeDay(Base):
    """One day of a notice: a day off or a make-up working day (调休上班); ``line`` of the import."""

    __tablename__ = "holiday_notice_days"
    __table_args__ = (
        CheckConstraint("kind IN ('holiday', 'workday')", name="kind"),
        UniqueConstraint("notice_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("holiday_notices.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(NOTE_MAX), default="")
    line: Mapped[int] = mapped_column(Integer, default=0)

    notice: Mapped[HolidayNotice] = relationship(back_populates="days")
