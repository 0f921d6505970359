"""Drafts of the process bundle: one per designer and bundle, saved, reviewed and deployed."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow

DRAFT_STATES = ("open", "deployed", "discarded")


class ProcessDraft(Base):
    """The files a designer changed, over the version of the bundle they started from.

    ``files`` holds only the changed files (``{"processes/x.bpmn": text}``); the rest comes from
    ``base_definition_id``. Every save bumps ``revision`` and clears an approval: what a reviewer
    approved is exactly ``approved_revision``.
    """

    __tablename__ = "process_drafts"
    __table_args__ = (
        # one open draft per designer and bundle
        Index("uq_process_drafts_open_owner", "process_id", "owner_id", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    base_definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"))
    files: Mapped[str] = mapped_column(Text)  # JSON {name: text}
    revision: Mapped[int] = mapped_column(Integer, default=1)
    ok: Mapped[bool] = mapped_column(Boolean, default=False)
    problems: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of problems at the last save
    state: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column()
    approved_revision: Mapped[int | None] = mapped_column(Integer)
    deployed_definition_id: Mapped[int | None] = mapped_column(ForeignKey("process_definitions.id"))
    deployed_at: Mapped[datetime | None] = mapped_column()
