"""The cockpit's roll-up: how many cases arrived (by channel, by category) and closed per unit and day.

One row per (unit, measure, local day, key); ``n`` is the number of cases. A case counts at every
unit above (and at) its grid unit and its handling unit, once per unit even when both lie under
it, and always at the root of the tree (the whole city). Days are local dates (Asia/Shanghai, no
daylight saving: UTC+8). Measures:

- ``channel``: cases created that day, ``key`` the channel;
- ``category``: cases created that day, ``key`` the category key (``''`` while unclassified);
- ``closed``: cases whose status is ``closed``, by the day of ``closed_at``, ``key`` ``''``.

The rows are written by triggers on ``cases`` (migration 0019), in the same transaction as the
insert, update or delete of the case, whether it comes from the ORM, a Core statement of the
engine or a bulk load: the roll-up is exact at every commit. Moving an org unit in the tree does
not move its past counts: run ``flask cockpit rebuild`` after that.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base

MEASURES = ("channel", "category", "closed")


class CockpitDailyCount(Base):
    __tablename__ = "cockpit_daily_counts"

    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True)
    measure: Mapped[str] = mapped_column(String(10), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)


class CockpitUnitAncestor(Base):
    """Each org unit with itself and every unit above it; ``unit_id`` 0 (no unit) has the roots.

    Written by a trigger when a unit is created (migration 0019), read by the triggers on cases to
    find a case's units by primary key. Units are not moved in the tree by the product; after
    moving one by hand, ``flask cockpit rebuild`` rewrites this table and the counts."""

    __tablename__ = "cockpit_unit_ancestors"

    unit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ancestor_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True)
