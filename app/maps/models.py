"""The boundary of an org unit (district, street, community) as a GeoJSON geometry.

A real city loads its own (``flask map load-boundaries FILE``); the demo city gets a schematic one,
marked ``schematic`` so that no one takes it for real geography.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
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
