"""The append-only audit trail: who did what, when, with which data.

Rows are only ever inserted: the ORM refuses updates and deletes, and the migration adds
database triggers that refuse them too.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, session, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str | None] = mapped_column(String(80))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    task_id: Mapped[int | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # lets an event name a task created in the same flush: the ORM inserts the task first
    task_row: Mapped[Any] = relationship("Task", primaryjoin="foreign(AuditEvent.task_id) == Task.id")


class AuditTrailIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(*_args: Any) -> None:
    raise AuditTrailIsAppendOnly("audit events cannot be changed or deleted")


def record(action: str, *, actor: Any = None, case_id: int | None = None, task_id: int | None = None,
           task_row: Any = None, at: datetime | None = None, **detail: Any) -> AuditEvent:
    """Append one audit event to the current transaction (``task_row`` may be a not yet flushed Task)."""
    ev = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", None),
        case_id=case_id,
        task_id=task_id,
        task_row=task_row,
        at=at or utcnow(),
        detail=detail,
    )
    session.add(ev)
    return ev
