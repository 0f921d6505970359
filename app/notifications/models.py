"""One notification for one user; read once, kept for the record."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow

KINDS = ("urge", "reminder", "overdue", "reassigned", "extension_decided", "return_decided", "request_raised",
         "parked", "unparked", "escalated", "duplicate", "account")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # the unread badge in every page header: one small index scan
        Index("ix_notifications_unread", "user_id", "id",
              sqlite_where=text("read_at IS NULL"), postgresql_where=text("read_at IS NULL")),
        Index("ix_notifications_user", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(30))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    message: Mapped[str] = mapped_column(Text)
    actor_name: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()
