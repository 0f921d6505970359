"""The append-only audit trail: who did what, when, with which data.

Rows are only ever inserted: the ORM refuses updates and deletes, and the migration adds
database triggers that refuse them too.

Events are collected during the unit of work and written with one multi-row INSERT right after
the work's flush (or before the commit when nothing else was flushed), so a request that appends
four events pays for one statement. They may name a case or task that is not flushed yet; its id
is filled in when the events are written.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, event, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.db import Base, SessionFactory, session, utcnow

PENDING = "tongguan_pending_audit"
#: session.info: ids of the cases the events written in this transaction name (the KPI facts
#: recompute those cases before the commit, app.kpis.recorder)
WRITTEN_CASES = "tongguan_audit_written_cases"
#: session.info: ids of the cases whose ``case_created`` event this transaction wrote, i.e. the
#: cases it inserted (their KPI facts have no stored rows yet)
CREATED_CASES = "tongguan_audit_created_cases"


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


class AuditTrailIsAppendOnly(RuntimeError):
    pass


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_change(*_args: Any) -> None:
    raise AuditTrailIsAppendOnly("audit events cannot be changed or deleted")


@dataclass
class PendingEvent:
    action: str
    at: datetime
    actor_id: int | None
    actor_name: str | None
    case_id: int | None
    task_id: int | None
    case: Any = None
    task: Any = None
    detail: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {"action": self.action, "at": self.at, "actor_id": self.actor_id, "actor_name": self.actor_name,
                "case_id": self.case.id if self.case is not None else self.case_id,
                "task_id": self.task.id if self.task is not None else self.task_id, "detail": self.detail}


def record(action: str, *, actor: Any = None, case_id: int | None = None, task_id: int | None = None,
           case: Any = None, task_row: Any = None, at: datetime | None = None, **detail: Any) -> PendingEvent:
    """Append one audit event to the current unit of work (written at its flush or commit).

    ``case`` and ``task_row`` may be rows not flushed yet: their ids are taken when writing.
    """
    ev = PendingEvent(action=action, at=at or utcnow(), actor_id=getattr(actor, "id", None),
                      actor_name=getattr(actor, "username", None), case_id=case_id, task_id=task_id,
                      case=case, task=task_row, detail=detail)
    session().info.setdefault(PENDING, []).append(ev)
    return ev


_INSERT_RETURNING_IDS = insert(AuditEvent.__table__).returning(AuditEvent.__table__.c.id, sort_by_parameter_order=True)
_INSERT_RETURNING_ANY_ORDER = insert(AuditEvent.__table__).returning(AuditEvent.__table__.c.id)


def write_pending(s: Session | None = None) -> list[dict[str, Any]]:
    """Write the collected events now (one multi-row INSERT); returns them as written, with ids."""
    s = s or session()
    pending: list[PendingEvent] = s.info.pop(PENDING, [])
    if not pending:
        return []
    rows = [ev.row() for ev in pending]
    s.info.setdefault(WRITTEN_CASES, set()).update(r["case_id"] for r in rows if r["case_id"] is not None)
    s.info.setdefault(CREATED_CASES, set()).update(r["case_id"] for r in rows if r["action"] == "case_created")
    conn = s.connection()
    if conn.dialect.name == "sqlite" and len(rows) > 1:
        # SQLAlchemy can match RETURNING rows to parameters on SQLite only one row per statement.
        # One multi-row INSERT assigns rowids in the order of its VALUES (the writer holds the
        # lock, each row gets max(rowid) + 1); only the order RETURNING lists them in is unsure.
        ids = sorted(conn.execute(_INSERT_RETURNING_ANY_ORDER, rows).scalars().all())
    else:
        ids = conn.execute(_INSERT_RETURNING_IDS, rows).scalars().all()
    for row, event_id in zip(rows, ids):
        row["id"] = event_id
    return rows


@event.listens_for(SessionFactory, "after_flush_postexec")
def _after_flush(s: Session, _ctx: Any) -> None:
    write_pending(s)


@event.listens_for(SessionFactory, "before_commit")
def _before_commit(s: Session) -> None:
    write_pending(s)


@event.listens_for(SessionFactory, "after_rollback")
def _after_rollback(s: Session) -> None:
    s.info.pop(PENDING, None)
    s.info.pop(WRITTEN_CASES, None)
    s.info.pop(CREATED_CASES, None)
