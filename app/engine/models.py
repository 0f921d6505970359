"""Deployed process versions, workflow state per case, and engine incidents."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow


class ProcessDefinition(Base):
    """One deployed version of a bundle of BPMN, DMN and form files (immutable once stored).

    Running cases keep pointing at the version they started on, so rows are never deleted.
    """

    __tablename__ = "process_definitions"
    __table_args__ = (
        UniqueConstraint("process_id", "version", name="uq_process_definitions_version"),
        UniqueConstraint("process_id", "content_hash", name="uq_process_definitions_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    bundle: Mapped[str] = mapped_column(Text)  # JSON: {"processes": {...}, "rules": {...}, "forms": {...}}
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    deployed_by: Mapped[str | None] = mapped_column(String(80))


class ActiveVersion(Base):
    """The version of a process that new cases start on (the newest deployed, unless an older one
    was activated again: a rollback). Without a row, the newest version is the active one."""

    __tablename__ = "active_process_versions"

    process_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    activated_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_by: Mapped[str | None] = mapped_column(String(80))


class WorkflowInstance(Base):
    """The serialized SpiffWorkflow state of one case, stored as TEXT exactly as produced.

    ``version`` is the optimistic lock of the case: every change bumps it with
    ``UPDATE … WHERE version = <the version read>`` (app.engine.host), so a concurrent change that
    read the older version fails instead of overwriting.
    """

    __tablename__ = "workflow_instances"
    # the timer sweep reads due cases in (next_timer_at, case_id) order (app.engine.timers)
    __table_args__ = (Index("ix_workflow_instances_next_timer", "next_timer_at", "case_id"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    state: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    next_timer_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    definition: Mapped[ProcessDefinition] = relationship()


class Incident(Base):
    """An engine error in a case: the failed action is kept so an admin can retry or dismiss it."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "resolved_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    action: Mapped[str] = mapped_column(Text)  # JSON of the action that failed
    error: Mapped[str] = mapped_column(Text)
    element: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(String(20))
