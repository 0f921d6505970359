"""Requests that wait for a supervisor's decision: extensions (延期) and returns (退单)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow
from app.orgs.models import User

REQUEST_KINDS = ("extension", "return")
REQUEST_STATES = ("pending", "approved", "refused", "withdrawn")


class TaskRequest(Base):
    __tablename__ = "task_requests"
    __table_args__ = (
        Index("ix_task_requests_pending", "kind", "unit_path",
              sqlite_where=text("state = 'pending'"), postgresql_where=text("state = 'pending'")),
        Index("ix_task_requests_task", "task_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    unit_path: Mapped[str] = mapped_column(String(1000))  # the task's unit when raised: who may decide
    minutes: Mapped[int | None] = mapped_column(Integer)  # extension: working minutes asked for
    amount: Mapped[str | None] = mapped_column(String(20))  # extension as asked: '2d', '4h'
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="pending")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_reason: Mapped[str | None] = mapped_column(Text)

    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
