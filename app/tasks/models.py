"""Ready user tasks projected out of the workflows, so inboxes never deserialize a workflow."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, select, text
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from app.core.db import Base, utcnow
from app.engine.models import WorkflowInstance
from app.orgs.models import OrgUnit, User

TASK_STATES = ("open", "completed", "cancelled")
INSTANCES = WorkflowInstance.__table__


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_inbox", "state", "role", "unit_path", "due_at"),
        Index("ix_tasks_claimed", "claimed_by_id", "state"),
        Index("ix_tasks_case_state", "case_id", "state"),
        # the claimable inbox: only open, unclaimed tasks (a few thousand of millions of rows)
        Index("ix_tasks_claimable", "role", "unit_path", "due_at",
              sqlite_where=text("state = 'open' AND claimed_by_id IS NULL"),
              postgresql_where=text("state = 'open' AND claimed_by_id IS NULL")),
        # the supervisor's console and the light filters: open tasks under a unit, by deadline
        # covers counting and ordering lights: the deadline columns and the id are in the index
        Index("ix_tasks_open_unit_due", "unit_path", "due_at", "yellow_at", "paused_at", "id",
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),

    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    spiff_id: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(30))
    form: Mapped[str] = mapped_column(String(200))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    unit_path: Mapped[str] = mapped_column(String(1000))
    state: Mapped[str] = mapped_column(String(12), default="open")
    time_limit: Mapped[str | None] = mapped_column(String(20))
    # the clock (app.sla.deadlines): with a sign-for limit, it starts at the first claim (签收);
    # until then the task must be signed for within ``sign_limit``
    sign_limit: Mapped[str | None] = mapped_column(String(20))
    started_at: Mapped[datetime | None] = mapped_column()
    yellow_at: Mapped[datetime | None] = mapped_column()
    paused_at: Mapped[datetime | None] = mapped_column()  # the case is parked (挂账): the clock stands
    extension_minutes: Mapped[int] = mapped_column(default=0)
    urge_count: Mapped[int] = mapped_column(default=0)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    org_unit: Mapped[OrgUnit] = relationship()
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])
    # the process version of the task's case (its form comes from it): loaded on demand, or with
    # the task in one statement where ``undefer(Task.definition_id)`` asks for it
    definition_id: Mapped[int] = column_property(
        select(INSTANCES.c.definition_id).where(INSTANCES.c.case_id == case_id).scalar_subquery(), deferred=True)
