"""Stored hot spot lists (``hotspot_snapshots``): the last computed list of a unit and window.

Computing the hot spots reads every case of the window (docs/hotspots.md): a few hundred
milliseconds for a district's month, seconds for a large city's. The cockpit's panel asks every
minute, so the list is computed at most once per ``HOTSPOT_MAX_AGE`` seconds for a unit, window
and length, shared by every worker, and refreshed in the background by the scheduler for the lists
someone asked for in the last day (:mod:`app.hotspots.snapshots`).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base


class HotspotSnapshot(Base):
    __tablename__ = "hotspot_snapshots"

    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"), primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    top: Mapped[int] = mapped_column(Integer, primary_key=True)  # the list's length asked for (limit)
    computed_at: Mapped[datetime] = mapped_column()  # the moment the list is of (the window's end)
    requested_at: Mapped[datetime] = mapped_column()  # last asked for (to the hour): the scheduler refreshes recent ones
    payload: Mapped[str] = mapped_column(Text)  # the window and its spots, as JSON (snapshots.Listing)
