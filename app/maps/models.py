"""The boundary of an org unit (district, street, community) as a GeoJSON geometry.

A real city loads its own (``flask map load-boundaries FILE``); the demo city gets a schematic one,
marked ``schematic`` so that no one takes it for real geography.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow
from app.orgs.models import OrgUnit


class UnitBoundary(Base):
    __tablename__ = "unit_boundaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id", ondelete="CASCADE"), unique=True)
    geometry: Mapped[str] = mapped_column(Text)  # a GeoJSON Polygon or MultiPolygon, as JSON text
    schematic: Mapped[bool] = mapped_column(Boolean, default=False)  # generated for the demo, not real
    source: Mapped[str] = mapped_column(String(200))  # the file it came from, or "demo"
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)

    org_unit: Mapped[OrgUnit] = relationship()


class CockpitMapPoint(Base):
    """A case's place, time of arrival and units, for the cockpit map's heat layer: a narrow copy of
    five columns of ``cases``, kept exact in the same transaction as every change of the case
    (triggers on ``cases``: app.maps.heat). The heat reads the cases that came in lately by place; on
    the wide, often updated ``cases`` table that read would fetch a heap page per case, here it
    reads a few small pages (or the index alone: rows change only when a case moves or is
    dispatched)."""

    __tablename__ = "cockpit_map_points"
    __table_args__ = (
        Index("ix_cockpit_map_points_created_lat_lng", "created_at", "lat", "lng", "grid_unit_id", "handling_unit_id"),
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column()
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    grid_unit_id: Mapped[int | None] = mapped_column(Integer)
    handling_unit_id: Mapped[int | None] = mapped_column(Integer)
