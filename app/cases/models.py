"""The work order. Business data lives here, indexed and queryable without loading a workflow."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, Float, Integer, Boolean, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow
from app.orgs.models import OrgUnit, User

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
CASE_STATUSES = ("open", "closed", "rejected", "merged")  # merged: follows its master case
TIERS = ("community", "street", "district", "city")
ESCALATED_SQL = "status = 'open' AND (escalation_count > 0 OR supervised_at IS NOT NULL)"
PARKED_SQL = "status = 'open' AND parked_at IS NOT NULL"
RETURNED_SQL = "status = 'open' AND return_count > 0"
OPEN_SQL = "status = 'open'"
# what the cockpit counts of the open cases (app.cockpit.queries.open_figures), read from this index alone
COCKPIT_OPEN_COLUMNS = ("status", "tier", "due_at", "yellow_at", "parked_at", "grid_unit_id", "handling_unit_id",
                        "escalation_count", "supervised_at")
CHANNELS = ("hotline", "grid", "city_mgmt", "police110", "mailbox", "wechat", "weibo", "open311", "api")
URGENCIES = ("normal", "urgent")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_cases_channel_external_id"),
        Index("ix_cases_status_created", "status", "created_at"),
        Index("ix_cases_status_due", "status", "due_at"),
        # the map's nearby search (app.maps.queries): open cases in a latitude band, longitude read from the index
        Index("ix_cases_status_lat_lng", "status", "lat", "lng"),
        # the supervisor's lists: few open cases each. Queries repeat these conditions literally, and
        # the indexed column is the status their WHERE tests, so SQLite's planner can search them
        # the cockpit map's open layer (app.maps.cockpit): the open cases by place with what their cluster counts
        # (status last: SQLite reads a partial index as covering only when it holds every column the query names)
        Index("ix_cases_open_map", "lat", "lng", "grid_unit_id", "handling_unit_id", "yellow_at", "due_at", "parked_at",
              "status", sqlite_where=text(OPEN_SQL), postgresql_where=text(OPEN_SQL)),
        Index("ix_cases_open_escalated", "status", sqlite_where=text(ESCALATED_SQL), postgresql_where=text(ESCALATED_SQL)),
        Index("ix_cases_open_parked", "status", sqlite_where=text(PARKED_SQL), postgresql_where=text(PARKED_SQL)),
        Index("ix_cases_open_returned", "status", sqlite_where=text(RETURNED_SQL), postgresql_where=text(RETURNED_SQL)),
        Index("ix_cases_open_cockpit", *COCKPIT_OPEN_COLUMNS, sqlite_where=text(OPEN_SQL), postgresql_where=text(OPEN_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(120))
    # a client's Idempotency-Key, scoped to that client: "<client>:<sha256 of the key>" (app.cases.intake_keys)
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    # sha256 of the intake request as validated: a repeat with the same key but other content is refused
    intake_digest: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    category_code: Mapped[str | None] = mapped_column(String(40))
    urgency: Mapped[str] = mapped_column(String(10), default="normal")
    reporter_name: Mapped[str | None] = mapped_column(String(100))
    reporter_phone: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(20), default="open")
    stage: Mapped[str | None] = mapped_column(String(20))
    grid_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    handling_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    has_incident: Mapped[bool] = mapped_column(Boolean, default=False)
    # the four-tier circulation and the case's deadline, mirrored from the process and its tasks
    tier: Mapped[str | None] = mapped_column(String(12))
    escalation_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column()  # earliest deadline of its open tasks
    yellow_at: Mapped[datetime | None] = mapped_column()
    supervised_at: Mapped[datetime | None] = mapped_column()  # put on the supervisors' list (转督办)
    parked_at: Mapped[datetime | None] = mapped_column()  # 挂账: the clock of its tasks stands
    park_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    # the channel's extension form (forms/channels/<channel>.json), as JSON text
    extension: Mapped[str | None] = mapped_column(Text)
    # duplicates: a merged case follows its master; the master counts the repeats it absorbed
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    merged_at: Mapped[datetime | None] = mapped_column()
    repeat_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    grid_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[grid_unit_id])
    handling_unit: Mapped[OrgUnit | None] = relationship(foreign_keys=[handling_unit_id])
    created_by: Mapped[User | None] = relationship()
    merged_into: Mapped["Case | None"] = relationship(remote_side=[id], foreign_keys=[merged_into_id])

    @property
    def extension_data(self) -> dict[str, Any]:
        """The channel's extension fields as a dict (empty when there are none)."""
        return json.loads(self.extension) if self.extension else {}

    @property
    def number(self) -> str:
        """The work-order number shown to people: TG + filing date + id."""
        return f"TG{self.created_at.astimezone(LOCAL_TZ):%Y%m%d}{self.id:06d}"
