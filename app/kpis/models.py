"""The facts KPIs count, kept exact as cases change (see docs/kpis.md).

``case_facts`` says, for every case, which documented facts hold for it (one row per case and
fact), with the local day it counts on, the responsible unit and the dimensions formulas filter
by. ``kpi_rollups`` sums them per fact, day and responsible unit: a month of KPIs for a
unit reads a few thousand roll-up rows, never the cases. Both are written by
:mod:`app.kpis.recorder` in the same transaction as the change of the case.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow


class CaseFact(Base):
    __tablename__ = "case_facts"
    __table_args__ = (
        # a formula's filtered terms and the drill-down: one fact, a range of days, a subtree of units
        Index("ix_case_facts_fact_day_unit", "fact", "day", "unit_path"),
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    fact: Mapped[str] = mapped_column(String(30), primary_key=True)
    day: Mapped[date] = mapped_column(Date)  # the local (Asia/Shanghai) day it counts on
    at: Mapped[datetime | None] = mapped_column()  # the moment behind the day (deadline, closing, call-back)
    unit_path: Mapped[str] = mapped_column(String(1000))  # the responsible (evaluated) unit
    area_path: Mapped[str | None] = mapped_column(String(1000))  # the case's grid unit
    channel: Mapped[str] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(40))
    tier: Mapped[str | None] = mapped_column(String(12))
    value: Mapped[float] = mapped_column(Float, default=0)  # summed by formulas (working minutes)
    why: Mapped[str | None] = mapped_column(Text)  # the evidence, as JSON (dates and events it was computed from)


class KpiRollup(Base):
    __tablename__ = "kpi_rollups"

    fact: Mapped[str] = mapped_column(String(30), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    unit_path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[float] = mapped_column(Float, default=0)


class KpiReport(Base):
    """A stored monthly evaluation report of a unit (generated on the 1st, or on demand)."""

    __tablename__ = "kpi_reports"
    __table_args__ = (Index("ix_kpi_reports_unit_month", "unit_id", "month", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    month: Mapped[str] = mapped_column(String(7))  # "2026-11"
    generated_at: Mapped[datetime] = mapped_column(default=utcnow)
    figures: Mapped[str] = mapped_column(Text)  # JSON: the KPIs as the API answers them, with the ranking
